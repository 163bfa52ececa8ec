namespace TLoRA.Engine.Bench;

/// <summary>
/// Estimates how much of the machine something other than this benchmark used while it ran: busy CPU time of the whole
/// machine (/proc/stat) minus the CPU time of this process and of its finished children (utime, stime, cutime, cstime
/// of /proc/self/stat: a child's time is counted once it has been waited for, so read after a child exits).
/// Linux only; elsewhere every reading is zero and no estimate is made.
/// </summary>
internal sealed class LoadMonitor
{
    private long machineBusy0, own0;
    private DateTime start;

    public static LoadMonitor Start() => new() { machineBusy0 = MachineBusyTicks(), own0 = OwnAndChildrenTicks(), start = DateTime.UtcNow };

    /// <summary>Average number of cores kept busy by other processes since <see cref="Start"/> (null if unknown).</summary>
    public double? OtherCores()
    {
        var busy = MachineBusyTicks() - machineBusy0;
        if (machineBusy0 == 0 || busy <= 0) return null;
        var ours = OwnAndChildrenTicks() - own0;
        var seconds = (DateTime.UtcNow - start).TotalSeconds;
        return seconds <= 0 ? null : Math.Max(0, busy - ours) / TicksPerSecond / seconds;
    }

    // USER_HZ is 100 on every mainstream Linux configuration.
    private const double TicksPerSecond = 100.0;

    private static long MachineBusyTicks()
    {
        try
        {
            var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
            long busy = 0;
            for (var i = 1; i < Math.Min(cpu.Length, 9); i++)
                if (i is not 4 and not 5) busy += long.Parse(cpu[i]);
            return busy;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return 0;
        }
    }

    /// <summary>utime + stime + cutime + cstime of this process, in clock ticks (0 when unknown).</summary>
    private static long OwnAndChildrenTicks()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(f[11]) + long.Parse(f[12]) + long.Parse(f[13]) + long.Parse(f[14]); // fields 14–17 of proc(5)
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}

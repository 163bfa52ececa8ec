namespace TLoRA.Torch.Bench;

/// <summary>
/// Estimates how much of the machine something other than this benchmark used while it ran: busy CPU time of the
/// whole machine (/proc/stat) minus the CPU time of this process and of the PyTorch script (/proc/PID/stat).
/// Timings taken while other processes compete for the cores are not comparable, OpenMP ones least of all.
/// Linux only; elsewhere every reading is zero and no estimate is printed.
/// </summary>
internal sealed class LoadMonitor
{
    private long machineBusy0, own0, peer0;
    private DateTime start;

    public void Start(long peerTicks)
    {
        machineBusy0 = MachineBusyTicks();
        own0 = ProcessTicks(Environment.ProcessId);
        peer0 = peerTicks;
        start = DateTime.UtcNow;
    }

    /// <summary>Average number of cores kept busy by other processes since <see cref="Start"/> (null if unknown).</summary>
    public double? OtherCores(long peerTicks)
    {
        var busy = MachineBusyTicks() - machineBusy0;
        if (machineBusy0 == 0 || busy <= 0) return null;
        var ours = ProcessTicks(Environment.ProcessId) - own0 + Math.Max(0, peerTicks - peer0);
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

    /// <summary>utime + stime of a process, in clock ticks (0 when unknown).</summary>
    public static long ProcessTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11]) + long.Parse(fields[12]);  // fields 14 and 15 of proc(5), counted from state
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}

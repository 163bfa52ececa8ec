using System.Globalization;

namespace TLoRA.Engine.Bench;

/// <summary>This process's resident memory from /proc/self/status (Linux): VmRSS now and VmHWM, the peak so far.</summary>
internal readonly record struct ProcessMemory(double RssMiB, double PeakMiB)
{
    public static ProcessMemory Read()
    {
        double rss = double.NaN, hwm = double.NaN;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = KiB(line) / 1024;
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = KiB(line) / 1024;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return new ProcessMemory(rss, hwm);
    }

    /// <summary>Resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0), so a later
    /// <see cref="Read"/> gives the peak of what came after. False when the kernel refused.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            var m = Read();
            return m.PeakMiB <= m.RssMiB + 1; // the peak now is (about) the current RSS
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static double KiB(string line) =>
        double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}

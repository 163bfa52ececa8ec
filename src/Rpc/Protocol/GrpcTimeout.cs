using System.Globalization;

namespace TLoRA.Rpc.Protocol;

/// <summary>The <c>grpc-timeout</c> header: a positive integer of at most 8 digits and a unit (H M S m u n).</summary>
internal static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    /// <summary>Parses a header value; false for malformed values (more than 8 digits, unknown unit, ...).</summary>
    public static bool TryParse(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9) return false;
        var digits = value.AsSpan(0, value.Length - 1);
        foreach (var c in digits)
        {
            if (c < '0' || c > '9') return false;
        }
        var amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        // TimeSpan ticks are 100 ns; 99,999,999 hours still fits in a TimeSpan (max ~29,000 years).
        var ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * 10,
            'n' => (amount + 99) / 100,
            _ => -1L,
        };
        if (ticks < 0) return false;
        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>
    /// Formats a positive timeout with the finest unit that fits 8 digits, rounding up so the server never sees a
    /// shorter deadline than the client's.
    /// </summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = Math.Max(timeout.Ticks, 1);
        var micros = CeilDiv(ticks, 10);
        if (micros <= MaxValue) return micros.ToString(CultureInfo.InvariantCulture) + "u";
        var millis = CeilDiv(ticks, TimeSpan.TicksPerMillisecond);
        if (millis <= MaxValue) return millis.ToString(CultureInfo.InvariantCulture) + "m";
        var seconds = CeilDiv(ticks, TimeSpan.TicksPerSecond);
        if (seconds <= MaxValue) return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        var minutes = CeilDiv(ticks, TimeSpan.TicksPerMinute);
        if (minutes <= MaxValue) return minutes.ToString(CultureInfo.InvariantCulture) + "M";
        return Math.Min(CeilDiv(ticks, TimeSpan.TicksPerHour), MaxValue).ToString(CultureInfo.InvariantCulture) + "H";
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}

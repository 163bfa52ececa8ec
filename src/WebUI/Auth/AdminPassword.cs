using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TLoRA.WebUI.Auth;

/// <summary>
/// The local admin's password hash: PBKDF2 with HMAC-SHA256, a 16-byte random salt, in a self-describing line
/// <c>pbkdf2-sha256$ITERATIONS$SALT_BASE64$HASH_BASE64</c> (the iterations travel with the hash, so they can be raised
/// later without breaking stored hashes). The plain password is never stored or logged.
/// </summary>
public static class AdminPassword
{
    public const string Prefix = "pbkdf2-sha256";

    /// <summary>OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256; hashes with fewer are refused as malformed.</summary>
    public const int MinIterations = 210_000;

    public const int DefaultIterations = 600_000;
    public const int SaltBytes = 16;
    public const int HashBytes = 32;

    /// <summary>The most iterations a hash may ask for: a guard against a configured hash that would stall every sign-in.</summary>
    public const int MaxIterations = 10_000_000;

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        if (iterations is < MinIterations or > MaxIterations) throw new ArgumentOutOfRangeException(nameof(iterations));
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Prefix, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    /// <summary>The parts of a well-formed hash line, or false (wrong prefix, too few iterations, bad base64, wrong sizes).</summary>
    public static bool TryParse(string? encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        (iterations, salt, hash) = (0, [], []);
        if (string.IsNullOrWhiteSpace(encoded)) return false;
        var parts = encoded.Trim().Split('$');
        if (parts.Length != 4 || parts[0] != Prefix) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations is < MinIterations or > MaxIterations) return false;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length >= SaltBytes && hash.Length == HashBytes;
    }

    public static bool IsWellFormed(string? encoded) => TryParse(encoded, out _, out _, out _);

    /// <summary>Whether <paramref name="password"/> matches <paramref name="encoded"/>; false for a malformed hash. The
    /// derived and stored hashes are compared in constant time.</summary>
    public static bool Verify(string? password, string? encoded)
    {
        if (string.IsNullOrEmpty(password) || !TryParse(encoded, out var iterations, out var salt, out var expected)) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>`TLoRA.WebUI hash-password`: reads the password from stdin (one line; not echoed on a terminal), writes
    /// the hash line to <paramref name="output"/> and where to put it to <paramref name="info"/>.</summary>
    public static int HashCommand(TextReader input, TextWriter output, TextWriter info, bool interactive)
    {
        string? password;
        if (interactive)
        {
            info.Write("Password for the WebUI's admin (not shown): ");
            var typed = new StringBuilder();
            for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
            {
                if (key.Key == ConsoleKey.Backspace) { if (typed.Length > 0) typed.Length--; }
                else if (!char.IsControl(key.KeyChar)) typed.Append(key.KeyChar);
            }
            info.WriteLine();
            password = typed.ToString();
        }
        else password = input.ReadLine();
        if (string.IsNullOrEmpty(password))
        {
            info.WriteLine("usage: echo -n PASSWORD | TLoRA.WebUI hash-password  (reads one line from stdin; the password must not be empty)");
            return 64;
        }
        output.WriteLine(Hash(password));
        info.WriteLine("Put this line in WebUI:Admin:PasswordHash (appsettings, user secrets, or the environment variable " +
                       "WebUI__Admin__PasswordHash); the user name is WebUI:Admin:User (default \"admin\").");
        return 0;
    }
}

using TLoRA.WebUI.Auth;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>Issue 14, "the WebUI signs users in": the admin's password is kept only as a PBKDF2-SHA256 hash line.</summary>
public sealed class AdminPasswordTests
{
    [Fact]
    public void A_hash_verifies_its_password_and_no_other()
    {
        var hash = AdminPassword.Hash("s3cret pass", AdminPassword.MinIterations);
        Assert.StartsWith("pbkdf2-sha256$210000$", hash);
        Assert.DoesNotContain("s3cret", hash);
        Assert.True(AdminPassword.Verify("s3cret pass", hash));
        Assert.False(AdminPassword.Verify("s3cret pasS", hash));
        Assert.False(AdminPassword.Verify("", hash));
        Assert.False(AdminPassword.Verify(null, hash));
        Assert.True(AdminPassword.TryParse(hash, out var iterations, out var salt, out var derived));
        Assert.Equal((210_000, 16, 32), (iterations, salt.Length, derived.Length));
    }

    [Fact]
    public void Each_hash_has_its_own_salt_and_the_default_is_at_least_the_minimum_iterations()
    {
        var (a, b) = (AdminPassword.Hash("same"), AdminPassword.Hash("same"));
        Assert.NotEqual(a, b);
        Assert.True(AdminPassword.TryParse(a, out var iterations, out _, out _));
        Assert.True(iterations >= AdminPassword.MinIterations);
        Assert.True(AdminPassword.Verify("same", b));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain-password")]
    [InlineData("pbkdf2-sha256$210000$AAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("pbkdf2-sha512$210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("pbkdf2-sha256$-5$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("pbkdf2-sha256$210000$not base64!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("pbkdf2-sha256$210000$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("pbkdf2-sha256$210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAA")]
    public void Malformed_hashes_are_refused_and_verify_nothing(string encoded)
    {
        Assert.False(AdminPassword.IsWellFormed(encoded));
        Assert.False(AdminPassword.Verify("anything", encoded));
    }

    [Fact]
    public void The_hash_password_command_reads_stdin_and_prints_only_the_hash_and_where_it_goes()
    {
        using var output = new StringWriter();
        using var info = new StringWriter();
        Assert.Equal(0, AdminPassword.HashCommand(new StringReader("typed password\n"), output, info, interactive: false));
        var line = output.ToString().Trim();
        Assert.True(AdminPassword.Verify("typed password", line));
        Assert.DoesNotContain("typed password", output.ToString() + info.ToString());
        Assert.Contains("WebUI:Admin:PasswordHash", info.ToString());
        Assert.Contains("WebUI__Admin__PasswordHash", info.ToString());

        using var none = new StringWriter();
        Assert.Equal(64, AdminPassword.HashCommand(new StringReader(""), none, info, interactive: false));
        Assert.Empty(none.ToString());
    }
}

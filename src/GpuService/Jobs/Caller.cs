namespace TLoRA.GpuService.Jobs;

/// <summary>
/// Who calls: the owner every job is recorded with, and whether the caller may see every owner's jobs (the admin
/// scope). The gateway, the one client the service accepts once a service token is set, names them in trusted
/// metadata (<see cref="OwnerHeader"/>, <see cref="ScopesHeader"/>); a call without them is the anonymous owner.
/// Another owner's job, adapter or image does not exist for a caller: NOT_FOUND, never PERMISSION_DENIED.
/// </summary>
public sealed record Caller(string Owner, bool Admin)
{
    public const string OwnerHeader = "tlora-owner";
    public const string ScopesHeader = "tlora-scopes";
    public const string AdminScope = "admin";
    /// <summary>The owner of calls that name none (the gateway's anonymous callers until it signs users in).</summary>
    public const string AnonymousOwner = "anonymous";
    public const int MaxOwnerLength = 128;

    public static readonly Caller Anonymous = new(AnonymousOwner, false);

    /// <summary>The service itself (recovery, retention, tests): sees every job.</summary>
    public static readonly Caller Service = new(AnonymousOwner, true);

    public bool Sees(JobRecord job) => Admin || job.Owner == Owner;

    /// <summary>The caller named by <paramref name="owner"/> and <paramref name="scopes"/> (space or comma separated);
    /// an absent, empty, over-long or non-printable owner is the anonymous one.</summary>
    public static Caller From(string? owner, string? scopes)
    {
        var name = string.IsNullOrWhiteSpace(owner) || owner.Length > MaxOwnerLength || owner.Any(char.IsControl) ? AnonymousOwner : owner.Trim();
        var admin = scopes?.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Contains(AdminScope, StringComparer.Ordinal) ?? false;
        return new Caller(name, admin);
    }
}

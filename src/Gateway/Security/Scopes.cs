namespace TLoRA.Gateway.Security;

/// <summary>The scopes a caller's token or API key grants; each is also the name of the authorization policy that
/// requires it. <see cref="Admin"/> satisfies every policy and sees every owner's jobs.</summary>
public static class Scopes
{
    public const string Read = "jobs:read";
    public const string Write = "jobs:write";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Read, Write, Admin];
}

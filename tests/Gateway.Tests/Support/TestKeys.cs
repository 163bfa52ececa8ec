using TLoRA.Gateway.Security;

namespace TLoRA.Gateway.Tests;

/// <summary>API keys minted for this test run (hashes in the gateway's settings, keys here): two owners with read and
/// write, one that may only read, and an admin.</summary>
public static class TestKeys
{
    public static readonly string Alice = ApiKeys.Mint();
    public static readonly string Bob = ApiKeys.Mint();
    public static readonly string Reader = ApiKeys.Mint();
    public static readonly string Admin = ApiKeys.Mint();

    public static IEnumerable<(string Name, string Value)> Settings()
    {
        (string Key, string Owner, string Scopes)[] keys =
            [(Alice, "alice", "jobs:read jobs:write"), (Bob, "bob", "jobs:read jobs:write"), (Reader, "carol", "jobs:read"), (Admin, "root", "admin")];
        for (var i = 0; i < keys.Length; i++)
        {
            yield return ($"Gateway:Auth:ApiKeys:{i}:Name", keys[i].Owner);
            yield return ($"Gateway:Auth:ApiKeys:{i}:Hash", ApiKeys.Hash(keys[i].Key));
            yield return ($"Gateway:Auth:ApiKeys:{i}:Owner", keys[i].Owner);
            yield return ($"Gateway:Auth:ApiKeys:{i}:Scopes", keys[i].Scopes);
        }
    }
}

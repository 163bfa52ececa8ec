namespace TLoRA.Gateway.Hubs;

/// <summary>
/// The hub's group names on this gateway replica. Each replica relays live job events to its own connections from
/// its own streams of the GPU services (one WatchJob per followed job, one WatchJobs per service), so its groups are
/// its own: with the Redis backplane a group send reaches every replica's members, and a group shared by replicas
/// would deliver each event once per replica that follows the job. The backplane still carries every other hub
/// message to the replica holding the connection.
/// </summary>
public sealed class HubGroups
{
    /// <summary>This replica's mark in its group names (new at every start: the groups live as long as the process).</summary>
    public string Instance { get; } = Guid.NewGuid().ToString("N")[..12];

    /// <summary>Connections that joined one job's events here.</summary>
    public string Job(string jobId) => $"job:{jobId}@{Instance}";

    /// <summary>Connections of admins that joined every job's activity here.</summary>
    public string AllJobs => $"jobs:all@{Instance}";

    /// <summary>Connections of <paramref name="owner"/> that joined the activity of their own jobs here.</summary>
    public string Owner(string owner) => $"jobs:owner:{owner}@{Instance}";

    /// <summary>The group a JoinAll of <paramref name="caller"/> joins: the admins' or the caller's own.</summary>
    public string ActivityOf(Services.GatewayCaller caller) => caller.IsAdmin ? AllJobs : Owner(caller.Owner);
}

using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using TLoRA.Deploy.Tests.Support;
using static TLoRA.Deploy.Tests.Support.Jobs;

namespace TLoRA.Deploy.Tests;

/// <summary>
/// Many GPUs behind one front door, with real processes (<see cref="LocalCluster"/>: three GPU services, two gateways,
/// Redis): new jobs spread over the services; a GPU service killed with SIGKILL mid-job leaves that job interrupted
/// while the others finish and the gateways keep serving; restarted on its volume it resumes the job to the end with
/// a gap-free event sequence; a hub client on one gateway sees every event of a job submitted through the other; a
/// gateway killed and restarted finds every job's owner again.
/// </summary>
public sealed class ScaleOutTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task Jobs_spread_a_killed_service_leaves_its_job_resumable_and_the_others_finish()
    {
        var a = cluster.Gateways[0];
        var jobs = new List<string>();
        for (var n = 0; n < LocalCluster.ServiceCount; n++)
            jobs.Add((await SubmitAsync(cluster.Gateways[n % 2], steps: 9, checkpointInterval: 3)).GetProperty("jobId").GetString()!);
        // least-loaded first: three jobs on three idle services land on three different services
        Assert.Equal(LocalCluster.ServiceCount, jobs.Select(ServiceOf).Distinct().Count());

        var victimJob = jobs[0];
        var victim = Array.IndexOf(Enumerable.Range(0, LocalCluster.ServiceCount).Select(LocalCluster.ServiceId).ToArray(), ServiceOf(victimJob));
        // mid-job, after its first checkpoint (a resume starts from the last checkpoint)
        await EventsUntilAsync(a, victimJob, e => e.Any(x => Type(x) == "trainCheckpoint"), JobTimeout, cluster.Logs);
        await cluster.KillServiceAsync(victim);

        // the gateway says the owner is unavailable, and keeps serving the others
        await LocalCluster.WaitAsync(async () => (await GetAsync(a, victimJob)).Status == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(30), () => "the killed service's job did not become 503\n" + cluster.Logs());
        var another = (await SubmitAsync(a, steps: 2, checkpointInterval: 0)).GetProperty("jobId").GetString()!;
        Assert.NotEqual(LocalCluster.ServiceId(victim), ServiceOf(another));
        foreach (var other in jobs.Skip(1).Append(another))
        {
            var events = await EventsUntilAsync(a, other, Ended, JobTimeout, cluster.Logs);
            Assert.Equal("trainCompleted", Type(events[^1]));
        }

        // back on its volume: the job is interrupted, resumes from its checkpoint and completes
        await cluster.StartServiceAsync(victim);
        // each gateway calls it again within its reconnect backoff (Gateway:ReconnectBackoffMaxSeconds, 5 s)
        foreach (var gateway in cluster.Gateways)
            await LocalCluster.WaitAsync(async () => (await GetAsync(gateway, victimJob)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(20),
                () => "the restarted service's job is not served again\n" + cluster.Logs());
        var (status, job) = await GetAsync(a, victimJob);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("interrupted", job!.Value.GetProperty("state").GetString());
        var stepsBefore = job.Value.GetProperty("step").GetInt32();
        using (var resume = await cluster.Gateways[1].PostAsync($"/api/jobs/{victimJob}/resume", null))
            Assert.True(resume.IsSuccessStatusCode, await resume.Content.ReadAsStringAsync());
        var all = await EventsUntilAsync(a, victimJob, Ended, JobTimeout, cluster.Logs);
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(Sequence));
        Assert.Equal("trainCompleted", Type(all[^1]));
        var steps = all.Where(e => Type(e) == "trainStep").Select(e => e.GetProperty("data").GetProperty("step").GetInt32()).ToArray();
        Assert.Equal(9, steps[^1]);
        Assert.True(stepsBefore >= 3 && stepsBefore < 9, $"killed at step {stepsBefore}, mid-job");
        // the resumed run started again after a checkpoint: a second train_started, from the checkpoint's step
        var starts = all.Where(e => Type(e) == "trainStarted").ToArray();
        Assert.Equal(2, starts.Length);
        Assert.Equal(0, starts[1].GetProperty("data").GetProperty("startStep").GetInt32() % 3);
    }

    [Fact]
    public async Task A_hub_client_on_one_gateway_gets_every_event_of_a_job_submitted_through_the_other_once()
    {
        await using var onA = await ConnectAsync(0);
        await using var onB = await ConnectAsync(1);
        var activity = new ConcurrentQueue<JsonElement>();
        onA.Connection.On<JsonElement>("activity", e => activity.Enqueue(e));
        await onA.Connection.InvokeAsync("JoinAll");

        var jobId = (await SubmitAsync(cluster.Gateways[1], steps: 3, checkpointInterval: 2)).GetProperty("jobId").GetString()!;
        await onA.Connection.InvokeAsync("Join", jobId, 0L);
        await onB.Connection.InvokeAsync("Join", jobId, 0L);
        var stored = await EventsUntilAsync(cluster.Gateways[0], jobId, Ended, JobTimeout, cluster.Logs);

        foreach (var client in new[] { onA, onB })
        {
            await LocalCluster.WaitAsync(() => Task.FromResult(client.Events.Count >= stored.Count), TimeSpan.FromSeconds(30),
                () => $"{client.Events.Count} of {stored.Count} events on the hub\n" + cluster.Logs());
            await Task.Delay(500); // anything sent twice would arrive now
            Assert.Equal(stored.Select(Sequence), client.Events.Select(Sequence));
            Assert.Equal(stored.Select(Type), client.Events.Select(Type));
        }
        // every live event of the job reached gateway A's all-jobs followers once, in order
        Assert.Equal(stored.Select(Sequence), activity.Where(e => e.GetProperty("jobId").GetString() == jobId).Select(Sequence));

        // both gateways are on the backplane's Redis channels
        var (code, channels, _) = await Tool.RunAsync(Tool.OnPath("redis-cli", "install Debian's redis-tools (bash .ci/setup)"),
            ["-p", cluster.RedisPort.ToString(), "PUBSUB", "NUMSUB", $"{cluster.ChannelPrefix}TLoRA.Gateway.Hubs.JobsHub:all"]);
        Assert.Equal(0, code);
        Assert.Equal(LocalCluster.GatewayCount.ToString(), channels.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim());
    }

    [Fact]
    public async Task A_restarted_gateway_finds_every_jobs_owner()
    {
        var jobs = new List<string>();
        for (var n = 0; n < LocalCluster.ServiceCount; n++)
            jobs.Add((await SubmitAsync(cluster.Gateways[1], steps: 1, checkpointInterval: 0)).GetProperty("jobId").GetString()!);
        await cluster.KillGatewayAsync(0);
        await cluster.StartGatewayAsync(0);
        foreach (var jobId in jobs)
        {
            var (status, job) = await GetAsync(cluster.Gateways[0], jobId);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(ServiceOf(jobId), job!.Value.GetProperty("serviceId").GetString());
            var events = await EventsUntilAsync(cluster.Gateways[0], jobId, Ended, JobTimeout, cluster.Logs);
            Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(Sequence));
        }
    }

    private async Task<HubClient> ConnectAsync(int gateway)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(cluster.GatewayAddress(gateway), "/hubs/jobs"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(cluster.ApiKey))
            .Build();
        var client = new HubClient(connection);
        connection.On<JsonElement>("event", e => client.Events.Enqueue(e));
        await connection.StartAsync();
        return client;
    }

    private sealed class HubClient(HubConnection connection) : IAsyncDisposable
    {
        public HubConnection Connection { get; } = connection;
        public ConcurrentQueue<JsonElement> Events { get; } = new();

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}

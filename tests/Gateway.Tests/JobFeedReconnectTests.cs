using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.Engine.Tests;
using TLoRA.Gateway.Services;
using TLoRA.GpuService.Tests;
using TLoRA.Contracts.V1;

namespace TLoRA.Gateway.Tests;

/// <summary>The job feed against a service that is not there yet, then restarts: it keeps retrying and raises
/// Connected on each (re)connection. In the gateway collection only so that it does not run beside its jobs.</summary>
[Collection(GatewayCollection.Name)]
public sealed class JobFeedReconnectTests
{
    [Fact]
    public async Task The_feed_connects_once_a_service_comes_up_and_reconnects_after_it_restarts()
    {
        var port = GatewayFixture.FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var gateway = GatewayFixture.BuildGateway(address.ToString());
        await using var _ = gateway;
        var feed = gateway.Services.GetRequiredService<JobFeed>();
        var connections = Channel.CreateUnbounded<string>();
        feed.Connected += a => connections.Writer.TryWrite(a);
        var seen = new ConcurrentQueue<JobEvent>();
        using var subscription = feed.Subscribe(seen.Enqueue);
        await gateway.StartAsync();
        await Task.Delay(1500); // nothing listens yet: the feed has failed and is backing off
        Assert.False(connections.Reader.TryRead(out var early), $"connected to {early} before the service was up");

        using var data = new TempDir();
        for (var run = 0; run < 2; run++)
        {
            await using var service = await ServiceHost.StartAsync(dataDirectory: data.Path, port: port);
            Assert.Equal(address.ToString(), await connections.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            var jobId = await SampleAsync(service);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!seen.Any(e => e.JobId == jobId && e.EventCase == JobEvent.EventOneofCase.SampleCompleted) && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            var mine = seen.Where(e => e.JobId == jobId).ToList();
            Assert.Equal(Enumerable.Range(1, mine.Count).Select(i => (long)i), mine.Select(e => e.Sequence));
            Assert.Equal(JobEvent.EventOneofCase.SampleCompleted, mine[^1].EventCase);
        }
        await gateway.StopAsync();
    }

    /// <summary>Queues a tiny sampling job on the service itself (the feed follows every job, whoever submits it).</summary>
    private static async Task<string> SampleAsync(ServiceHost service) =>
        (await service.Client.SubmitSampleAsync(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 2, Seed = 1 })).JobId;

}

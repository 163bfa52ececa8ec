using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace TLoRA.GpuService.Tests;

/// <summary>What runs beside tlora.v1.TLoRAService: grpc.health.v1 with real readiness, server reflection, gzip,
/// message size limits and deadlines.</summary>
public class CompanionServicesTests
{
    [Fact]
    public async Task Health_is_serving_while_ready_and_not_serving_once_the_models_folder_or_the_engine_is_gone()
    {
        using var models = new TempDir();
        Directory.CreateSymbolicLink(Path.Combine(models.Path, "sdxl-tiny"), Path.Combine(FixturePaths.Root, "sdxl-tiny"));
        await using var host = await ServiceHost.StartAsync(configure: o => o.ModelsDirectory = models.Path);
        var health = new Health.HealthClient(host.Channel);
        foreach (var service in new[] { "", TLoRAService.Descriptor.FullName })
            Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        using (var watch = health.Watch(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            Assert.True(await watch.ResponseStream.MoveNext());
            Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
        }

        Directory.Delete(models.Path, recursive: true);
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Directory.CreateDirectory(models.Path);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);

        Assert.True(host.App.Services.GetRequiredService<EngineWorker>().Stop(TimeSpan.FromSeconds(30)));
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = TLoRAService.Descriptor.FullName })).Status);
    }

    [Fact]
    public async Task Reflection_lists_and_describes_the_api_to_a_client_without_proto_files()
    {
        await using var host = await ServiceHost.StartAsync();
        var reflection = new ServerReflection.ServerReflectionClient(host.Channel);
        using var call = reflection.ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(30));
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("tlora.v1.TLoRAService", services);
        Assert.Contains("grpc.health.v1.Health", services);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "tlora.v1.TLoRAService" });
        Assert.True(await call.ResponseStream.MoveNext());
        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto;
        await call.RequestStream.CompleteAsync();
        // The files arrive with their dependencies; built in dependency order they describe every method and message.
        var described = FileDescriptor.BuildFromByteStrings(Ordered(files), new ExtensionRegistry());
        var service = described.SelectMany(f => f.Services).Single(s => s.FullName == "tlora.v1.TLoRAService");
        Assert.Equal(TLoRAService.Descriptor.Methods.Select(m => m.Name), service.Methods.Select(m => m.Name));
        var watch = service.FindMethodByName("WatchJob");
        Assert.True(watch.IsServerStreaming);
        Assert.Equal("tlora.v1.JobEvent", watch.OutputType.FullName);
        Assert.Equal(JobEvent.Descriptor.Oneofs[0].Fields.Select(f => f.Name), watch.OutputType.Oneofs[0].Fields.Select(f => f.Name));
        Assert.True(service.FindMethodByName("SubmitTrain").InputType.FindFieldByName("checkpoint_interval").HasPresence);
    }

    /// <summary>Dependencies first (a file descriptor can only be built after the files it imports).</summary>
    private static IEnumerable<ByteString> Ordered(IEnumerable<ByteString> files)
    {
        var protos = files.Select(FileDescriptorProto.Parser.ParseFrom).ToDictionary(p => p.Name);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<ByteString>();
        while (result.Count < protos.Count)
        {
            var next = protos.Values.First(p => !done.Contains(p.Name) && p.Dependency.All(done.Contains));
            done.Add(next.Name);
            result.Add(next.ToByteString());
        }
        return result;
    }

    [Fact]
    public async Task A_gzip_compressed_request_is_accepted()
    {
        await using var host = await ServiceHost.StartAsync();
        var seen = new List<string>();
        using var channel = GrpcChannel.ForAddress(host.Address, new GrpcChannelOptions
        {
            HttpHandler = new EncodingRecorder(seen) { InnerHandler = new SocketsHttpHandler() },
        });
        var client = new TLoRAService.TLoRAServiceClient(channel);
        var job = await client.SubmitTrainAsync(GrpcServiceTests.Tiny(), new Metadata { { "grpc-internal-encoding-request", "gzip" } });
        Assert.Equal(["gzip"], seen);
        var stored = host.App.Services.GetRequiredService<JobStore>().GetRequest(job.JobId, TrainRequest.Parser);
        Assert.Equal(GrpcServiceTests.Tiny(), stored);
        await client.CancelJobAsync(new CancelJobRequest { JobId = job.JobId });
    }

    private sealed class EncodingRecorder(List<string> seen) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.TryGetValues("grpc-encoding", out var values)) seen.AddRange(values);
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task A_message_over_the_configured_limit_is_resource_exhausted()
    {
        const int limit = 256 * 1024;
        await using var host = await ServiceHost.StartAsync(configure: o =>
        {
            o.MaxReceiveMessageSize = limit;
            o.MaxImageBytes = limit / 2;
        });
        var request = GrpcServiceTests.Tiny();
        request.Image = ByteString.CopyFrom(new byte[limit + 1]);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.SubmitTrainAsync(request));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Empty(host.App.Services.GetRequiredService<JobStore>().List(10));
    }

    [Fact]
    public async Task Keep_alive_pings_and_message_limits_come_from_the_settings()
    {
        await using var host = await ServiceHost.StartAsync(configure: o =>
        {
            o.KeepAlivePingSeconds = 7;
            o.KeepAlivePingTimeoutSeconds = 3;
            o.MaxSendMessageSize = 2 * 1024 * 1024;
            o.MaxReceiveMessageSize = 3 * 1024 * 1024;
            o.MaxImageBytes = 1024 * 1024;
        });
        var kestrel = host.App.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        Assert.Equal((TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(3)), (kestrel.Limits.Http2.KeepAlivePingDelay, kestrel.Limits.Http2.KeepAlivePingTimeout));
        var grpc = host.App.Services.GetRequiredService<IOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>>().Value;
        Assert.Equal((2 * 1024 * 1024, 3 * 1024 * 1024), (grpc.MaxSendMessageSize, grpc.MaxReceiveMessageSize));
    }

    [Fact]
    public async Task A_deadline_ends_a_watch_on_both_sides()
    {
        await using var host = await ServiceHost.StartAsync();
        var bus = host.App.Services.GetRequiredService<JobEventBus>();
        using var watch = host.Client.WatchJobs(new WatchJobsRequest(), deadline: DateTime.UtcNow.AddSeconds(1));
        var ex = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        for (var i = 0; i < 100 && bus.AllWatcherCount > 0; i++) await Task.Delay(50);
        Assert.Equal(0, bus.AllWatcherCount);
    }
}

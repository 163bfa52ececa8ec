using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TLoRA.Rpc.Bench;
using TLoRA.Rpc.Bench.V1;

// Loopback benchmark of the gRPC stack the services use (Grpc.AspNetCore on Kestrel, Grpc.Net.Client): unary latency
// and throughput, server-stream throughput and per-event latency. Usage: dotnet run -c Release --project
// bench/Rpc.Bench -- [--quick] [--messages N] [--unary N] [--payload BYTES] [--serve PORT]
// (--serve: only run the Echo server, for external clients such as grpcurl or ghz)
var options = BenchOptions.Parse(args);

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, options.ServePort ?? 0, l => l.Protocols = HttpProtocols.Http2));
builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(options.ServePort is null ? LogLevel.Warning : LogLevel.Information);
builder.Services.AddGrpc();
await using var app = builder.Build();
app.MapGrpcService<EchoService>();
if (options.ServePort is not null)
{
    await app.RunAsync();
    return 0;
}
await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
using var channel = GrpcChannel.ForAddress(address);

Console.WriteLine($"gRPC loopback benchmark, Grpc.AspNetCore + Grpc.Net.Client ({(Debugger.IsAttached || IsDebugBuild() ? "DEBUG build: numbers mean nothing" : "Release")}), " +
                  $".NET {Environment.Version}, {Environment.ProcessorCount} cores, payload {options.Payload} B");

var workloads = new Workloads(new Echo.EchoClient(channel), options);
await workloads.WarmUpAsync();
await workloads.UnaryLatencyAsync();
await workloads.UnaryThroughputAsync(concurrency: 16);
await workloads.StreamThroughputAsync();
await workloads.StreamThroughputAsync(coalesce: true);
await workloads.PacedStreamLatencyAsync();
await app.StopAsync();
return 0;

static bool IsDebugBuild() =>
    typeof(Workloads).Assembly.GetCustomAttributes(false).OfType<DebuggableAttribute>().Any(a => a.IsJITOptimizerDisabled);

namespace TLoRA.Rpc.Bench
{
    /// <summary>Command-line options.</summary>
    internal sealed record BenchOptions(int Messages, int Unary, int Payload, int? ServePort)
    {
        public static BenchOptions Parse(string[] args)
        {
            var o = new BenchOptions(100_000, 10_000, 16, null);
            for (var i = 0; i < args.Length; i++)
            {
                int Next() => int.Parse(args[++i], CultureInfo.InvariantCulture);
                o = args[i] switch
                {
                    "--quick" => o with { Messages = 10_000, Unary = 1_000 },
                    "--messages" => o with { Messages = Next() },
                    "--unary" => o with { Unary = Next() },
                    "--payload" => o with { Payload = Next() },
                    "--serve" => o with { ServePort = Next() },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            return o;
        }
    }
}

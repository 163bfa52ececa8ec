using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using TLoRA.Rpc.Server;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests;

/// <summary>Binding from descriptors is validated when the service is mapped, not when it is first called.</summary>
public sealed class MappingTests
{
    private static WebApplication NewApp(bool addRpc = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (addRpc) builder.Services.AddRpcServer();
        return builder.Build();
    }

    /// <summary>Has Say, Stream and Fail but not Slow.</summary>
    public sealed class IncompleteEcho
    {
        public Task<EchoReply> Say(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());

        public Task Stream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context) =>
            Task.CompletedTask;

        public Task<EchoReply> Fail(FailRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());
    }

    /// <summary>Slow has the wrong request type.</summary>
    public sealed class MisshapedEcho
    {
        public Task<EchoReply> Say(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());

        public Task Stream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context) =>
            Task.CompletedTask;

        public Task<EchoReply> Fail(FailRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());

        public Task<EchoReply> Slow(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());
    }

    [Fact]
    public async Task Missing_method_fails_at_MapGrpcService_naming_the_rpc()
    {
        await using var app = NewApp();
        var ex = Assert.Throws<InvalidOperationException>(() =>
            app.MapGrpcService<IncompleteEcho>(EchoReflection.Descriptor.Services[0]));
        Assert.Contains("/tlora.testing.v1.Echo/Slow", ex.Message);
        Assert.Contains("Task<EchoReply> Slow(SlowRequest request, ServerCallContext context)", ex.Message);
    }

    [Fact]
    public async Task Misshaped_method_fails_at_MapGrpcService()
    {
        await using var app = NewApp();
        var ex = Assert.Throws<InvalidOperationException>(() =>
            app.MapGrpcService<MisshapedEcho>(EchoReflection.Descriptor.Services[0]));
        Assert.Contains("/tlora.testing.v1.Echo/Slow", ex.Message);
    }

    [Fact]
    public async Task Without_AddRpcServer_mapping_explains_what_is_missing()
    {
        await using var app = NewApp(addRpc: false);
        var ex = Assert.Throws<InvalidOperationException>(() =>
            app.MapGrpcService<Support.EchoService>(EchoReflection.Descriptor.Services[0]));
        Assert.Contains("AddRpcServer", ex.Message);
    }

    [Theory]
    [InlineData(true, false, "client-streaming")]
    [InlineData(true, true, "bidirectional-streaming")]
    public async Task Client_and_bidi_streaming_rpcs_are_rejected_at_mapping(bool clientStreaming, bool serverStreaming, string kind)
    {
        var proto = new FileDescriptorProto
        {
            Name = "testing/v1/upload.proto",
            Package = "tlora.testing.v1",
            Syntax = "proto3",
            Dependency = { "testing/v1/echo.proto" },
            Service =
            {
                new ServiceDescriptorProto
                {
                    Name = "Upload",
                    Method =
                    {
                        new MethodDescriptorProto
                        {
                            Name = "Send",
                            InputType = ".tlora.testing.v1.EchoRequest",
                            OutputType = ".tlora.testing.v1.EchoReply",
                            ClientStreaming = clientStreaming,
                            ServerStreaming = serverStreaming,
                        },
                    },
                },
            },
        };
        var files = FileDescriptor.BuildFromByteStrings([EchoReflection.Descriptor.SerializedData, proto.ToByteString()]);
        await using var app = NewApp();
        var ex = Assert.Throws<NotSupportedException>(() => app.MapGrpcService<Support.EchoService>(files[1].Services[0]));
        Assert.Contains("/tlora.testing.v1.Upload/Send", ex.Message);
        Assert.Contains(kind, ex.Message);
    }
}

using Grpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TLoRA.Rpc.Health;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace TLoRA.Rpc.Server;

/// <summary>Maps gRPC services onto ASP.NET Core endpoint routing.</summary>
public static class RpcEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every rpc of <paramref name="descriptor"/> to <c>POST /{package.Service}/{Method}</c>, handled by the
    /// method of the same name on <typeparamref name="TService"/> (resolved per call from the request scope):
    /// unary <c>Task&lt;TRes&gt; Name(TReq, ServerCallContext)</c>, server streaming
    /// <c>Task Name(TReq, IServerStreamWriter&lt;TRes&gt;, ServerCallContext)</c>. Throws here, naming the rpc, when a
    /// method is missing or has another shape, and for client-streaming or bidirectional rpcs (not supported). Also
    /// maps, once, the catch-all that answers UNIMPLEMENTED for unknown gRPC services and methods.
    /// </summary>
    /// <param name="endpoints">The app's endpoint route builder.</param>
    /// <param name="descriptor">The service, e.g. <c>EchoReflection.Descriptor.Services[0]</c> or
    /// <c>FooReflection.Descriptor.FindTypeByName&lt;ServiceDescriptor&gt;("Foo")</c>.</param>
    public static IEndpointConventionBuilder MapGrpcService<TService>(this IEndpointRouteBuilder endpoints,
        ServiceDescriptor descriptor) where TService : class
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var services = endpoints.ServiceProvider;
        var lifetime = services.GetService<RpcServerLifetime>() ?? throw new InvalidOperationException(
            "The gRPC transport is not registered: call services.AddRpcServer() before MapGrpcService.");
        var options = services.GetRequiredService<IOptions<RpcServerOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("TLoRA.Rpc.Server");

        var methods = MethodBinder.Bind(typeof(TService), descriptor);
        var builders = new List<IEndpointConventionBuilder>();
        foreach (var method in methods)
        {
            var handler = new ServerCallHandler<TService>(method, options, lifetime, logger);
            var builder = endpoints.MapPost(method.Path, handler.HandleAsync)
                .WithDisplayName($"gRPC {method.Path}")
                .WithMetadata(method.Descriptor);
            builders.Add(builder);
            ServerLog.MethodMapped(logger, method.Path, $"{typeof(TService).Name}.{method.Descriptor.Name}");
        }
        lifetime.AddService(descriptor.FullName);
        MapUnimplementedFallback(endpoints, lifetime, logger);
        return new CompositeConventionBuilder(builders);
    }

    /// <summary>
    /// Maps the standard <c>grpc.health.v1.Health</c> service (Check, Watch) over the DI's
    /// <see cref="HealthStatusRegistry"/>; every status turns NOT_SERVING when the host starts stopping.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcHealthService(this IEndpointRouteBuilder endpoints)
    {
        var builder = endpoints.MapGrpcService<HealthService>(HealthReflection.Descriptor.Services[0]);
        var registry = endpoints.ServiceProvider.GetRequiredService<HealthStatusRegistry>();
        var lifetime = endpoints.ServiceProvider.GetRequiredService<RpcServerLifetime>();
        lifetime.Stopping.Register(registry.EnterTerminalState);
        return builder;
    }

    private static void MapUnimplementedFallback(IEndpointRouteBuilder endpoints, RpcServerLifetime lifetime, ILogger logger)
    {
        lock (lifetime)
        {
            if (lifetime.FallbackMapped) return;
            lifetime.FallbackMapped = true;
        }
        var pattern = RoutePatternFactory.Parse(UnimplementedRoute.Pattern, defaults: null,
            parameterPolicies: new RouteValueDictionary { ["grpcUnimplementedPath"] = new UnimplementedRoute.GrpcRequestConstraint() });
        endpoints.Map(pattern, UnimplementedRoute.Create(lifetime, logger))
            .WithDisplayName("gRPC unimplemented")
            .WithOrder(int.MaxValue - 1);
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders) builder.Add(convention);
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders) builder.Finally(finallyConvention);
        }
    }
}

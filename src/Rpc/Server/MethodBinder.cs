using System.Reflection;
using Google.Protobuf.Reflection;

namespace TLoRA.Rpc.Server;

/// <summary>
/// Binds every method of a protobuf <see cref="ServiceDescriptor"/> to the public instance method of the same name on
/// the service class, with the grpc-dotnet handler shapes; fails at startup, naming the rpc, when one is missing.
/// </summary>
internal static class MethodBinder
{
    public static IReadOnlyList<ServerMethod> Bind(Type serviceType, ServiceDescriptor service)
    {
        var methods = new List<ServerMethod>();
        foreach (var rpc in service.Methods)
        {
            methods.Add(BindMethod(serviceType, rpc));
        }
        return methods;
    }

    private static ServerMethod BindMethod(Type serviceType, MethodDescriptor rpc)
    {
        var path = $"/{rpc.Service.FullName}/{rpc.Name}";
        var request = rpc.InputType.ClrType;
        var response = rpc.OutputType.ClrType;
        if (rpc.IsClientStreaming)
        {
            var kind = rpc.IsServerStreaming ? "bidirectional-streaming" : "client-streaming";
            throw new NotSupportedException(
                $"rpc {path} is {kind}; TLoRA.Rpc binds only unary and server-streaming methods, so {serviceType.Name} cannot be mapped.");
        }

        if (request is null || response is null)
        {
            throw new InvalidOperationException(
                $"rpc {path}: its message types have no generated C# classes (was the .proto compiled into an assembly?).");
        }
        var expected = rpc.IsServerStreaming
            ? $"public Task {rpc.Name}({request.Name} request, IServerStreamWriter<{response.Name}> responseStream, ServerCallContext context)"
            : $"public Task<{response.Name}> {rpc.Name}({request.Name} request, ServerCallContext context)";
        Type[] parameters = rpc.IsServerStreaming
            ? [request, typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext)]
            : [request, typeof(ServerCallContext)];
        var returnType = rpc.IsServerStreaming ? typeof(Task) : typeof(Task<>).MakeGenericType(response);

        var method = serviceType.GetMethod(rpc.Name, BindingFlags.Public | BindingFlags.Instance, parameters);
        if (method is null || method.ReturnType != returnType)
        {
            var found = method is null ? "none" : method.ToString();
            throw new InvalidOperationException(
                $"{serviceType.FullName} does not implement rpc {path}: expected `{expected}` (found: {found}).");
        }

        if (rpc.IsServerStreaming)
        {
            var delegateType = typeof(Func<,,,,>).MakeGenericType(serviceType, request,
                typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext), typeof(Task));
            var handler = method.CreateDelegate(delegateType);
            var bound = typeof(ServerStreamingServerMethod<,,>).MakeGenericType(serviceType, request, response);
            return (ServerMethod)Activator.CreateInstance(bound, rpc, handler)!;
        }
        else
        {
            var delegateType = typeof(Func<,,,>).MakeGenericType(serviceType, request, typeof(ServerCallContext), returnType);
            var handler = method.CreateDelegate(delegateType);
            var bound = typeof(UnaryServerMethod<,,>).MakeGenericType(serviceType, request, response);
            return (ServerMethod)Activator.CreateInstance(bound, rpc, handler)!;
        }
    }
}

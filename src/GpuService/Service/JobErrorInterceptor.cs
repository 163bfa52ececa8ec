using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Service;

/// <summary>
/// Turns refused requests into precise gRPC statuses with rich details (google.rpc.Status in grpc-status-details-bin):
/// INVALID_ARGUMENT carries a google.rpc.BadRequest naming every bad field by its proto field name; NOT_FOUND,
/// RESOURCE_EXHAUSTED (queue full) and FAILED_PRECONDITION carry their message. Anything else is left to
/// Grpc.AspNetCore, which answers UNKNOWN without internals.
/// </summary>
public sealed class JobErrorInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (JobRequestException e)
        {
            throw ToRpcException(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (JobRequestException e)
        {
            throw ToRpcException(e);
        }
    }

    public static RpcException ToRpcException(JobRequestException e)
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)(e.Error switch
            {
                JobError.InvalidArgument => Code.InvalidArgument,
                JobError.NotFound => Code.NotFound,
                JobError.ResourceExhausted => Code.ResourceExhausted,
                _ => Code.FailedPrecondition,
            }),
            Message = e.Message,
        };
        if (e.Fields.Count > 0)
        {
            var bad = new BadRequest();
            bad.FieldViolations.AddRange(e.Fields.Select(f => new BadRequest.Types.FieldViolation { Field = f.Field, Description = f.Description }));
            status.Details.Add(Any.Pack(bad));
        }
        return status.ToRpcException();
    }
}

using Google.Protobuf.WellKnownTypes;
using TLoRA.GpuService.Jobs;
using Proto = TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Service;

/// <summary>The service's job records at the gRPC edge: <see cref="JobRecord"/> → tlora.v1.Job, and the kind filter
/// of ListJobs back.</summary>
public static class JobMapping
{
    public static Proto.Job ToProto(JobRecord j, string serviceId, int queuePosition) => new()
    {
        JobId = j.JobId,
        Kind = j.Kind == JobKind.Train ? Proto.JobKind.Train : Proto.JobKind.Sample,
        State = ToProto(j.State),
        QueuePosition = j.State == JobState.Queued ? queuePosition : 0,
        Created = Timestamp.FromDateTimeOffset(j.Created),
        Started = j.Started is { } s ? Timestamp.FromDateTimeOffset(s) : null,
        Finished = j.Finished is { } f ? Timestamp.FromDateTimeOffset(f) : null,
        LastSequence = j.LastSequence,
        Step = j.Step,
        TotalSteps = j.TotalSteps,
        ModelId = j.ModelId,
        AdapterId = j.AdapterId ?? "",
        Error = j.Error ?? "",
        Trigger = j.Trigger ?? "",
        ClassWord = j.ClassWord ?? "",
        Method = j.Method is { } m ? RequestMapping.ToProto(m) : Proto.AdapterMethod.Unspecified,
        ServiceId = serviceId,
        Owner = j.Owner,
    };

    public static Proto.JobState ToProto(JobState s) => s switch
    {
        JobState.Queued => Proto.JobState.Queued,
        JobState.Running => Proto.JobState.Running,
        JobState.Completed => Proto.JobState.Completed,
        JobState.Failed => Proto.JobState.Failed,
        JobState.Cancelled => Proto.JobState.Cancelled,
        JobState.Interrupted => Proto.JobState.Interrupted,
        _ => Proto.JobState.Unspecified,
    };

    /// <summary>ListJobs' kind filter; unspecified lists every kind.</summary>
    public static JobKind? ToKind(Proto.JobKind k) => k switch
    {
        Proto.JobKind.Train => JobKind.Train,
        Proto.JobKind.Sample => JobKind.Sample,
        _ => null,
    };
}

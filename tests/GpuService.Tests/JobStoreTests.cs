using Google.Protobuf;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Tests;

public class JobStoreTests
{
    private static Job NewJob(string id) => new() { JobId = id, Kind = JobKind.Train, State = JobState.Queued, Created = JobStore.Now(), ModelId = "m" };

    [Fact]
    public void Jobs_requests_and_events_survive_reopening_with_gap_free_sequences()
    {
        using var dir = new TempDir();
        var db = dir.File("jobs.db");
        var store = new JobStore(db);
        store.Create(NewJob("a"), new TrainRequest { Trigger = "sks", Image = ByteString.CopyFrom(1, 2, 3) });
        for (var i = 0; i < 5; i++)
            store.Append("a", seq => new JobEvent { Train = new TrainEvent { JobId = "a", Sequence = seq, Step = new TrainStep { Step = (int)seq } } }.ToByteArray());
        var job = store.Get("a")!;
        job.State = JobState.Running;
        store.Update(job);

        var reopened = new JobStore(db);
        Assert.Equal(JobState.Running, reopened.Get("a")!.State);
        Assert.Equal([1L, 2, 3, 4, 5], reopened.Events("a").Select(e => e.Train.Sequence));
        Assert.Equal([3L, 4, 5], reopened.Events("a", 3).Select(e => e.Train.Sequence));
        Assert.Equal(new byte[] { 1, 2, 3 }, reopened.GetRequest("a", TrainRequest.Parser).Image.ToByteArray());
        Assert.Null(reopened.Get("nope"));
        Assert.Throws<KeyNotFoundException>(() => reopened.Update(NewJob("nope")));
    }

    [Fact]
    public void Concurrent_appends_never_share_a_sequence_number()
    {
        using var dir = new TempDir();
        var store = new JobStore(dir.File("jobs.db"));
        store.Create(NewJob("b"), new TrainRequest());
        Parallel.For(0, 40, _ => store.Append("b", seq => new JobEvent { Train = new TrainEvent { JobId = "b", Sequence = seq } }.ToByteArray()));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), store.Events("b").Select(e => e.Train.Sequence));
    }

    [Fact]
    public void Listing_is_newest_first_and_filters_by_kind_and_state()
    {
        using var dir = new TempDir();
        var store = new JobStore(dir.File("jobs.db"));
        store.Create(NewJob("1"), new TrainRequest());
        store.Create(NewJob("2"), new TrainRequest());
        store.Create(new Job { JobId = "3", Kind = JobKind.Sample, State = JobState.Completed, Created = JobStore.Now() }, new SampleRequest());
        Assert.Equal(["3", "2", "1"], store.List(10).Select(j => j.JobId));
        Assert.Equal(["2", "1"], store.List(10, JobKind.Train).Select(j => j.JobId));
        Assert.Equal(["3"], store.List(10, state: JobState.Completed).Select(j => j.JobId));
        store.AddArtifact("ad1", "adapter", "/x/ad1.safetensors", "1");
        Assert.Equal("/x/ad1.safetensors", store.ArtifactPath("ad1", "adapter"));
        Assert.Null(store.ArtifactPath("ad1", "image"));
    }
}

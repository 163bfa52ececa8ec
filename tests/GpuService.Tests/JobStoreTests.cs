using Google.Protobuf;
using Microsoft.Data.Sqlite;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using JobKind = TLoRA.GpuService.Jobs.JobKind;
using JobState = TLoRA.GpuService.Jobs.JobState;

namespace TLoRA.GpuService.Tests;

public class JobStoreTests
{
    private static JobRecord NewJob(string id, JobKind kind = JobKind.Train, JobState state = JobState.Queued) =>
        new() { JobId = id, Kind = kind, State = state, Created = JobStore.Now(), ModelId = "m" };

    [Fact]
    public void Jobs_requests_and_events_survive_reopening_with_gap_free_sequences()
    {
        using var dir = new TempDir();
        var db = dir.File("jobs.db");
        var store = new JobStore(db);
        var created = new JobRecord
        {
            JobId = "a", Kind = JobKind.Train, Created = JobStore.Now(), ModelId = "sdxl-tiny", Trigger = "sks", ClassWord = "robot",
            Method = Engine.Adapters.AdapterMethod.VanillaTLoRA, TotalSteps = 5,
        };
        store.Create(created, new TrainRequest { Trigger = "sks", Image = ByteString.CopyFrom(1, 2, 3) });
        for (var i = 0; i < 5; i++)
            store.Append("a", seq => new JobEvent { JobId = "a", Sequence = seq, TrainStep = new TrainStep { Step = (int)seq } }.ToByteArray());
        var job = store.Get("a")!;
        Assert.Equal(5, job.LastSequence);
        job.State = JobState.Running;
        job.Started = JobStore.Now();
        job.Step = 4;
        job.AdapterId = "a-s000004";
        store.Update(job);

        var reopened = new JobStore(db);
        var read = reopened.Get("a")!;
        Assert.Equal((JobState.Running, 4, "a-s000004", "sks", "robot", Engine.Adapters.AdapterMethod.VanillaTLoRA, created.Created, job.Started),
            (read.State, read.Step, read.AdapterId, read.Trigger, read.ClassWord, read.Method, read.Created, read.Started));
        Assert.Null(read.Finished);
        Assert.Null(read.Error);
        Assert.Equal([1L, 2, 3, 4, 5], reopened.Events("a").Select(e => e.Sequence));
        Assert.Equal([3L, 4, 5], reopened.Events("a", 3).Select(e => e.Sequence));
        Assert.Equal(new byte[] { 1, 2, 3 }, reopened.GetRequest("a", TrainRequest.Parser).Image.ToByteArray());
        Assert.Null(reopened.Get("nope"));
        Assert.Throws<KeyNotFoundException>(() => reopened.Update(NewJob("nope")));
        Assert.True(reopened.IsOpen());
    }

    [Fact]
    public void Concurrent_appends_never_share_a_sequence_number()
    {
        using var dir = new TempDir();
        var store = new JobStore(dir.File("jobs.db"));
        store.Create(NewJob("b"), new TrainRequest());
        Parallel.For(0, 40, _ => store.Append("b", seq => new JobEvent { JobId = "b", Sequence = seq }.ToByteArray()));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), store.Events("b").Select(e => e.Sequence));
    }

    [Fact]
    public void Listing_is_newest_first_and_filters_by_kind_and_state()
    {
        using var dir = new TempDir();
        var store = new JobStore(dir.File("jobs.db"));
        store.Create(NewJob("1"), new TrainRequest());
        store.Create(NewJob("2"), new TrainRequest());
        store.Create(NewJob("3", JobKind.Sample, JobState.Completed), new SampleRequest());
        Assert.Equal(["3", "2", "1"], store.List(10).Select(j => j.JobId));
        Assert.Equal(["2", "1"], store.List(10, JobKind.Train).Select(j => j.JobId));
        Assert.Equal(["3"], store.List(10, state: JobState.Completed).Select(j => j.JobId));
        store.AddArtifact("ad1", "adapter", "/x/ad1.safetensors", "1");
        Assert.Equal("/x/ad1.safetensors", store.ArtifactPath("ad1", "adapter"));
        Assert.Null(store.ArtifactPath("ad1", "image"));
    }

    [Fact]
    public void A_database_of_another_format_is_refused_with_a_message_and_left_as_it_was()
    {
        using var dir = new TempDir();
        var db = dir.File("jobs.db");
        using (var c = new SqliteConnection($"Data Source={db}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE jobs (id TEXT PRIMARY KEY, job BLOB NOT NULL); INSERT INTO jobs VALUES ('old', x'01');";
            cmd.ExecuteNonQuery();
        }
        var ex = Assert.Throws<InvalidDataException>(() => new JobStore(db));
        Assert.Contains("format 0", ex.Message);
        Assert.Contains($"format {JobStore.SchemaVersion}", ex.Message);
        Assert.DoesNotContain(dir.Path, ex.Message);
        using (var c = new SqliteConnection($"Data Source={db}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM jobs";
            Assert.Equal(1L, cmd.ExecuteScalar());
        }
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void The_readiness_check_fails_once_the_database_is_gone()
    {
        using var dir = new TempDir();
        var db = dir.File("jobs.db");
        var store = new JobStore(db);
        Assert.True(store.IsOpen());
        SqliteConnection.ClearAllPools();
        File.Delete(db);
        Assert.False(store.IsOpen());
        Assert.False(File.Exists(db));
    }
}

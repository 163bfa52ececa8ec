using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// Jobs and every event of every job, in SQLite (a file under the data directory), so history survives restarts:
/// WatchJob replays from here. Event sequence numbers are assigned here, per job, gap-free from 1. Thread-safe:
/// one connection per call, SQLite's WAL mode for concurrent readers.
/// </summary>
public sealed class JobStore
{
    private readonly string connectionString;
    private readonly object writeLock = new();

    public JobStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Cache = SqliteCacheMode.Shared }.ToString();
        using var c = Open();
        Exec(c, """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind INTEGER NOT NULL, state INTEGER NOT NULL, created INTEGER NOT NULL,
              started INTEGER, finished INTEGER, request BLOB NOT NULL, job BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS events (job_id TEXT NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (job_id, seq));
            CREATE TABLE IF NOT EXISTS artifacts (id TEXT PRIMARY KEY, kind TEXT NOT NULL, path TEXT NOT NULL, job_id TEXT NOT NULL);
            """);
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(connectionString);
        c.Open();
        return c;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Records a new job with its request (the request as given, image included, so it can be resumed).</summary>
    public void Create(Job job, IMessage request)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO jobs (id, kind, state, created, request, job) VALUES ($id, $kind, $state, $created, $request, $job)";
            cmd.Parameters.AddWithValue("$id", job.JobId);
            cmd.Parameters.AddWithValue("$kind", (int)job.Kind);
            cmd.Parameters.AddWithValue("$state", (int)job.State);
            cmd.Parameters.AddWithValue("$created", job.Created.ToDateTimeOffset().ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$request", request.ToByteArray());
            cmd.Parameters.AddWithValue("$job", job.ToByteArray());
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Stores the job's current record (state, step, adapter, ...).</summary>
    public void Update(Job job)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE jobs SET state = $state, job = $job WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", job.JobId);
            cmd.Parameters.AddWithValue("$state", (int)job.State);
            cmd.Parameters.AddWithValue("$job", job.ToByteArray());
            if (cmd.ExecuteNonQuery() != 1) throw new KeyNotFoundException($"no job '{job.JobId}'");
        }
    }

    public Job? Get(string jobId)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT job, {LastSequenceColumn} FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        using var r = cmd.ExecuteReader();
        return r.Read() ? WithLastSequence(r) : null;
    }

    public T GetRequest<T>(string jobId, MessageParser<T> parser) where T : IMessage<T>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT request FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        return cmd.ExecuteScalar() is byte[] b ? parser.ParseFrom(b) : throw new KeyNotFoundException($"no job '{jobId}'");
    }

    /// <summary>Newest first.</summary>
    public List<Job> List(int limit, JobKind kind = JobKind.Unspecified, JobState? state = null)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT job, {LastSequenceColumn} FROM jobs WHERE ($kind = 0 OR kind = $kind) AND ($state < 0 OR state = $state) ORDER BY created DESC, rowid DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$kind", (int)kind);
        cmd.Parameters.AddWithValue("$state", state is { } s ? (int)s : -1);
        cmd.Parameters.AddWithValue("$limit", limit);
        var result = new List<Job>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) result.Add(WithLastSequence(r));
        return result;
    }

    // Job.last_sequence: the job's newest stored event, read with the job so that a client knows where live events start.
    private const string LastSequenceColumn = "(SELECT COALESCE(MAX(seq), 0) FROM events WHERE events.job_id = jobs.id)";

    private static Job WithLastSequence(SqliteDataReader r)
    {
        var job = Job.Parser.ParseFrom((byte[])r[0]);
        job.LastSequence = r.GetInt64(1);
        return job;
    }

    /// <summary>Appends an event, giving it the job's next sequence number, which is returned (events start at 1).
    /// <paramref name="build"/> receives the sequence number and returns the event's bytes.</summary>
    public long Append(string jobId, Func<long, byte[]> build)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var tx = c.BeginTransaction();
            using var max = c.CreateCommand();
            max.Transaction = tx;
            max.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE job_id = $id";
            max.Parameters.AddWithValue("$id", jobId);
            var seq = (long)max.ExecuteScalar()! + 1;
            using var ins = c.CreateCommand();
            ins.Transaction = tx;
            ins.CommandText = "INSERT INTO events (job_id, seq, payload) VALUES ($id, $seq, $payload)";
            ins.Parameters.AddWithValue("$id", jobId);
            ins.Parameters.AddWithValue("$seq", seq);
            ins.Parameters.AddWithValue("$payload", build(seq));
            ins.ExecuteNonQuery();
            tx.Commit();
            return seq;
        }
    }

    /// <summary>Events with sequence ≥ <paramref name="fromSequence"/>, in order.</summary>
    public List<JobEvent> Events(string jobId, long fromSequence = 1)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT payload FROM events WHERE job_id = $id AND seq >= $from ORDER BY seq";
        cmd.Parameters.AddWithValue("$id", jobId);
        cmd.Parameters.AddWithValue("$from", fromSequence);
        var result = new List<JobEvent>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) result.Add(JobEvent.Parser.ParseFrom((byte[])r[0]));
        return result;
    }

    public void AddArtifact(string id, string kind, string path, string jobId)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT OR REPLACE INTO artifacts (id, kind, path, job_id) VALUES ($id, $kind, $path, $job)";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$kind", kind);
            cmd.Parameters.AddWithValue("$path", path);
            cmd.Parameters.AddWithValue("$job", jobId);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The file of an artifact ("adapter" or "image"), or null.</summary>
    public string? ArtifactPath(string id, string kind)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT path FROM artifacts WHERE id = $id AND kind = $kind";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$kind", kind);
        return cmd.ExecuteScalar() as string;
    }

    public static Timestamp Now() => Timestamp.FromDateTime(DateTime.UtcNow);
}

using Google.Protobuf;
using Microsoft.Data.Sqlite;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>A file a job made that clients download by id: "adapter" or "image".</summary>
public sealed record Artifact(string Id, string Kind, string Path);

/// <summary>
/// Jobs and every event of every job, in SQLite (a file under the data directory), so history survives restarts:
/// WatchJob replays from here. Event sequence numbers are assigned here, per job, gap-free from 1. Thread-safe:
/// one connection per call, SQLite's WAL mode for concurrent readers. A job is stored as columns of its
/// <see cref="JobRecord"/>, its request as the bytes the client sent (to run and resume it), its events as the
/// tlora.v1.JobEvent each was published as.
/// </summary>
public sealed class JobStore
{
    /// <summary>The schema this code reads and writes (SQLite's user_version).</summary>
    public const int SchemaVersion = 3;

    private const string Columns =
        "id, kind, state, created, started, finished, step, total_steps, model_id, adapter_id, error, trigger, class_word, method, owner";

    private readonly string connectionString;
    private readonly string existingOnly;
    private readonly object writeLock = new();

    public JobStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Cache = SqliteCacheMode.Shared }.ToString();
        existingOnly = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite }.ToString();
        using var c = Open();
        var version = Convert.ToInt32(Scalar(c, "PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        var hasJobs = Convert.ToInt64(Scalar(c, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'jobs'"),
            System.Globalization.CultureInfo.InvariantCulture) > 0;
        if (hasJobs && version == 2)
        {
            // format 2 → 3: jobs get an owner; the ones before belong to the anonymous owner
            Exec(c, $"ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '{Caller.AnonymousOwner}'; PRAGMA user_version = 3;");
            version = 3;
        }
        if (hasJobs && version != SchemaVersion)
            throw new InvalidDataException($"the job database '{Path.GetFileName(databasePath)}' is of format {version}, this service reads " +
                $"format {SchemaVersion}: keep that data directory for the version that wrote it and start with an empty one");
        Exec(c, $"""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind INTEGER NOT NULL, state INTEGER NOT NULL, created INTEGER NOT NULL,
              started INTEGER, finished INTEGER, step INTEGER NOT NULL, total_steps INTEGER NOT NULL, model_id TEXT NOT NULL,
              adapter_id TEXT, error TEXT, trigger TEXT, class_word TEXT, method INTEGER, request BLOB NOT NULL,
              owner TEXT NOT NULL DEFAULT 'anonymous');
            CREATE TABLE IF NOT EXISTS events (job_id TEXT NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (job_id, seq));
            CREATE TABLE IF NOT EXISTS artifacts (id TEXT PRIMARY KEY, kind TEXT NOT NULL, path TEXT NOT NULL, job_id TEXT NOT NULL);
            PRAGMA user_version = {SchemaVersion};
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

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    /// <summary>Whether the database file is still there and answers a query (a readiness check).</summary>
    public bool IsOpen()
    {
        try
        {
            using var c = new SqliteConnection(existingOnly);
            c.Open();
            return Scalar(c, "SELECT COUNT(*) FROM jobs") is long;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>Records a new job with its request (the request as given, image included, so it can be resumed).</summary>
    public void Create(JobRecord job, IMessage request)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"INSERT INTO jobs ({Columns}, request) VALUES ($id, $kind, $state, $created, $started, $finished, $step, " +
                              "$total_steps, $model_id, $adapter_id, $error, $trigger, $class_word, $method, $owner, $request)";
            Bind(cmd, job);
            cmd.Parameters.AddWithValue("$request", request.ToByteArray());
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Stores the job's current record (state, step, adapter, ...).</summary>
    public void Update(JobRecord job)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = UpdateSql;
            Bind(cmd, job);
            if (cmd.ExecuteNonQuery() != 1) throw new KeyNotFoundException($"no job '{job.JobId}'");
        }
    }

    private const string UpdateSql =
        "UPDATE jobs SET kind = $kind, state = $state, created = $created, started = $started, finished = $finished, " +
        "step = $step, total_steps = $total_steps, model_id = $model_id, adapter_id = $adapter_id, error = $error, " +
        "trigger = $trigger, class_word = $class_word, method = $method WHERE id = $id";

    private static void Bind(SqliteCommand cmd, JobRecord job)
    {
        static object Db<T>(T? v) => (object?)v ?? DBNull.Value;
        cmd.Parameters.AddWithValue("$id", job.JobId);
        cmd.Parameters.AddWithValue("$kind", (int)job.Kind);
        cmd.Parameters.AddWithValue("$state", (int)job.State);
        cmd.Parameters.AddWithValue("$created", job.Created.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$started", Db(job.Started?.ToUnixTimeMilliseconds()));
        cmd.Parameters.AddWithValue("$finished", Db(job.Finished?.ToUnixTimeMilliseconds()));
        cmd.Parameters.AddWithValue("$step", job.Step);
        cmd.Parameters.AddWithValue("$total_steps", job.TotalSteps);
        cmd.Parameters.AddWithValue("$model_id", job.ModelId);
        cmd.Parameters.AddWithValue("$adapter_id", Db(job.AdapterId));
        cmd.Parameters.AddWithValue("$error", Db(job.Error));
        cmd.Parameters.AddWithValue("$trigger", Db(job.Trigger));
        cmd.Parameters.AddWithValue("$class_word", Db(job.ClassWord));
        cmd.Parameters.AddWithValue("$method", Db(job.Method is { } m ? (int?)m : null));
        cmd.Parameters.AddWithValue("$owner", job.Owner);
    }

    public JobRecord? Get(string jobId)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Columns}, {LastSequenceColumn} FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    /// <summary>How many of <paramref name="owner"/>'s jobs are queued or running.</summary>
    public int ActiveJobs(string owner)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM jobs WHERE owner = $owner AND state IN ($queued, $running)";
        cmd.Parameters.AddWithValue("$owner", owner);
        cmd.Parameters.AddWithValue("$queued", (int)JobState.Queued);
        cmd.Parameters.AddWithValue("$running", (int)JobState.Running);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public T GetRequest<T>(string jobId, MessageParser<T> parser) where T : IMessage<T>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT request FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        return cmd.ExecuteScalar() is byte[] b ? parser.ParseFrom(b) : throw new KeyNotFoundException($"no job '{jobId}'");
    }

    /// <summary>Newest first; <paramref name="kind"/>, <paramref name="state"/> and <paramref name="owner"/> filter when given.</summary>
    public List<JobRecord> List(int limit, JobKind? kind = null, JobState? state = null, string? owner = null)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Columns}, {LastSequenceColumn} FROM jobs WHERE ($kind = 0 OR kind = $kind) AND ($state = 0 OR state = $state) " +
                          "AND ($owner IS NULL OR owner = $owner) ORDER BY created DESC, rowid DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$owner", (object?)owner ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$kind", kind is { } k ? (int)k : 0);
        cmd.Parameters.AddWithValue("$state", state is { } s ? (int)s : 0);
        cmd.Parameters.AddWithValue("$limit", limit);
        var result = new List<JobRecord>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) result.Add(Read(r));
        return result;
    }

    // The job's newest stored event, read with the job so that a client knows where live events start.
    private const string LastSequenceColumn = "(SELECT COALESCE(MAX(seq), 0) FROM events WHERE events.job_id = jobs.id)";

    private static JobRecord Read(SqliteDataReader r)
    {
        static DateTimeOffset? Time(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));
        static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
        return new JobRecord
        {
            JobId = r.GetString(0), Kind = (JobKind)r.GetInt32(1), State = (JobState)r.GetInt32(2), Created = Time(r, 3)!.Value,
            Started = Time(r, 4), Finished = Time(r, 5), Step = r.GetInt32(6), TotalSteps = r.GetInt32(7), ModelId = r.GetString(8),
            AdapterId = Text(r, 9), Error = Text(r, 10), Trigger = Text(r, 11), ClassWord = Text(r, 12),
            Method = r.IsDBNull(13) ? null : (Engine.Adapters.AdapterMethod)r.GetInt32(13), Owner = r.GetString(14), LastSequence = r.GetInt64(15),
        };
    }

    /// <summary>Appends an event, giving it the job's next sequence number, which is returned (events start at 1).
    /// <paramref name="build"/> receives the sequence number and returns the event's bytes. The artifacts the event
    /// announces and the job's new record are stored in the same transaction: after a crash the store has all three
    /// or none.</summary>
    public long Append(string jobId, Func<long, byte[]> build, IReadOnlyList<Artifact>? artifacts = null, JobRecord? job = null)
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
            foreach (var a in artifacts ?? [])
            {
                using var art = c.CreateCommand();
                art.Transaction = tx;
                art.CommandText = "INSERT OR REPLACE INTO artifacts (id, kind, path, job_id) VALUES ($id, $kind, $path, $job)";
                art.Parameters.AddWithValue("$id", a.Id);
                art.Parameters.AddWithValue("$kind", a.Kind);
                art.Parameters.AddWithValue("$path", a.Path);
                art.Parameters.AddWithValue("$job", jobId);
                art.ExecuteNonQuery();
            }
            if (job is not null)
            {
                using var up = c.CreateCommand();
                up.Transaction = tx;
                up.CommandText = UpdateSql;
                Bind(up, job);
                if (up.ExecuteNonQuery() != 1) throw new KeyNotFoundException($"no job '{job.JobId}'");
            }
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

    /// <summary>Removes a job, its events and its artifacts' records in one transaction.</summary>
    public void Delete(string jobId)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var tx = c.BeginTransaction();
            foreach (var table in new[] { "events", "artifacts" })
            {
                using var cmd = c.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = $"DELETE FROM {table} WHERE job_id = $id";
                cmd.Parameters.AddWithValue("$id", jobId);
                cmd.ExecuteNonQuery();
            }
            using (var job = c.CreateCommand())
            {
                job.Transaction = tx;
                job.CommandText = "DELETE FROM jobs WHERE id = $id";
                job.Parameters.AddWithValue("$id", jobId);
                job.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Ended jobs (completed, failed, cancelled) that finished before <paramref name="before"/>.</summary>
    public List<string> FinishedBefore(DateTimeOffset before)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id FROM jobs WHERE state IN (3, 4, 5) AND finished IS NOT NULL AND finished < $before";
        cmd.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        var ids = new List<string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    /// <summary>Replaces a job's stored request (e.g. without its image once no resume can need it).</summary>
    public void ReplaceRequest(string jobId, IMessage request)
    {
        lock (writeLock)
        {
            using var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE jobs SET request = $request WHERE id = $id";
            cmd.Parameters.AddWithValue("$request", request.ToByteArray());
            cmd.Parameters.AddWithValue("$id", jobId);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The job's newest stored event, or null.</summary>
    public JobEvent? LastEvent(string jobId)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT payload FROM events WHERE job_id = $id ORDER BY seq DESC LIMIT 1";
        cmd.Parameters.AddWithValue("$id", jobId);
        return cmd.ExecuteScalar() is byte[] b ? JobEvent.Parser.ParseFrom(b) : null;
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

    /// <summary>Every artifact of a job (id, kind, file).</summary>
    public List<Artifact> Artifacts(string jobId)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, kind, path FROM artifacts WHERE job_id = $job ORDER BY id";
        cmd.Parameters.AddWithValue("$job", jobId);
        var result = new List<Artifact>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) result.Add(new Artifact(r.GetString(0), r.GetString(1), r.GetString(2)));
        return result;
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

    /// <summary>The job that made an artifact ("adapter" or "image"), or null.</summary>
    public string? ArtifactJob(string id, string kind)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT job_id FROM artifacts WHERE id = $id AND kind = $kind";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$kind", kind);
        return cmd.ExecuteScalar() as string;
    }

    /// <summary>Now, to the millisecond (what the store keeps).</summary>
    public static DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
}

using TLoRA.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Service;

/// <summary>The service's configuration (section "GpuService"), validated at start with messages that name the setting.</summary>
public sealed class GpuServiceOptions
{
    public const string Section = "GpuService";

    /// <summary>Each subfolder holding a model_index.json is a model; its folder name is the model id.</summary>
    public string ModelsDirectory { get; set; } = Path.Combine("tests", "fixtures");
    /// <summary>Job database, uploaded images, adapters, checkpoints and images.</summary>
    public string DataDirectory { get; set; } = "data";
    public string Device { get; set; } = "cpu";
    public string Dtype { get; set; } = "float32";
    public int Port { get; set; } = 50051;
    /// <summary>The address to listen on: loopback unless set ("0.0.0.0" or "::" for every interface, or one address).</summary>
    public string Bind { get; set; } = "127.0.0.1";
    /// <summary>The shared secret the gateway sends as tlora-service-token metadata; calls without it are refused.
    /// Required outside Development (GpuService__ServiceToken in the environment).</summary>
    public string? ServiceToken { get; set; }
    /// <summary>The id every job id starts with; null: the one kept in the data directory, or a new one on first start
    /// (see <see cref="ServiceIdentity"/>). A DNS label, e.g. the pod's name.</summary>
    public string? ServiceId { get; set; }
    public int QueueCapacity { get; set; } = 16;
    /// <summary>Largest request message accepted (an uploaded image must fit); default 32 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = 32 * 1024 * 1024;
    /// <summary>Largest response message sent (a sample image event carries a PNG); default 32 MiB.</summary>
    public int MaxSendMessageSize { get; set; } = 32 * 1024 * 1024;
    /// <summary>Largest accepted training image file.</summary>
    public int MaxImageBytes { get; set; } = 20 * 1024 * 1024;
    /// <summary>Largest training image, in decoded pixels (width × height, checked from its header before anything is
    /// decoded); default 40 megapixels.</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;
    /// <summary>Jobs one owner may have queued or running at once (RESOURCE_EXHAUSTED beyond).</summary>
    public int MaxActiveJobsPerOwner { get; set; } = 8;
    /// <summary>Event streams (WatchJob, WatchJobs, Train, Sample) one owner may have open at once.</summary>
    public int MaxStreamsPerOwner { get; set; } = 32;
    /// <summary>Ended jobs are deleted with their files this many days after they finished; 0 keeps them for ever.</summary>
    public double RetentionDays { get; set; } = 30;
    /// <summary>The device memory jobs may plan to use, in GB: sizes and batches whose estimate (see
    /// <see cref="Jobs.MemoryBudget"/>) is over it are refused at submit.</summary>
    public double MemoryBudgetGB { get; set; } = 6;
    /// <summary>Live events that may wait for one watcher (a WatchJob or WatchJobs stream) before it is ended as fallen
    /// behind, with a status saying where to re-attach.</summary>
    public long MaxWatcherBufferBytes { get; set; } = Jobs.JobEventBus.DefaultMaxWatcherBytes;
    /// <summary>HTTP/2 keep-alive: the service pings a connection idle this long, so long streams through proxies
    /// stay open and a vanished client is noticed.</summary>
    public double KeepAlivePingSeconds { get; set; } = 30;
    /// <summary>A connection whose ping is not answered within this is closed.</summary>
    public double KeepAlivePingTimeoutSeconds { get; set; } = 20;
    /// <summary>How often grpc.health.v1 Watch streams see the readiness checks run again.</summary>
    public double HealthPublishSeconds { get; set; } = 5;

    /// <summary>Throws <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (!Directory.Exists(ModelsDirectory)) errors.Add($"{Section}:ModelsDirectory '{ModelsDirectory}' does not exist");
        if (string.IsNullOrWhiteSpace(DataDirectory)) errors.Add($"{Section}:DataDirectory is empty");
        try
        {
            TorchRuntime.ParseDevice(Device);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            errors.Add($"{Section}:Device: {e.Message}");
        }
        if (Dtype is not ("float32" or "bfloat16" or "float16")) errors.Add($"{Section}:Dtype must be float32, bfloat16 or float16, not '{Dtype}'");
        if (Port is < 0 or > 65535) errors.Add($"{Section}:Port {Port} is not a TCP port");
        if (!System.Net.IPAddress.TryParse(Bind, out _) && Bind != "localhost")
            errors.Add($"{Section}:Bind '{Bind}' is not an IP address (127.0.0.1, ::1, 0.0.0.0, :: or one of this host's) or localhost");
        if (ServiceToken is { Length: > 0 and < MinTokenLength })
            errors.Add($"{Section}:ServiceToken is too short: use at least {MinTokenLength} random characters");
        if (QueueCapacity < 1) errors.Add($"{Section}:QueueCapacity must be at least 1, not {QueueCapacity}");
        if (ServiceId is not null && !ServiceIdentity.IsValid(ServiceId))
            errors.Add($"{Section}:ServiceId '{ServiceId}' is not a DNS label (lower-case letters, digits and inner hyphens, at most 63)");
        if (MaxReceiveMessageSize < 1024) errors.Add($"{Section}:MaxReceiveMessageSize {MaxReceiveMessageSize} is too small");
        if (MaxSendMessageSize < 1024 * 1024) errors.Add($"{Section}:MaxSendMessageSize {MaxSendMessageSize} is too small (at least 1 MiB)");
        if (KeepAlivePingSeconds is <= 0 or > 3600) errors.Add($"{Section}:KeepAlivePingSeconds must be in (0, 3600]");
        if (KeepAlivePingTimeoutSeconds is <= 0 or > 3600) errors.Add($"{Section}:KeepAlivePingTimeoutSeconds must be in (0, 3600]");
        if (HealthPublishSeconds is <= 0 or > 3600) errors.Add($"{Section}:HealthPublishSeconds must be in (0, 3600]");
        if (MaxImageBytes < 1 || MaxImageBytes > MaxReceiveMessageSize) errors.Add($"{Section}:MaxImageBytes must be in 1..MaxReceiveMessageSize");
        if (MaxImagePixels < MinImagePixels) errors.Add($"{Section}:MaxImagePixels must be at least {MinImagePixels}");
        if (MaxActiveJobsPerOwner < 1) errors.Add($"{Section}:MaxActiveJobsPerOwner must be at least 1");
        if (!(RetentionDays >= 0) || double.IsInfinity(RetentionDays)) errors.Add($"{Section}:RetentionDays must be 0 (for ever) or a positive number");
        if (!(MemoryBudgetGB > 0) || double.IsInfinity(MemoryBudgetGB)) errors.Add($"{Section}:MemoryBudgetGB must be a positive number");
        if (MaxWatcherBufferBytes < 64 * 1024) errors.Add($"{Section}:MaxWatcherBufferBytes must be at least 65536");
        if (MaxStreamsPerOwner < 1) errors.Add($"{Section}:MaxStreamsPerOwner must be at least 1");
        if (errors.Count > 0) throw new ArgumentException("invalid configuration: " + string.Join("; ", errors));
    }

    private const long MinImagePixels = 64 * 64;
    public const int MinTokenLength = 16;

    /// <summary>Outside Development a service without a token would accept anyone who reaches its port.</summary>
    public void RequireToken(bool development)
    {
        if (!development && string.IsNullOrEmpty(ServiceToken))
            throw new ArgumentException($"invalid configuration: {Section}:ServiceToken is not set. Set it (environment GpuService__ServiceToken) " +
                "to a secret of at least 16 characters and give the gateway the same one (Gateway__ServiceToken), or run with " +
                "DOTNET_ENVIRONMENT=Development for a local start without one");
    }

    public ScalarType WeightsDtype => Dtype switch { "bfloat16" => ScalarType.BFloat16, "float16" => ScalarType.Float16, _ => ScalarType.Float32 };
    public Device TorchDevice => TorchRuntime.ParseDevice(Device);
}

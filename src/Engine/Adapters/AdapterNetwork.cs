using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// The adapters of a whole model: one <see cref="TLoRAAttentionProcessor"/> on every adaptable attention (rank capped by
/// each projection's dims), the shared rank mask, and the adapter file (safetensors with the official T-LoRA keys,
/// "&lt;attention path&gt;.processor.&lt;to_q_lora|…&gt;.&lt;param&gt;", plus metadata).
/// </summary>
public sealed class AdapterNetwork : IDisposable
{
    private readonly List<(string Path, IAdaptableAttention Attention, TLoRAAttentionProcessor Processor)> adapted;

    // every adaptable attention of the model (adapted or not) → the projections it has, to recognise official keys
    // for projections an attention lacks (see LoadWeights)
    private readonly Dictionary<string, IReadOnlySet<string>> attentions;

    private AdapterNetwork(AdapterSpec spec, List<(string, IAdaptableAttention, TLoRAAttentionProcessor)> adapted,
        Dictionary<string, IReadOnlySet<string>> attentions, RankMaskContext mask, Device device)
    {
        Spec = spec;
        this.adapted = adapted;
        this.attentions = attentions;
        Mask = mask;
        Device = device;
        Schedule = spec.RankSchedule();
    }

    public AdapterSpec Spec { get; }
    public RankSchedule Schedule { get; }
    public RankMaskContext Mask { get; }
    public Device Device { get; }
    public IReadOnlyList<(string Path, IAdaptableAttention Attention, TLoRAAttentionProcessor Processor)> Layers => adapted;

    /// <summary>Builds adapters for every adaptable attention of <paramref name="model"/> and attaches them. T-LoRA's
    /// initialisation takes minutes on large models; <paramref name="cancellation"/> stops it between projections
    /// (OperationCanceledException; nothing stays attached), and <paramref name="progress"/> hears how far it is (T-LoRA
    /// only; the other methods' initialisation is a random fill).</summary>
    public static AdapterNetwork Attach(Module model, AdapterSpec spec, Generator? generator = null, Device? device = null,
        CancellationToken cancellation = default, IProgress<InitialisationProgress>? progress = null) =>
        Attach(model, spec, generator, device, initialise: true, cancellation, progress);

    /// <summary>As <see cref="Attach(Module, AdapterSpec, Generator?, Device?, CancellationToken, IProgress{InitialisationProgress}?)"/> for adapters whose every weight
    /// <see cref="LoadWeights"/> fills next (an adapter file, a resumed job): T-LoRA layers skip their initialisation's
    /// SVD (<see cref="OrthogonalLoRALinearLayer.ForLoading"/>), which would all be overwritten. Until that load the
    /// adapters hold no meaningful weights; a failed load must dispose the network.</summary>
    public static AdapterNetwork AttachForLoading(Module model, AdapterSpec spec, Device? device = null) =>
        Attach(model, spec, new Generator(0), device, initialise: false, CancellationToken.None, null);

    private static AdapterNetwork Attach(Module model, AdapterSpec spec, Generator? generator, Device? device, bool initialise,
        CancellationToken cancellation, IProgress<InitialisationProgress>? progress)
    {
        spec.RankSchedule(); // validates ranks and alpha
        var largest = model.named_modules().Select(m => m.module).OfType<IAdaptableAttention>()
            .SelectMany(a => a.AdaptableProjections.Values).Select(d => Math.Min(d.In, d.Out)).DefaultIfEmpty(0).Max();
        if (largest > 0 && spec.Rank > largest)
            throw new ArgumentOutOfRangeException(nameof(spec.Rank), spec.Rank,
                $"rank {spec.Rank} exceeds every adapted projection's dims (the largest allows {largest})");
        var dev = device ?? torch.CPU;
        var mask = new RankMaskContext();
        var list = new List<(string, IAdaptableAttention, TLoRAAttentionProcessor)>();
        var attentions = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var created = new List<OrthogonalLoRALinearLayer>();
        foreach (var (path, module) in model.named_modules())
        {
            if (module is not IAdaptableAttention attention) continue;
            attentions[path] = attention.AdaptableProjections.Keys.ToHashSet(StringComparer.Ordinal);
            if (attention.processor is not null) throw new InvalidOperationException($"{path} already has an adapter attached");
            var layers = new Dictionary<string, Module>();
            foreach (var name in spec.TargetProjections)
            {
                if (!attention.AdaptableProjections.TryGetValue(name, out var dims)) continue;
                var rank = (int)Math.Min(spec.Rank, Math.Min(dims.In, dims.Out));
                if (spec.Method != AdapterMethod.TLoRA)
                {
                    layers[name] = new LoRALinearLayer(dims.In, dims.Out, rank, generator, ScalarType.Float32, dev); // a normal_ fill: cheap
                    continue;
                }
                var orthogonal = OrthogonalLoRALinearLayer.ForLoading(dims.In, dims.Out, rank, ScalarType.Float32, dev);
                created.Add(orthogonal); // initialised below, all together, in this order
                layers[name] = orthogonal;
            }
            if (layers.Count == 0) continue;
            var processor = new TLoRAAttentionProcessor(layers, spec.Method == AdapterMethod.LoRA ? null : mask);
            attention.SetAdapter(processor);
            list.Add((path, attention, processor));
        }
        if (list.Count == 0) throw new ArgumentException($"{model.GetType().Name} has no attention layer with projections {string.Join(", ", spec.TargetProjections)}");
        var network = new AdapterNetwork(spec, list, attentions, mask, dev);
        if (spec.Method != AdapterMethod.TLoRA) return network;
        try
        {
            // the generator's draws in the order the layers were made, as when each constructor drew its own
            if (initialise) OrthogonalInitialisation.Run(created, spec.Init, generator, TorchRuntime.InitialisationWorkers, cancellation,
                progress: progress);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        mask.Stacked = new StackedOrthogonalWeights(list.SelectMany(a => a.Item3.Layers.Values).OfType<OrthogonalLoRALinearLayer>());
        return network;
    }

    /// <summary>Parameters the optimiser trains (frozen base copies excluded).</summary>
    public IReadOnlyList<Parameter> TrainableParameters =>
        adapted.SelectMany(a => a.Processor.parameters()).Where(p => p.requires_grad).ToList();

    /// <summary>Sets the rank mask for the next model call from its timesteps (no mask for plain LoRA).</summary>
    public void SetTimesteps(IReadOnlyList<double> timesteps)
    {
        if (Spec.Method == AdapterMethod.LoRA) { Mask.Set(null); return; }
        var ranks = timesteps.Select(Schedule.RankAt).Distinct().ToList();
        Mask.Set(Schedule.Mask(timesteps, Device), ranks.Count == 1 ? ranks[0] : null);
    }

    /// <summary>Starts one model call: sets its rank mask from its timesteps (as <see cref="SetTimesteps"/>) and, until the
    /// returned scope is disposed, lets T-LoRA's projections take their weights from stacks built once for the call
    /// (<see cref="StackedOrthogonalWeights"/>). Wrap exactly one forward of the model: nothing may change the adapters
    /// inside it. Backward, gradient checkpointing's recomputation included, runs after it.</summary>
    public IDisposable BeginCall(IReadOnlyList<double> timesteps)
    {
        SetTimesteps(timesteps);
        var stacked = Mask.Stacked;
        stacked?.Open();
        return new CallScope(stacked);
    }

    private sealed class CallScope(StackedOrthogonalWeights? stacked) : IDisposable
    {
        private StackedOrthogonalWeights? stacked = stacked;

        public void Dispose() => Interlocked.Exchange(ref stacked, null)?.Close();
    }

    /// <summary>Sets an explicit mask (or none: all ranks).</summary>
    public void SetMask(Tensor? mask) => Mask.Set(mask);

    /// <summary>Multiplies every delta (sampling with an adapter scale).</summary>
    public double Scale
    {
        get => adapted[0].Processor.Scale;
        set { foreach (var a in adapted) a.Processor.Scale = value; }
    }

    /// <summary>Adapter tensors by their official key. The tensors are the adapters' own: do not dispose.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (path, _, p) in adapted)
            foreach (var (key, t) in p.state_dict()) d[$"{path}.processor.{key}"] = t;
        return d;
    }

    /// <summary>Writes the adapter atomically (an existing file is replaced only once the new one is complete).</summary>
    public void Save(string path, AdapterMetadata metadata) =>
        SafetensorsWriter.Save(path, StateDict(), metadata.ToDictionary(Spec));

    /// <summary>Keys the last <see cref="LoadWeights"/> skipped: adapters of the official FLUX code for projections
    /// an attention lacks (it also builds to_out_lora and to_*_proj_lora in the single-stream blocks, never used).</summary>
    public IReadOnlyList<string> IgnoredKeys { get; private set; } = [];

    /// <summary>Copies an adapter file's tensors into these adapters; strict about keys and shapes. The only keys
    /// tolerated beyond ours are those for a projection the attention does not have ("&lt;path&gt;.processor.
    /// &lt;to_out_lora|…&gt;.…" where &lt;path&gt; is an attention of the model without that projection); they are
    /// skipped and listed in <see cref="IgnoredKeys"/>. Any other extra, missing or mis-shaped key fails.</summary>
    public void LoadWeights(ShardedCheckpoint file)
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !file.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var extra = file.Names.Where(k => !own.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var ignored = extra.Where(IsForAbsentProjection).ToList();
        var unexpected = extra.Except(ignored).ToList();
        var misshaped = own.Where(kv => file.Contains(kv.Key) && !file.Entry(kv.Key).Shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: expected [{string.Join(", ", kv.Value.shape)}], got {file.Entry(kv.Key).ShapeText}").ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
            throw new StateDictException($"adapter from {file.Path}", missing, unexpected, misshaped);
        using var noGrad = torch.no_grad();
        foreach (var (key, t) in own)
            using (var src = file.Read(key)) t.copy_(src);
        IgnoredKeys = ignored;
    }

    /// <summary>Whether <paramref name="key"/> reads "&lt;attention path&gt;.processor.&lt;adapter key&gt;.…" for an
    /// attention of the model that lacks the adapter key's projection.</summary>
    private bool IsForAbsentProjection(string key)
    {
        const string marker = ".processor.";
        var at = key.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0 || !attentions.TryGetValue(key[..at], out var projections)) return false;
        var rest = key[(at + marker.Length)..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        var adapterKey = dot < 0 ? rest : rest[..dot];
        var projection = TLoRAAttentionProcessor.KeyOf.FirstOrDefault(kv => kv.Value == adapterKey).Key;
        return projection is not null && !projections.Contains(projection);
    }

    /// <summary>Removes the adapters from the model and frees them.</summary>
    public void Dispose()
    {
        foreach (var (_, attention, processor) in adapted)
        {
            attention.SetAdapter(null);
            processor.Dispose();
        }
        adapted.Clear();
        Mask.Dispose();
    }
}

using System.Globalization;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Adapters;

/// <summary>Reads adapter files: ours (with "tlora.*" metadata) and the official T-LoRA checkpoints (keys only).</summary>
public static class AdapterFile
{
    /// <summary>The spec a file was trained with. Without metadata the method comes from the keys (q_layer → T-LoRA,
    /// down/up → Vanilla T-LoRA), the rank from the largest layer, and r_min/α from the defaults given (paper: r/2, 1).</summary>
    public static AdapterSpec ReadSpec(ShardedCheckpoint file, int? defaultMinRank = null, double defaultAlpha = 1.0)
    {
        var m = file.Metadata;
        var c = CultureInfo.InvariantCulture;
        var keys = file.Names;
        if (keys.Count == 0) throw new InvalidDataException($"{file.Path}: the adapter file holds no tensors");
        var method = m.TryGetValue("tlora.method", out var ms) && Enum.TryParse<AdapterMethod>(ms, out var parsed) ? parsed
            : keys.Any(k => k.EndsWith(".q_layer.weight", StringComparison.Ordinal)) ? AdapterMethod.TLoRA
            : keys.Any(k => k.EndsWith(".down.weight", StringComparison.Ordinal)) ? AdapterMethod.VanillaTLoRA
            : throw new InvalidDataException($"{file.Path}: not a T-LoRA adapter (no q_layer or down weights; first key '{keys[0]}')");
        var rankKey = method == AdapterMethod.TLoRA ? ".q_layer.weight" : ".down.weight";
        var rank = m.TryGetValue("tlora.rank", out var rs) ? int.Parse(rs, c)
            : (int)keys.Where(k => k.EndsWith(rankKey, StringComparison.Ordinal)).Max(k => file.Entry(k).Shape[0]);
        var minRank = m.TryGetValue("tlora.min_rank", out var mr) ? int.Parse(mr, c) : defaultMinRank ?? Math.Max(1, rank / 2);
        var alpha = m.TryGetValue("tlora.alpha", out var al) ? double.Parse(al, c) : defaultAlpha;
        var projections = TLoRAAttentionProcessor.KeyOf
            .Where(kv => keys.Any(k => k.Contains($".processor.{kv.Value}.", StringComparison.Ordinal)))
            .Select(kv => kv.Key).ToList();
        var schedule = m.TryGetValue("tlora.schedule", out var ss) && Enum.TryParse<RankScheduleKind>(ss, out var sk) ? sk
            : projections.Any(p => p.StartsWith("add_", StringComparison.Ordinal)) ? RankScheduleKind.Linear : RankScheduleKind.Power;
        var init = m.TryGetValue("tlora.init", out var ins) && Enum.TryParse<InitComponents>(ins, out var ic) ? ic : InitComponents.Last;
        return new AdapterSpec(method, rank, minRank, alpha, init, schedule, projections);
    }

    /// <summary>Attaches the adapter in <paramref name="path"/> to <paramref name="model"/> with the file's weights. An
    /// official FLUX file's keys for projections an attention lacks (the single-stream blocks' to_out_lora and
    /// to_*_proj_lora) are skipped and listed in <see cref="AdapterNetwork.IgnoredKeys"/>; any other mismatch fails.</summary>
    public static AdapterNetwork Load(Module model, string path, Device? device = null, int? defaultMinRank = null, double defaultAlpha = 1.0)
    {
        using var file = ShardedCheckpoint.Open(path);
        var spec = ReadSpec(file, defaultMinRank, defaultAlpha);
        var network = AdapterNetwork.AttachForLoading(model, spec, device);
        try
        {
            network.LoadWeights(file);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Builds an adapter file's processors without a model (sizes from the tensor shapes), for inspection.
    /// The caller disposes the processors.</summary>
    public static List<(string Path, TLoRAAttentionProcessor Processor)> ReadProcessors(string path)
    {
        using var file = ShardedCheckpoint.Open(path);
        var spec = ReadSpec(file);
        var result = new List<(string, TLoRAAttentionProcessor)>();
        const string marker = ".processor.";
        try
        {
            foreach (var group in file.Names.Where(k => k.Contains(marker, StringComparison.Ordinal))
                         .GroupBy(k => k[..k.IndexOf(marker, StringComparison.Ordinal)]).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var layers = new Dictionary<string, Module>();
                foreach (var (projection, key) in TLoRAAttentionProcessor.KeyOf)
                {
                    var prefix = $"{group.Key}{marker}{key}.";
                    if (!file.Contains(prefix + (spec.Method == AdapterMethod.TLoRA ? "q_layer.weight" : "down.weight"))) continue;
                    layers[projection] = spec.Method == AdapterMethod.TLoRA
                        ? Build(file, prefix, "q_layer.weight", "p_layer.weight", (i, o, r) => OrthogonalLoRALinearLayer.ForLoading(i, o, r))
                        : Build(file, prefix, "down.weight", "up.weight", (i, o, r) => new LoRALinearLayer(i, o, r));
                }
                result.Add((group.Key, new TLoRAAttentionProcessor(layers, null)));
            }
            return result;
        }
        catch
        {
            foreach (var (_, p) in result) p.Dispose();
            throw;
        }
    }

    private static Module Build(ShardedCheckpoint file, string prefix, string inKey, string outKey, Func<long, long, int, Module> make)
    {
        var i = file.Entry(prefix + inKey).Shape;
        var o = file.Entry(prefix + outKey).Shape;
        var layer = make(i[1], o[0], (int)i[0]);
        var own = layer.state_dict();
        using var noGrad = torch.no_grad();
        foreach (var (k, t) in own)
        {
            if (!file.Contains(prefix + k)) throw new KeyNotFoundException($"{file.Path}: missing '{prefix + k}'");
            using var src = file.Read(prefix + k);
            if (!src.shape.SequenceEqual(t.shape))
                throw new InvalidDataException($"{file.Path}: '{prefix + k}' has shape [{string.Join(", ", src.shape)}], expected [{string.Join(", ", t.shape)}]");
            t.copy_(src);
        }
        return layer;
    }
}

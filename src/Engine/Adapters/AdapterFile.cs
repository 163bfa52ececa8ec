using System.Globalization;
using TLoRA.Engine.IO;
using TLoRA.Torch;
using TLoRA.Torch.Modules;

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

    /// <summary>Attaches the adapter in <paramref name="path"/> to <paramref name="model"/> with the file's weights.</summary>
    public static AdapterNetwork Load(Module model, string path, Device? device = null, int? defaultMinRank = null, double defaultAlpha = 1.0)
    {
        using var file = ShardedCheckpoint.Open(path);
        var spec = ReadSpec(file, defaultMinRank, defaultAlpha);
        var network = AdapterNetwork.Attach(model, spec, new Generator(0), device);
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
}

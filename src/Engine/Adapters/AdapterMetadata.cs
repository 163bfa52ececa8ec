using System.Globalization;

namespace TLoRA.Engine.Adapters;

/// <summary>What an adapter file records about its training, stored as safetensors metadata ("tlora.*" keys).</summary>
public sealed record AdapterMetadata(string? BaseModel = null, string? Trigger = null, string? ClassWord = null, int? Steps = null, ulong? Seed = null)
{
    public Dictionary<string, string> ToDictionary(AdapterSpec spec)
    {
        var c = CultureInfo.InvariantCulture;
        var d = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["tlora.method"] = spec.Method.ToString(),
            ["tlora.rank"] = spec.Rank.ToString(c),
            ["tlora.min_rank"] = spec.MinRank.ToString(c),
            ["tlora.alpha"] = spec.Alpha.ToString("R", c),
            ["tlora.init"] = spec.Init.ToString(),
            ["tlora.schedule"] = spec.Schedule.ToString(),
            ["tlora.projections"] = string.Join(",", spec.TargetProjections),
        };
        if (BaseModel is not null) d["tlora.base_model"] = BaseModel;
        if (Trigger is not null) d["tlora.trigger"] = Trigger;
        if (ClassWord is not null) d["tlora.class"] = ClassWord;
        if (Steps is { } s) d["tlora.steps"] = s.ToString(c);
        if (Seed is { } seed) d["tlora.seed"] = seed.ToString(c);
        return d;
    }

    public static AdapterMetadata From(IReadOnlyDictionary<string, string> m) => new(
        m.GetValueOrDefault("tlora.base_model"), m.GetValueOrDefault("tlora.trigger"), m.GetValueOrDefault("tlora.class"),
        m.TryGetValue("tlora.steps", out var s) && int.TryParse(s, CultureInfo.InvariantCulture, out var steps) ? steps : null,
        m.TryGetValue("tlora.seed", out var sd) && ulong.TryParse(sd, CultureInfo.InvariantCulture, out var seed) ? seed : null);
}

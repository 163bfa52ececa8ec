using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>CombinedTimestepGuidanceTextProjEmbeddings</c>, FLUX's conditioning vector:
/// timestep_embedder(time_proj(t)) + guidance_embedder(time_proj(g)) + text_embedder(pooled), with
/// time_proj = <see cref="Timesteps"/>(256, flip_sin_to_cos, shift 0). Built without a guidance embedder it is
/// <c>CombinedTimestepTextProjEmbeddings</c> (guidance-free models such as FLUX.1-schnell): the same keys less
/// guidance_embedder.*. Timesteps and guidance arrive already multiplied by 1000 (the transformer does that).
/// </summary>
public sealed class CombinedTimestepGuidanceTextProjEmbeddings : Module
{
    /// <summary>Width of the sinusoidal projection of timesteps and guidance.</summary>
    public const int ProjectionChannels = 256;

    public readonly Timesteps time_proj;
    public readonly TimestepEmbedding timestep_embedder;
    /// <summary>Null for a model without guidance embedding.</summary>
    public readonly TimestepEmbedding? guidance_embedder;
    public readonly PixArtAlphaTextProjection text_embedder;

    /// <param name="embedding_dim">Width of the embedding (the model width).</param>
    /// <param name="pooled_projection_dim">Width of the pooled text projection.</param>
    /// <param name="guidance">Whether to embed guidance (guidance_embeds).</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public CombinedTimestepGuidanceTextProjEmbeddings(long embedding_dim, long pooled_projection_dim, bool guidance = true,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CombinedTimestepGuidanceTextProjEmbeddings))
    {
        time_proj = new Timesteps(ProjectionChannels, flip_sin_to_cos: true, downscale_freq_shift: 0);
        timestep_embedder = new TimestepEmbedding(ProjectionChannels, embedding_dim, "silu", device: device, dtype: dtype);
        if (guidance) guidance_embedder = new TimestepEmbedding(ProjectionChannels, embedding_dim, "silu", device: device, dtype: dtype);
        text_embedder = new PixArtAlphaTextProjection(pooled_projection_dim, embedding_dim, act_fn: "silu", device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The (B, embedding_dim) conditioning for <paramref name="timestep"/> (B) and <paramref name="guidance"/> (B;
    /// required exactly when the model embeds guidance), both already × 1000, and <paramref name="pooled_projection"/>
    /// (B, pooled_projection_dim).</summary>
    public Tensor forward(Tensor timestep, Tensor? guidance, Tensor pooled_projection)
    {
        if (guidance_embedder is not null && guidance is null)
            throw new ArgumentException("this model embeds guidance (guidance_embeds): a guidance tensor is required", nameof(guidance));
        if (guidance_embedder is null && guidance is not null)
            throw new ArgumentException("this model has no guidance embedding (guidance_embeds false): pass no guidance", nameof(guidance));
        using var scope = torch.NewDisposeScope();
        var dtype = pooled_projection.dtype;
        var emb = timestep_embedder.call(time_proj.call(timestep).to(dtype));
        if (guidance_embedder is not null) emb = emb.Plus(guidance_embedder.call(time_proj.call(guidance!).to(dtype)));
        return (emb.Plus(text_embedder.call(pooled_projection))).MoveToOuterDisposeScope();
    }
}

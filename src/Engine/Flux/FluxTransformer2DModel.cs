using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>FluxTransformer2DModel</c> (FLUX.1): packed latent tokens → x_embedder, T5 tokens → context_embedder,
/// conditioning temb from timestep, guidance and the pooled CLIP embedding, 3-axis rotary embeddings from txt_ids and
/// img_ids; then the double-stream <see cref="FluxTransformerBlock"/>s, the single-stream
/// <see cref="FluxSingleTransformerBlock"/>s over [text, image] tokens, and norm_out + proj_out on the image tokens.
/// Every size comes from <see cref="FluxTransformer2DModelConfig"/>; field names are the checkpoint's keys. Autograd
/// flows through everything, so adapters attached with <see cref="FluxAttention.SetAdapter"/> train through it.
/// </summary>
public sealed class FluxTransformer2DModel : Module
{
    public readonly FluxPosEmbed pos_embed;
    public readonly CombinedTimestepGuidanceTextProjEmbeddings time_text_embed;
    public readonly Linear context_embedder;
    public readonly Linear x_embedder;
    public readonly ModuleList<FluxTransformerBlock> transformer_blocks;
    public readonly ModuleList<FluxSingleTransformerBlock> single_transformer_blocks;
    public readonly AdaLayerNormContinuous norm_out;
    public readonly Linear proj_out;

    /// <summary>Builds the model described by <paramref name="config"/> with freshly initialised parameters.</summary>
    public FluxTransformer2DModel(FluxTransformer2DModelConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(FluxTransformer2DModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.config = config;
        var inner = config.InnerDim;
        var (heads, headDim) = (config.num_attention_heads, config.attention_head_dim);
        pos_embed = new FluxPosEmbed(10000, config.axes_dims_rope);
        time_text_embed = new CombinedTimestepGuidanceTextProjEmbeddings(inner, config.pooled_projection_dim, config.guidance_embeds, device: device, dtype: dtype);
        context_embedder = Linear(config.joint_attention_dim, inner, true, device: device, dtype: dtype);
        x_embedder = Linear(config.in_channels, inner, true, device: device, dtype: dtype);
        transformer_blocks = new ModuleList<FluxTransformerBlock>(
            Enumerable.Range(0, config.num_layers).Select(_ => new FluxTransformerBlock(inner, heads, headDim, 1e-6, device: device, dtype: dtype)).ToArray());
        single_transformer_blocks = new ModuleList<FluxSingleTransformerBlock>(
            Enumerable.Range(0, config.num_single_layers).Select(_ => new FluxSingleTransformerBlock(inner, heads, headDim, 4.0, device: device, dtype: dtype)).ToArray());
        norm_out = new AdaLayerNormContinuous(inner, inner, elementwise_affine: false, eps: 1e-6, device: device, dtype: dtype);
        proj_out = Linear(inner, (long)config.patch_size * config.patch_size * config.OutChannels, true, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The config the model was built from.</summary>
    public FluxTransformer2DModelConfig config { get; }

    /// <summary>Reads <paramref name="componentFolder"/>/config.json, builds the model and loads its weights (a single
    /// file or shards with an index; strict: any missing, unexpected or mis-shaped key fails, naming it), converting them
    /// to <paramref name="dtype"/>.</summary>
    public static FluxTransformer2DModel Load(string componentFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    =>
        CheckpointLoader.BuildAndLoad<FluxTransformer2DModelConfig, FluxTransformer2DModel>(componentFolder, (c, d) => new(c, device: d, dtype: dtype), device);

    /// <summary>Every attention layer with its module path ("transformer_blocks.0.attn", "single_transformer_blocks.3.attn"),
    /// where T-LoRA adapters attach.</summary>
    public IEnumerable<(string name, FluxAttention attention)> attention_layers() =>
        named_modules().Where(m => m.module is FluxAttention).Select(m => (m.name, (FluxAttention)m.module));

    /// <summary>The conditioning temb (B, D) as the transformer computes it: timestep and guidance moved to the model's
    /// device, cast to its dtype and multiplied by 1000 (the pipeline passes σ = t / 1000), then
    /// <see cref="time_text_embed"/>.</summary>
    /// <param name="timestep">Shape [] or [B], any numeric dtype.</param>
    /// <param name="guidance">Shape [] or [B]; required exactly when the config has guidance_embeds.</param>
    /// <param name="pooled_projections">(B, pooled_projection_dim).</param>
    public Tensor time_embedding(Tensor timestep, Tensor? guidance, Tensor pooled_projections)
    {
        using var scope = torch.NewDisposeScope();
        var (device, dtype) = (x_embedder.weight.device, x_embedder.weight.dtype);
        var t = Vector(timestep, nameof(timestep)).to(dtype, device) * Sc(1000L);
        var g = guidance is null ? null : Vector(guidance, nameof(guidance)).to(dtype, device) * Sc(1000L);
        return time_text_embed.forward(t, g, pooled_projections).MoveToOuterDisposeScope();
    }

    /// <summary>The rotary (cos, sin) tables, each (T + N, head dim) float32 on the ids' device (the attention moves them
    /// to its own), for the text ids (T, 3) then the image ids (N, 3); 3-D ids (batch first, deprecated in diffusers) use
    /// their first entry.</summary>
    public (Tensor cos, Tensor sin) rotary_embedding(Tensor txt_ids, Tensor img_ids)
    {
        using var scope = torch.NewDisposeScope();
        var ids = torch.cat([Ids(txt_ids, nameof(txt_ids)), Ids(img_ids, nameof(img_ids))], 0); // FluxPosEmbed reads ids.float()
        var (cos, sin) = pos_embed.forward(ids);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Predicts the (B, N, patch² · out_channels) output for packed latents.</summary>
    /// <param name="hidden_states">Packed latent tokens (B, N, in_channels).</param>
    /// <param name="encoder_hidden_states">T5 hidden states (B, T, joint_attention_dim).</param>
    /// <param name="pooled_projections">Pooled CLIP output (B, pooled_projection_dim).</param>
    /// <param name="timestep">σ in [0, 1] ([] or [B]); the model multiplies it by 1000.</param>
    /// <param name="img_ids">Image token positions (N, 3).</param>
    /// <param name="txt_ids">Text token positions (T, 3).</param>
    /// <param name="guidance">Guidance scale ([] or [B]; any numeric dtype), × 1000 inside; null for guidance-free models.</param>
    public Tensor forward(Tensor hidden_states, Tensor encoder_hidden_states, Tensor pooled_projections, Tensor timestep,
        Tensor img_ids, Tensor txt_ids, Tensor? guidance = null)
    {
        ArgumentNullException.ThrowIfNull(hidden_states);
        ArgumentNullException.ThrowIfNull(encoder_hidden_states);
        if (hidden_states.dim() != 3 || encoder_hidden_states.dim() != 3)
            throw new ArgumentException($"hidden_states and encoder_hidden_states must be (B, N, C), got [{string.Join(", ", hidden_states.shape)}] " +
                                        $"and [{string.Join(", ", encoder_hidden_states.shape)}]");
        var textLength = encoder_hidden_states.size(1);
        using var scope = torch.NewDisposeScope();
        var rope = rotary_embedding(txt_ids, img_ids);
        if (rope.cos.size(0) != textLength + hidden_states.size(1))
            throw new ArgumentException($"txt_ids and img_ids give {rope.cos.size(0)} positions for {textLength} text and " +
                                        $"{hidden_states.size(1)} image tokens");

        var h = x_embedder.call(hidden_states);
        var temb = time_embedding(timestep, guidance, pooled_projections);
        var context = context_embedder.call(encoder_hidden_states);
        foreach (var block in transformer_blocks)
        {
            var (nextContext, next) = block.forward(h, context, temb, rope);
            Replace(ref context, nextContext);
            Replace(ref h, next);
        }
        Replace(ref h, torch.cat([context, h], 1));
        foreach (var block in single_transformer_blocks) Replace(ref h, block.forward(h, temb, rope));
        Replace(ref h, h.narrow(1, textLength, h.size(1) - textLength));
        Replace(ref h, norm_out.forward(h, temb));
        return proj_out.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>Frees an intermediate as soon as the next one exists (autograd keeps what backward needs).</summary>
    private static void Replace(ref Tensor current, Tensor next)
    {
        current.Dispose();
        current = next;
    }

    private static Tensor Vector(Tensor t, string name) => t.dim() switch
    {
        0 => t.unsqueeze(0),
        1 => t.alias(),
        _ => throw new ArgumentException($"{name} must have shape [] or [B], got [{string.Join(", ", t.shape)}]", name),
    };

    private static Tensor Ids(Tensor ids, string name) => ids.dim() switch
    {
        2 => ids.to(ScalarType.Float32),
        3 => ids.select(0, 0).to(ScalarType.Float32),
        _ => throw new ArgumentException($"{name} must have shape [S, 3], got [{string.Join(", ", ids.shape)}]", name),
    };
}

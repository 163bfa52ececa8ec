namespace TLoRA.Engine.Flux;

/// <summary>
/// The config.json of a diffusers <c>FluxTransformer2DModel</c>, bound by its JSON property names, with diffusers'
/// defaults (FLUX.1-dev's sizes) for absent keys. Every size of the model comes from here.
/// </summary>
public sealed record FluxTransformer2DModelConfig
{
    /// <summary>Side of the patches x_embedder reads (FLUX: 1; the pipeline packs 2×2 latent patches itself).</summary>
    public int patch_size { get; init; } = 1;
    /// <summary>Channels of the packed latents (16 latent channels × 2 × 2).</summary>
    public int in_channels { get; init; } = 64;
    /// <summary>Output channels; null means in_channels.</summary>
    public int? out_channels { get; init; }
    /// <summary>Number of double-stream blocks (<see cref="FluxTransformerBlock"/>).</summary>
    public int num_layers { get; init; } = 19;
    /// <summary>Number of single-stream blocks (<see cref="FluxSingleTransformerBlock"/>).</summary>
    public int num_single_layers { get; init; } = 38;
    /// <summary>Channels per attention head.</summary>
    public int attention_head_dim { get; init; } = 128;
    /// <summary>Number of attention heads; the model width is heads · head dim.</summary>
    public int num_attention_heads { get; init; } = 24;
    /// <summary>Channels of encoder_hidden_states (T5's hidden size).</summary>
    public int joint_attention_dim { get; init; } = 4096;
    /// <summary>Channels of pooled_projections (CLIP's pooled output).</summary>
    public int pooled_projection_dim { get; init; } = 768;
    /// <summary>Whether the model embeds the guidance scale (FLUX.1-dev: true; schnell: false).</summary>
    public bool guidance_embeds { get; init; }
    /// <summary>Rotary dims per position axis; they must sum to attention_head_dim.</summary>
    public int[] axes_dims_rope { get; init; } = [16, 56, 56];

    /// <summary>Model width: num_attention_heads · attention_head_dim.</summary>
    public int InnerDim => num_attention_heads * attention_head_dim;

    /// <summary>Channels of the output: out_channels or in_channels.</summary>
    public int OutChannels => out_channels ?? in_channels;

    /// <summary>Fails, naming the setting, on configs the model cannot be built from.</summary>
    public void Validate()
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new InvalidDataException($"FluxTransformer2DModel config: {what}");
        }
        Require(patch_size >= 1 && in_channels >= 1 && OutChannels >= 1, "patch_size, in_channels and out_channels must be positive");
        Require(num_layers >= 0 && num_single_layers >= 0, "num_layers and num_single_layers must not be negative");
        Require(attention_head_dim >= 1 && num_attention_heads >= 1, "attention_head_dim and num_attention_heads must be positive");
        Require(joint_attention_dim >= 1 && pooled_projection_dim >= 1, "joint_attention_dim and pooled_projection_dim must be positive");
        Require(axes_dims_rope is { Length: > 0 } && axes_dims_rope.All(d => d > 0 && d % 2 == 0),
            "axes_dims_rope must be positive even numbers");
        Require(axes_dims_rope.Sum() == attention_head_dim,
            $"axes_dims_rope [{string.Join(", ", axes_dims_rope)}] sum to {axes_dims_rope.Sum()}, not attention_head_dim {attention_head_dim}");
    }
}

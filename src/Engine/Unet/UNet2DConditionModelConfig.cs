namespace TLoRA.Engine.Unet;

/// <summary>
/// The config.json of a diffusers <c>UNet2DConditionModel</c>, bound by its JSON property names, with diffusers'
/// defaults for absent keys. Every size of the model comes from here.
/// <para>Quirks kept from diffusers:</para>
/// <list type="bullet">
/// <item><c>attention_head_dim</c> is, for historical reasons, the NUMBER OF HEADS whenever <c>num_attention_heads</c>
/// is null (as in every SD and SD-XL config): a transformer's head dim is its channels / heads. See
/// <see cref="HeadsPerBlock"/>.</item>
/// <item>Per-block lists (<c>transformer_layers_per_block</c>, heads, <c>cross_attention_dim</c>, <c>layers_per_block</c>,
/// <c>only_cross_attention</c>) are given for the down blocks and read in reverse for the up blocks, unless
/// <c>reverse_transformer_layers_per_block</c> gives the up blocks' layers explicitly.</item>
/// <item>Up blocks have <c>layers_per_block + 1</c> resnets (the extra one consumes the down path's conv_in residual).</item>
/// </list>
/// </summary>
public sealed record UNet2DConditionModelConfig
{
    public int? sample_size { get; init; }
    public int in_channels { get; init; } = 4;
    public int out_channels { get; init; } = 4;
    public bool center_input_sample { get; init; }
    public bool flip_sin_to_cos { get; init; } = true;
    public double freq_shift { get; init; }
    public string[] down_block_types { get; init; } = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"];
    public string? mid_block_type { get; init; } = "UNetMidBlock2DCrossAttn";
    public string[] up_block_types { get; init; } = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"];
    public PerBlock<bool> only_cross_attention { get; init; } = false;
    public int[] block_out_channels { get; init; } = [320, 640, 1280, 1280];
    public PerBlock<int> layers_per_block { get; init; } = 2;
    public int downsample_padding { get; init; } = 1;
    public double mid_block_scale_factor { get; init; } = 1.0;
    public double dropout { get; init; }
    public string act_fn { get; init; } = "silu";
    /// <summary>Groups of every group norm; null means no conv_norm_out (and min(C/4, 32) groups in the mid block).</summary>
    public int? norm_num_groups { get; init; } = 32;
    public double norm_eps { get; init; } = 1e-5;
    /// <summary>Channels of encoder_hidden_states (SD-XL: both text encoders' states concatenated), per block or one.</summary>
    public PerBlock<int> cross_attention_dim { get; init; } = 1280;
    /// <summary>Transformer layers in each attention of a block: one number, one per block, or per block a list per layer.</summary>
    public PerBlock<PerBlock<int>> transformer_layers_per_block { get; init; } = new PerBlock<int>(1);
    /// <summary>The up blocks' transformer layers (per block, per layer), for asymmetric UNets; null: the reverse of the above.</summary>
    public PerBlock<PerBlock<int>>? reverse_transformer_layers_per_block { get; init; }
    public int? encoder_hid_dim { get; init; }
    public string? encoder_hid_dim_type { get; init; }
    /// <summary>Despite the name, the number of heads when <see cref="num_attention_heads"/> is null (diffusers issue 2011).</summary>
    public PerBlock<int>? attention_head_dim { get; init; } = 8;
    public PerBlock<int>? num_attention_heads { get; init; }
    public bool dual_cross_attention { get; init; }
    public bool use_linear_projection { get; init; }
    public string? class_embed_type { get; init; }
    /// <summary>"text_time" for SD-XL: pooled text embeds and micro-conditioning time ids add to the time embedding.</summary>
    public string? addition_embed_type { get; init; }
    /// <summary>Sinusoidal channels per SD-XL time id (6 ids → 6 · this channels).</summary>
    public int? addition_time_embed_dim { get; init; }
    public int? num_class_embeds { get; init; }
    /// <summary>Only affects the classic (non-SDPA) attention path in diffusers; SDPA ignores it, as do we.</summary>
    public bool upcast_attention { get; init; }
    public string resnet_time_scale_shift { get; init; } = "default";
    public bool resnet_skip_time_act { get; init; }
    public double resnet_out_scale_factor { get; init; } = 1.0;
    public string time_embedding_type { get; init; } = "positional";
    public int? time_embedding_dim { get; init; }
    public string? time_embedding_act_fn { get; init; }
    public string? timestep_post_act { get; init; }
    public int? time_cond_proj_dim { get; init; }
    public int conv_in_kernel { get; init; } = 3;
    public int conv_out_kernel { get; init; } = 3;
    /// <summary>Input width of add_embedding: pooled text embeds + 6 · addition_time_embed_dim for SD-XL.</summary>
    public int? projection_class_embeddings_input_dim { get; init; }
    public string attention_type { get; init; } = "default";
    public bool class_embeddings_concat { get; init; }
    public bool? mid_block_only_cross_attention { get; init; }
    public string? cross_attention_norm { get; init; }
    public int addition_embed_type_num_heads { get; init; } = 64;

    /// <summary>Number of down (and up) blocks.</summary>
    public int BlockCount => down_block_types.Length;

    /// <summary>Attention heads per down block: num_attention_heads, or else attention_head_dim (the diffusers quirk
    /// above). Up blocks use this list reversed; the mid block uses the last entry.</summary>
    public int[] HeadsPerBlock() =>
        (num_attention_heads ?? attention_head_dim ?? throw new InvalidDataException("config has neither num_attention_heads nor attention_head_dim"))
        .Expand(BlockCount, num_attention_heads is null ? "attention_head_dim" : "num_attention_heads");

    /// <summary>Time embedding width: time_embedding_dim or 4 · block_out_channels[0].</summary>
    public int TimeEmbedDim => time_embedding_dim ?? block_out_channels[0] * 4;

    /// <summary>Fails, naming the setting, on configs this implementation does not cover.</summary>
    public void Validate()
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new NotSupportedException($"UNet2DConditionModel: {what} is not supported");
        }
        Require(time_embedding_type == "positional", $"time_embedding_type '{time_embedding_type}'");
        Require(class_embed_type is null && num_class_embeds is null, "class embeddings");
        Require(addition_embed_type is null or "text_time", $"addition_embed_type '{addition_embed_type}'");
        Require(encoder_hid_dim is null && encoder_hid_dim_type is null, "encoder_hid_proj");
        Require(resnet_time_scale_shift == "default", $"resnet_time_scale_shift '{resnet_time_scale_shift}'");
        Require(!dual_cross_attention, "dual_cross_attention");
        Require(attention_type == "default", $"attention_type '{attention_type}'");
        Require(time_cond_proj_dim is null, "time_cond_proj_dim");
        Require(!class_embeddings_concat, "class_embeddings_concat");
        Require(cross_attention_norm is null, $"cross_attention_norm '{cross_attention_norm}'");
        Require(mid_block_type is null or "UNetMidBlock2DCrossAttn", $"mid_block_type '{mid_block_type}'");
        foreach (var t in down_block_types) Require(t is "DownBlock2D" or "CrossAttnDownBlock2D", $"down block type '{t}'");
        foreach (var t in up_block_types) Require(t is "UpBlock2D" or "CrossAttnUpBlock2D", $"up block type '{t}'");
        if (up_block_types.Length != BlockCount || block_out_channels.Length != BlockCount)
            throw new InvalidDataException($"config has {BlockCount} down blocks, {up_block_types.Length} up blocks and {block_out_channels.Length} block_out_channels");
        if (addition_embed_type == "text_time" && (addition_time_embed_dim is null || projection_class_embeddings_input_dim is null))
            throw new InvalidDataException("addition_embed_type 'text_time' needs addition_time_embed_dim and projection_class_embeddings_input_dim");
    }
}

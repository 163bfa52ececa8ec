using TLoRA.Engine.Common;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using Activations = TLoRA.Engine.Common.Activations;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Unet;

/// <summary>
/// diffusers' <c>UNet2DConditionModel</c> as SD and SD-XL use it: sinusoidal time embedding (+ SD-XL's "text_time"
/// <c>add_embedding</c> of pooled text embeds and time ids) → conv_in → down blocks (keeping skip tensors) → mid block →
/// up blocks (consuming them) → conv_norm_out → act → conv_out. Every size comes from
/// <see cref="UNet2DConditionModelConfig"/>; field names are the checkpoint's keys. Autograd flows through everything,
/// so adapters attached with <see cref="Attention.SetAdapter"/> train through it.
/// </summary>
public sealed class UNet2DConditionModel : Module<UNet2DConditionInput, Tensor>
{
    public readonly Conv2d conv_in;
    public readonly Timesteps time_proj;
    public readonly TimestepEmbedding time_embedding;
    /// <summary>SD-XL: sinusoidal embedding of each time id (addition_time_embed_dim channels each).</summary>
    public readonly Timesteps? add_time_proj;
    /// <summary>SD-XL: embedding of [text_embeds, add_time_proj(time_ids)], added to the time embedding.</summary>
    public readonly TimestepEmbedding? add_embedding;
    public readonly ModuleList<UNetDownBlock> down_blocks;
    public readonly ModuleList<UNetUpBlock> up_blocks;
    public readonly UNetMidBlock2DCrossAttn? mid_block;
    public readonly GroupNorm? conv_norm_out;
    public readonly Conv2d conv_out;

    /// <summary>Builds the model described by <paramref name="config"/> with freshly initialised parameters.</summary>
    public UNet2DConditionModel(UNet2DConditionModelConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(UNet2DConditionModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.config = config;
        var n = config.BlockCount;
        var channels = config.block_out_channels;
        var act = Activations.Check(config.act_fn);
        var heads = config.HeadsPerBlock();
        var crossDims = config.cross_attention_dim.Expand(n, "cross_attention_dim");
        var layers = config.layers_per_block.Expand(n, "layers_per_block");
        var onlyCross = config.only_cross_attention.Expand(n, "only_cross_attention");
        var transformerLayers = config.transformer_layers_per_block.Expand(n, "transformer_layers_per_block");
        var upTransformerLayers = config.reverse_transformer_layers_per_block?.Expand(n, "reverse_transformer_layers_per_block")
                                  ?? transformerLayers.Reverse().ToArray();
        var groups = config.norm_num_groups ?? throw new NotSupportedException("UNet2DConditionModel: norm_num_groups null is not supported");
        var eps = config.norm_eps;
        var temb = config.TimeEmbedDim;

        conv_in = Conv2d(config.in_channels, channels[0], config.conv_in_kernel, 1, (config.conv_in_kernel - 1) / 2, device: device, dtype: dtype);
        time_proj = new Timesteps(channels[0], config.flip_sin_to_cos, config.freq_shift);
        time_embedding = new TimestepEmbedding(channels[0], temb, act, null, config.timestep_post_act, device: device, dtype: dtype);
        if (config.addition_embed_type == "text_time")
        {
            add_time_proj = new Timesteps(config.addition_time_embed_dim!.Value, config.flip_sin_to_cos, config.freq_shift);
            add_embedding = new TimestepEmbedding(config.projection_class_embeddings_input_dim!.Value, temb, act, device: device, dtype: dtype);
        }

        var down = new List<UNetDownBlock>();
        for (var i = 0; i < n; i++)
        {
            var input = i == 0 ? channels[0] : channels[i - 1];
            var last = i == n - 1;
            down.Add(config.down_block_types[i] == "CrossAttnDownBlock2D"
                ? new CrossAttnDownBlock2D(input, channels[i], temb, layers[i], transformerLayers[i], heads[i], crossDims[i], eps, act, groups,
                    config.resnet_out_scale_factor, !last, config.downsample_padding, config.use_linear_projection, onlyCross[i], config.dropout,
                    config.resnet_skip_time_act, device: device, dtype: dtype)
                : new DownBlock2D(input, channels[i], temb, layers[i], eps, act, groups, config.resnet_out_scale_factor, !last,
                    config.downsample_padding, config.dropout, config.resnet_skip_time_act, device: device, dtype: dtype));
        }
        down_blocks = new ModuleList<UNetDownBlock>(down.ToArray());

        // diffusers passes norm_num_groups and mid_block_scale_factor to the mid block; one (attention, resnet) pair.
        if (config.mid_block_type is not null)
            mid_block = new UNetMidBlock2DCrossAttn(channels[^1], temb, 1, transformerLayers[^1], heads[^1], crossDims[^1], eps, act, groups,
                config.mid_block_scale_factor, config.use_linear_projection, config.dropout, config.resnet_skip_time_act, device: device, dtype: dtype);

        var up = new List<UNetUpBlock>();
        var rChannels = channels.Reverse().ToArray();
        var rHeads = heads.Reverse().ToArray();
        var rLayers = layers.Reverse().ToArray();
        var rCross = crossDims.Reverse().ToArray();
        var rOnlyCross = onlyCross.Reverse().ToArray();
        for (var i = 0; i < n; i++)
        {
            var prev = i == 0 ? rChannels[0] : rChannels[i - 1];
            var input = rChannels[Math.Min(i + 1, n - 1)];
            var last = i == n - 1;
            up.Add(config.up_block_types[i] == "CrossAttnUpBlock2D"
                ? new CrossAttnUpBlock2D(input, prev, rChannels[i], temb, rLayers[i] + 1, upTransformerLayers[i], rHeads[i], rCross[i], eps, act,
                    groups, config.resnet_out_scale_factor, !last, config.use_linear_projection, rOnlyCross[i], config.dropout,
                    config.resnet_skip_time_act, device: device, dtype: dtype)
                : new UpBlock2D(input, prev, rChannels[i], temb, rLayers[i] + 1, eps, act, groups, config.resnet_out_scale_factor, !last,
                    config.dropout, config.resnet_skip_time_act, device: device, dtype: dtype));
        }
        up_blocks = new ModuleList<UNetUpBlock>(up.ToArray());

        conv_norm_out = Layers.GroupNorm(groups, channels[0], eps, true, device: device, dtype: dtype);
        conv_out = Conv2d(channels[0], config.out_channels, config.conv_out_kernel, 1, (config.conv_out_kernel - 1) / 2, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The config the model was built from.</summary>
    public UNet2DConditionModelConfig config { get; }

    /// <summary>Reads <paramref name="componentFolder"/>/config.json, builds the model and loads its weights (strict:
    /// any missing, unexpected or mis-shaped key fails, naming it), converting them to <paramref name="dtype"/>.</summary>
    public static UNet2DConditionModel Load(string componentFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    =>
        CheckpointLoader.BuildAndLoad<UNet2DConditionModelConfig, UNet2DConditionModel>(componentFolder, (c, d) => new(c, device: d, dtype: dtype), device);

    /// <summary>Every attention layer with its module path ("down_blocks.1.attentions.0.transformer_blocks.0.attn1"),
    /// where T-LoRA adapters attach.</summary>
    public IEnumerable<(string name, Attention attention)> attention_layers() =>
        named_modules().Where(m => m.module is Attention).Select(m => (m.name, (Attention)m.module));

    /// <summary>Predicts the noise (or whatever the model was trained on) for <paramref name="sample"/>.</summary>
    public Tensor forward(Tensor sample, Tensor timestep, Tensor encoder_hidden_states, Tensor? text_embeds = null, Tensor? time_ids = null) =>
        forward(new UNet2DConditionInput(sample, timestep, encoder_hidden_states, text_embeds, time_ids));

    /// <summary>Predicts the noise (B, out_channels, H, W) for the given inputs; a fresh tensor in the caller's scope.</summary>
    public override Tensor forward(UNet2DConditionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var sample = input.sample;
        // diffusers forwards the skip tensors' sizes to the upsamplers when H or W is not a multiple of 2^upsamplers.
        var upFactor = 1L << (up_blocks.Count - 1);
        var forwardUpsampleSize = sample.shape[^2..].Any(d => d % upFactor != 0);
        if (config.center_input_sample) sample = Sc(2L) * sample - Sc(1.0);

        var emb = time_embedding.call(TimeEmbedInput(sample, input.timestep));
        if (add_embedding is not null) emb = emb.Plus(AugEmbedding(emb, input.text_embeds, input.time_ids));
        if (config.time_embedding_act_fn is { } embAct) emb = Activations.Apply(embAct, emb);
        var context = input.encoder_hidden_states;

        var h = conv_in.Convolve(sample);
        var skips = new List<Tensor> { h };
        foreach (var block in down_blocks)
        {
            var (next, outputs) = block.forward(h, emb, context);
            h = next;
            skips.AddRange(outputs);
        }
        if (mid_block is not null) h = mid_block.forward(h, emb, context);

        for (var i = 0; i < up_blocks.Count; i++)
        {
            var block = up_blocks[i];
            var res = skips.GetRange(skips.Count - block.ResnetCount, block.ResnetCount);
            skips.RemoveRange(skips.Count - block.ResnetCount, block.ResnetCount);
            (long, long)? upsampleSize = forwardUpsampleSize && i < up_blocks.Count - 1 ? (skips[^1].size(2), skips[^1].size(3)) : null;
            h = block.forward(h, res, emb, context, upsampleSize);
        }

        if (conv_norm_out is not null) h = Activations.Apply(config.act_fn, conv_norm_out.call(h));
        return conv_out.Convolve(h).MoveToOuterDisposeScope();
    }

    /// <summary>diffusers' get_time_embed: timesteps broadcast to the batch, embedded in float32, cast to the sample's dtype.</summary>
    private Tensor TimeEmbedInput(Tensor sample, Tensor timestep)
    {
        var t = timestep.dim() == 0 ? timestep.unsqueeze(0) : timestep;
        if (t.dim() != 1) throw new ArgumentException($"timestep must have shape [] or [B], got [{string.Join(", ", timestep.shape)}]");
        if (t.device != sample.device) t = t.to(sample.device);
        t = t.expand(sample.size(0));
        return time_proj.call(t).to(sample.dtype);
    }

    /// <summary>SD-XL's "text_time" addition: add_embedding([text_embeds, add_time_proj(time_ids) per sample]).</summary>
    private Tensor AugEmbedding(Tensor emb, Tensor? textEmbeds, Tensor? timeIds)
    {
        if (textEmbeds is null || timeIds is null)
            throw new ArgumentException("this UNet's addition_embed_type is 'text_time': text_embeds and time_ids are required");
        var timeEmbeds = add_time_proj!.call(timeIds.flatten()).reshape(textEmbeds.size(0), -1);
        var addEmbeds = torch.cat([textEmbeds, timeEmbeds], -1).to(emb.dtype);
        return add_embedding!.call(addEmbeds);
    }
}

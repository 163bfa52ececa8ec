using TLoRA.Engine.IO;
using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Unet;

/// <summary>Config shapes other than the fixture's: SD 1.x style scalars, per-layer transformer depths, unsupported options.</summary>
public sealed class UNet2DConditionModelConfigTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private UNet2DConditionModelConfig Parse(string json)
    {
        File.WriteAllText(dir.File("config.json"), json);
        return ConfigJson.LoadComponent<UNet2DConditionModelConfig>(dir.Path);
    }

    // SD 1.x layout in miniature: scalar attention_head_dim (= heads), conv projections, no add_embedding.
    private const string Sd1Style = """
        {"_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": 4, "out_channels": 4,
         "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
         "block_out_channels": [16, 32], "layers_per_block": 1, "norm_num_groups": 4, "cross_attention_dim": 12,
         "attention_head_dim": 2, "use_linear_projection": false}
        """;

    [Fact]
    public void Scalar_settings_build_an_sd1_style_unet_that_runs()
    {
        var config = Parse(Sd1Style);
        Assert.False(config.attention_head_dim!.IsList);
        Assert.Equal([2, 2], config.HeadsPerBlock());
        Assert.Equal(1, config.transformer_layers_per_block[0][0]);
        using var unet = new UNet2DConditionModel(config);
        Assert.Null(unet.add_embedding);
        var attention = ((CrossAttnDownBlock2D)unet.down_blocks[0]).attentions[0];
        Assert.False(attention.use_linear_projection);
        Assert.Equal(2, attention.transformer_blocks[0].attn2!.heads);
        Assert.Equal([16, 12], attention.transformer_blocks[0].attn2!.to_k.weight.shape);
        Assert.Equal(64, unet.time_embedding.linear_1.out_features); // 4 · block_out_channels[0]
        using var scope = torch.NewDisposeScope();
        var prediction = unet.forward(torch.randn([2, 4, 8, 8]), torch.tensor(new long[] { 3, 900 }), torch.randn([2, 5, 12]));
        Assert.Equal(new long[] { 2, 4, 8, 8 }, prediction.shape);
    }

    [Fact]
    public void Per_layer_transformer_depths_and_their_explicit_reverse_are_honoured()
    {
        var config = Parse(Sd1Style
            .Replace("\"layers_per_block\": 1", "\"layers_per_block\": 2")
            .Replace("\"use_linear_projection\": false", "\"use_linear_projection\": true, \"transformer_layers_per_block\": [[1, 3], 1], " +
                     "\"reverse_transformer_layers_per_block\": [[1, 1, 1], [2, 1, 4]]"));
        using var unet = new UNet2DConditionModel(config);
        var down = (CrossAttnDownBlock2D)unet.down_blocks[0];
        Assert.Equal([1, 3], down.attentions.Select(a => a.transformer_blocks.Count));
        var up = (CrossAttnUpBlock2D)unet.up_blocks[1];
        Assert.Equal([2, 1, 4], up.attentions.Select(a => a.transformer_blocks.Count));
        Assert.Single(unet.mid_block!.attentions[0].transformer_blocks);
    }

    [Theory]
    [InlineData("\"resnet_time_scale_shift\": \"scale_shift\"", "resnet_time_scale_shift")]
    [InlineData("\"class_embed_type\": \"timestep\"", "class embeddings")]
    [InlineData("\"addition_embed_type\": \"text\"", "addition_embed_type")]
    public void Unsupported_options_fail_by_name(string setting, string expected)
    {
        var config = Parse(Sd1Style.Replace("\"sample_size\": 8", setting));
        var e = Assert.Throws<NotSupportedException>(() => new UNet2DConditionModel(config).Dispose());
        Assert.Contains(expected, e.Message);
    }
}

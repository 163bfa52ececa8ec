using System.Globalization;
using TLoRA.Engine.T5;
using TLoRA.Engine.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.T5;

/// <summary>FLUX's T5 encoder (text_encoder_2) against the reference outputs: ids, every block, the position bias.</summary>
public sealed class T5ParityTests(ITestOutputHelper output)
{
    [Fact]
    public void Tokenizer_gives_the_reference_ids_for_the_prompt()
    {
        using var scope = torch.NewDisposeScope();
        var (prompt, length) = T5Fixture.Sample();
        var expected = FluxReferenceOutputs.Read("text.t5_ids");
        Assert.Equal([1, length], expected.shape);
        Assert.Equal(expected.ToArray<long>(), T5Tokenizer.Load(T5Fixture.Tokenizer2).Encode(prompt, length));
    }

    [Fact]
    public void Last_hidden_state_every_block_and_the_position_bias_match()
    {
        using var model = T5EncoderModel.Load(T5Fixture.TextEncoder2);
        using var scope = torch.NewDisposeScope();
        using var result = model.forward(FluxReferenceOutputs.Read("text.t5_ids"), output_hidden_states: true);
        Assert.Equal(model.config.NumLayers + 1, result.hidden_states!.Count);
        Report(Parity.AssertClose(FluxReferenceOutputs.Read("text.t5_embeddings"), result.hidden_states[0], name: "text.t5_embeddings"));
        for (var i = 0; i < model.config.NumLayers; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"text.t5_block{i}");
            Report(Parity.AssertClose(FluxReferenceOutputs.Read(name), result.hidden_states[i + 1], name: name));
        }
        Report(Parity.AssertClose(FluxReferenceOutputs.Read("text.t5_position_bias"), result.position_bias!, name: "text.t5_position_bias"));
        Report(Parity.AssertClose(FluxReferenceOutputs.Read("text.t5_last_hidden_state"), result.last_hidden_state, name: "text.t5_last_hidden_state"));

        using var plain = model.call(FluxReferenceOutputs.Read("text.t5_ids"));
        Assert.Null(plain.hidden_states);
        Assert.Null(plain.position_bias);
        Parity.AssertClose(result.last_hidden_state, plain.last_hidden_state, rel: 0, abs: 0, name: "without hidden states");
    }

    [Fact]
    public void Compute_bias_of_block_0_is_the_reference_position_bias()
    {
        using var model = T5EncoderModel.Load(T5Fixture.TextEncoder2);
        using var scope = torch.NewDisposeScope();
        var expected = FluxReferenceOutputs.Read("text.t5_position_bias");
        var attention = model.encoder.block[0].self_attention.SelfAttention;
        Report(Parity.AssertClose(expected, attention.compute_bias(expected.size(2), expected.size(3)), name: "compute_bias"));
        Assert.All(model.encoder.block.Skip(1), b => Assert.Null(b.self_attention.SelfAttention.relative_attention_bias));
    }

    [Fact]
    public void Relative_position_buckets_match_exactly()
    {
        var config = Config();
        using var scope = torch.NewDisposeScope();
        var positions = FluxReferenceOutputs.Read("t5.relative_position");
        var expected = FluxReferenceOutputs.Read("t5.relative_position_bucket");
        var actual = T5Attention.RelativePositionBucket(positions, bidirectional: true, config.RelativeAttentionNumBuckets, config.RelativeAttentionMaxDistance);
        Assert.Equal(ScalarType.Int64, actual.dtype);
        Assert.Equal(expected.ToArray<long>(), actual.ToArray<long>());
        var p = positions.ToArray<long>();
        output.WriteLine($"t5.relative_position_bucket: {p.Length} positions {p.Min()}..{p.Max()}, exact");
    }

    [Fact]
    public void A_batch_gives_each_row_its_own_result()
    {
        using var model = T5EncoderModel.Load(T5Fixture.TextEncoder2);
        var tokenizer = T5Tokenizer.Load(T5Fixture.Tokenizer2);
        using var scope = torch.NewDisposeScope();
        var ids = FluxReferenceOutputs.Read("text.t5_ids");
        var other = torch.tensor(tokenizer.Encode("", (int)ids.size(1)), 1, ids.size(1));
        using var batch = model.call(torch.cat([other, ids], 0));
        Parity.AssertClose(FluxReferenceOutputs.Read("text.t5_last_hidden_state"), batch.last_hidden_state.narrow(0, 1, 1), name: "batch row 1");
        using var alone = model.call(other);
        Parity.AssertClose(alone.last_hidden_state, batch.last_hidden_state.narrow(0, 0, 1), name: "batch row 0");
    }

    [CudaFact]
    public void Cuda_forward_matches_the_reference()
    {
        using var model = T5EncoderModel.Load(T5Fixture.TextEncoder2, device: new Device(DeviceType.CUDA, 0));
        using var scope = torch.NewDisposeScope();
        using var result = model.forward(FluxReferenceOutputs.Read("text.t5_ids"), output_hidden_states: true);
        Assert.Equal(DeviceType.CUDA, result.last_hidden_state.device.type);
        Report(Parity.AssertClose(FluxReferenceOutputs.Read("text.t5_position_bias"), result.position_bias!, name: "cuda position bias"));
        Report(Parity.AssertClose(FluxReferenceOutputs.Read("text.t5_last_hidden_state"), result.last_hidden_state, name: "cuda last hidden state"));
    }

    private void Report(ParityError e) => output.WriteLine(e.ToString());

    private static T5Config Config() => IO.ConfigJson.LoadComponent<T5Config>(T5Fixture.TextEncoder2);
}

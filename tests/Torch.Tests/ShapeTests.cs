using static TLoRA.Torch.Tests.Check;

namespace TLoRA.Torch.Tests;

public class ShapeTests
{
    [Fact]
    public void View_reshape_permute_transpose_flatten()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.arange(24).view(2, 3, 4);
        Check.Shape(a, 2, 3, 4);
        Check.Shape(a.view(6, -1), 6, 4);
        var p = a.permute(2, 0, 1);
        Check.Shape(p, 4, 2, 3);
        Assert.Equal(new long[] { 0, 4, 8, 12, 16, 20 }, p.select(0, 0).ToArray<long>());
        Assert.Equal(13L, a.transpose(0, 2).select(0, 1).select(0, 0).select(0, 1).item<long>());
        Assert.Throws<TorchException>(() => p.view(24));
        Check.Shape(p.reshape(24), 24);
        Check.Shape(a.flatten(1), 2, 12);
        Check.Shape(a.flatten(), 24);
        Check.Shape(a.unsqueeze(1), 2, 1, 3, 4);
        Check.Shape(a.unsqueeze(1).squeeze(1), 2, 3, 4);
        Check.Shape(torch.zeros(1, 3, 1).squeeze(), 3);
        Check.Shape(torch.zeros(3, 1).expand(3, 5), 3, 5);
        Check.Shape(torch.zeros(2, 3).repeat(2, 1), 4, 3);
        Check.Shape(torch.zeros(2, 3).mT, 3, 2);
        Assert.Equal(new long[] { 0, 0, 1, 1 }, torch.arange(2).repeat_interleave(2, 0).ToArray<long>());
        Assert.Equal(new long[] { 2, 1, 0 }, torch.arange(3).flip(0).ToArray<long>());
    }

    [Fact]
    public void Cat_stack_chunk_split()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 2, 3, 4], 2, 2);
        var b = T([5, 6], 1, 2);
        Close([1, 2, 3, 4, 5, 6], torch.cat([a, b], 0));
        Check.Shape(torch.cat([a, a], 1), 2, 4);
        Check.Shape(torch.stack([a, a, a], 1), 2, 3, 2);
        var x = torch.arange(10);
        var chunks = x.chunk(3);
        Assert.Equal(new long[] { 4, 4, 2 }, chunks.Select(c => c.numel()).ToArray());
        Assert.Equal(new long[] { 8, 9 }, chunks[2].ToArray<long>());
        var pieces = x.split(4);
        Assert.Equal(new long[] { 4, 4, 2 }, pieces.Select(c => c.numel()).ToArray());
        var sized = x.split([2, 3, 5]);
        Assert.Equal(new long[] { 2, 3, 4 }, sized[1].ToArray<long>());
        Assert.Throws<TorchException>(() => x.split([2, 3]));
        Assert.Throws<TorchException>(() => torch.cat([a, torch.zeros(1, 3)], 0));
    }

    [Fact]
    public void Slicing_and_indexing()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.arange(12).view(3, 4);
        Assert.Equal(new long[] { 4, 5, 6, 7, 8, 9, 10, 11 }, a.slice(0, 1, 3).ToArray<long>());
        Assert.Equal(new long[] { 1, 3, 5, 7, 9, 11 }, a.slice(1, 1, long.MaxValue, 2).ToArray<long>());
        Assert.Equal(new long[] { 3, 7, 11 }, a.slice(1, -1, long.MaxValue).ToArray<long>());
        Assert.Equal(new long[] { 1, 2, 5, 6, 9, 10 }, a.narrow(1, 1, 2).ToArray<long>());
        Assert.Equal(new long[] { 8, 9, 10, 11, 0, 1, 2, 3 }, a.index_select(0, torch.tensor(new long[] { 2, 0 })).ToArray<long>());
        var idx = torch.tensor(new long[] { 3, 0, 1, 1, 2, 2 }, 3, 2);
        Assert.Equal(new long[] { 3, 0, 5, 5, 10, 10 }, a.gather(1, idx).ToArray<long>());
        var emb = T([0, 0, 1, 1, 2, 2], 3, 2);
        Close([2, 2, 0, 0, 2, 2], torch.nn.functional.embedding(torch.tensor(new long[] { 2, 0, 2 }), emb));
        Assert.Equal(new long[] { 1, 0, 1, 1 }, torch.ones([2, 2], ScalarType.Int64).tril().ToArray<long>());
        Assert.Equal(new long[] { 1, 1, 0, 1 }, torch.ones([2, 2], ScalarType.Int64).triu().ToArray<long>());
        var ex = Assert.Throws<TorchException>(() => a.index_select(0, torch.tensor(new long[] { 7 })));
        Assert.Contains("out of range", ex.Message);
    }

    [Fact]
    public void Conversions_clone_detach_contiguous()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1.7, -2.2], 2);
        Assert.Equal(new long[] { 1, -2 }, a.@long().ToArray<long>());
        Assert.Equal(ScalarType.BFloat16, a.bfloat16().dtype);
        Assert.Equal(ScalarType.Float16, a.half().dtype);
        var c = a.clone();
        c.fill_(0);
        Close([1.7, -2.2], a);
        var d = a.detach();
        d.fill_(1);
        Close([1, 1], a); // detach shares storage
        var t = torch.arange(6).view(2, 3).transpose(0, 1);
        Assert.True(t.contiguous().is_contiguous());
        Assert.Equal(t.ToArray<long>(), t.contiguous().ToArray<long>());
        Assert.Equal(Device.CPU, a.to("cpu").device);
    }
}

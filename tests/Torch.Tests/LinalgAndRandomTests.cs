using static TLoRA.Torch.Tests.Check;

namespace TLoRA.Torch.Tests;

public class LinalgAndRandomTests
{
    [Fact]
    public void Svd_reconstructs_with_orthonormal_factors()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn([6, 4], new Generator(1), ScalarType.Float64);
        var (u, s, vh) = torch.linalg.svd(a, full_matrices: false);
        Check.Shape(u, 6, 4);
        Check.Shape(s, 4);
        Check.Shape(vh, 4, 4);
        Close(a, (u * s.unsqueeze(0)).matmul(vh), 1e-10);
        Close(torch.eye(4, ScalarType.Float64), u.mT.matmul(u), 1e-10);
        Close(torch.eye(4, ScalarType.Float64), vh.matmul(vh.mT), 1e-10);
        var sv = s.ToArray<double>();
        Assert.Equal(sv.OrderByDescending(v => v).ToArray(), sv);
        Assert.All(sv, v => Assert.True(v > 0));
        var (uf, _, _) = torch.linalg.svd(a, full_matrices: true);
        Check.Shape(uf, 6, 6);
        // a known spectrum: diag(3, 2) has singular values 3 and 2
        var (_, s2, _) = torch.linalg.svd(T([0, 2, 3, 0], 2, 2));
        Close([3, 2], s2);
        Assert.Equal(5.0, torch.linalg.vector_norm(T([3, 4], 2)).item(), 5);
    }

    [Fact]
    public void Seeded_generators_reproduce_pytorch_numbers()
    {
        using var scope = torch.NewDisposeScope();
        // torch.Generator().manual_seed(42): randn(4), then rand(2), then randint(0, 10, (5,)) — printed by PyTorch 1.13
        var g = new Generator(42);
        Close([0.33669036626815796, 0.12880940735340118, 0.23446236550807953, 0.23033303022384644], torch.randn([4], g), 1e-6);
        Close([0.9407714605331421, 0.13318592309951782], torch.rand([2], g), 1e-6);
        Assert.Equal(new long[] { 8, 4, 0, 4, 1 }, torch.randint(0, 10, [5], g).ToArray<long>());
        // torch.manual_seed(0); torch.randn(3) = [1.5410, -0.2934, -2.1788]
        torch.manual_seed(0);
        Close([1.5410, -0.2934, -2.1788], torch.randn([3]), 1e-4);
        g.manual_seed(42);
        Close([0.33669036626815796], torch.randn([1], g), 1e-6);
    }

    [Fact]
    public void Random_tensors_have_their_distribution()
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(5);
        var n = torch.randn([20000], g);
        Assert.InRange(n.mean().item(), -0.03, 0.03);
        Assert.InRange(n.var().item(), 0.95, 1.05);
        var u = torch.rand([20000], g);
        Assert.True(u.amin().item() >= 0 && u.amax().item() < 1);
        Assert.InRange(u.mean().item(), 0.48, 0.52);
        var i = torch.randint(3, 7, [1000], g);
        Assert.Equal(3, i.amin().item());
        Assert.Equal(6, i.amax().item());
        var e = torch.empty([10000]).normal_(2, 0.5, g);
        Assert.InRange(e.mean().item(), 1.97, 2.03);
        var f = torch.empty([10000]).uniform_(-1, 1, g);
        Assert.True(f.amin().item() >= -1 && f.amax().item() <= 1);
        Assert.NotEqual(torch.randn([3], new Generator(1)).ToArray<float>(), torch.randn([3], new Generator(2)).ToArray<float>());
    }
}

using static TLoRA.Torch.Tests.Check;

namespace TLoRA.Torch.Tests;

public class ScopeAndErrorTests
{
    [Fact]
    public void Scopes_dispose_what_they_made_and_keep_what_moved_out()
    {
        using var leak = new NoLeak();
        Tensor kept, inner, detached;
        using (var outer = torch.NewDisposeScope())
        {
            using (var scope = torch.NewDisposeScope())
            {
                var a = torch.ones(3);
                inner = a * 2.0;
                kept = (inner + 1.0).MoveToOuterDisposeScope();
                detached = torch.zeros(2).DetachFromDisposeScope();
                Assert.Equal(2, scope.Count);
            }
            Assert.True(inner.IsClosed);
            Assert.False(kept.IsClosed);
            Close([3, 3, 3], kept);
            Assert.Equal(1, outer.Count);
        }
        Assert.True(kept.IsClosed);
        Assert.False(detached.IsClosed);
        detached.Dispose();
    }

    [Fact]
    public void Live_tensor_count_returns_to_baseline_after_a_training_like_loop()
    {
        using var leak = new NoLeak();
        var w = new Parameter(torch.randn([8, 8], new Generator(0)));
        for (var i = 0; i < 5; i++)
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.randn([4, 8]);
            var loss = torch.nn.functional.silu(x.matmul(w)).pow(2).mean();
            loss.backward();
            using (torch.no_grad()) w.add_(w.grad!, -0.01);
            w.grad = null;
        }
        w.Dispose();
    }

    [Fact]
    public void Libtorch_errors_become_exceptions_and_the_process_goes_on()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.ones(3);
        var b = torch.ones(4);
        var ex = Assert.Throws<TorchException>(() => a + b);
        Assert.Contains("must match the size of tensor b", ex.Message);
        Assert.DoesNotContain("Exception raised from", ex.Message); // no C++ backtrace
        ex = Assert.Throws<TorchException>(() => torch.ones(2, 3).matmul(torch.ones(2, 3)));
        Assert.Contains("cannot be multiplied", ex.Message);
        Assert.Throws<TorchException>(() => torch.ones(6).view(4, -1));
        Assert.Throws<TorchException>(() => torch.zeros([-1]));
        // the error channel is cleared: later calls succeed and report nothing stale
        Close([2, 2, 2], a + a);
        Assert.Null(torch.ones(1).grad);
    }

    [Fact]
    public void Errors_are_per_thread()
    {
        Exception? other = null;
        var t = new Thread(() =>
        {
            try { using var s = torch.NewDisposeScope(); _ = torch.ones(2) + torch.ones(3); }
            catch (TorchException e) { other = e; }
        });
        t.Start();
        t.Join();
        Assert.IsType<TorchException>(other);
        using var scope = torch.NewDisposeScope();
        Assert.Null(torch.ones(1).grad);
    }

    [Fact]
    public void Using_a_disposed_tensor_is_an_ObjectDisposedException()
    {
        var a = torch.ones(2);
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.sum());
        Assert.Throws<ObjectDisposedException>(() => torch.cat([a], 0));
        Assert.Equal("tensor(disposed)", a.ToString());
    }

    [Fact]
    public void Scopes_must_close_innermost_first()
    {
        var outer = torch.NewDisposeScope();
        var inner = torch.NewDisposeScope();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose();
    }
}

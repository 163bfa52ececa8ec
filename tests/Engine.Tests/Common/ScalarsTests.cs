using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Common;

/// <summary>Scalars held alive across the native call (TorchSharp 0.107's implicit Scalars are not: a garbage
/// collection on another thread can free one while libtorch reads it).</summary>
public sealed class ScalarsTests
{
    [Fact]
    public void Held_scalars_survive_collections_on_another_thread()
    {
        var stop = 0;
        var collector = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        try
        {
            using var x = torch.ones(64);
            for (var i = 0; i < 20_000; i++)
            {
                using var scope = torch.NewDisposeScope();
                var y = (x * Scalars.Sc(0.5)).Plus(Scalars.Sc(0.25)).Plus(x).SubtractedFrom(Scalars.Sc(3.0));
                Assert.Equal(1.25, y[0].ItemDouble()); // 3 − (1·0.5 + 0.25 + 1)
            }
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            collector.Join();
        }
    }

    [Fact]
    public void The_ring_disposes_only_scalars_older_than_its_capacity()
    {
        var first = Scalars.Sc(1.0);
        for (var i = 1; i < Scalars.Capacity; i++) Scalars.Sc((double)i);
        Assert.Equal(ScalarType.Float64, first.Type); // still alive: exactly Capacity scalars held
        Scalars.Sc(2.0);
        Assert.Throws<InvalidOperationException>(() => first.Type); // the oldest was disposed
        Assert.Equal(ScalarType.Int64, Scalars.Sc(3L).Type);
    }
}

using TorchSharp;

namespace TLoRA.Engine.Tests;

/// <summary>Tensors created on this thread and not yet disposed, from TorchSharp's dispose-scope statistics (a leak
/// shows as a count above the baseline taken before the work).</summary>
internal static class LiveTensors
{
    public static long Count => TorchRuntime.LiveTensors;
}

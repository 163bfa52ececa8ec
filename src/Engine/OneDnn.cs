using System.Runtime.InteropServices;

namespace TLoRA.Engine;

/// <summary>
/// libtorch's CPU use of oneDNN (mkldnn), which TorchSharp 0.107 has no switch for (PyTorch's
/// torch.backends.mkldnn.enabled): set through the at::Context functions libtorch_cpu exports. Its convolution
/// backward on the CPU now and then returned NaN gradients from finite inputs (anomaly mode: "Function
/// 'ConvolutionBackward0' returned nan values in its 0th output"), more often when the .NET collector freed tensors at
/// other moments — the signature of a kernel reading memory it never wrote. Measured on one machine: MixedPrecisionTests
/// failed in 8 of 12 runs with oneDNN and 0 of 11 without (on another CPU it never reproduced); bench/Engine.Bench/README.md
/// has the numbers. So every training backward runs without it (<see cref="Backward"/>), while forwards keep it:
/// libtorch picks a convolution's backward kernel when the backward runs, not when its forward ran, and oneDNN's
/// forward convolutions were ~1.7× faster on that machine.
/// <c>TLORA_ONEDNN=1</c> keeps it on in backward too.
/// </summary>
public static class OneDnn
{
    private const string Library = "libtorch_cpu.so";

    private static readonly bool OptedIn = Environment.GetEnvironmentVariable("TLORA_ONEDNN") == "1";
    private static readonly object Gate = new();
    private static int holders;
    private static bool? before;

    /// <summary>Backpropagates from <paramref name="loss"/> with oneDNN off (the one way a training backward runs: an
    /// IL scan in the tests fails on any other caller of backward in the engine).</summary>
    public static void Backward(TorchSharp.torch.Tensor loss)
    {
        using (Off()) loss.backward();
    }

    /// <summary>Turns oneDNN off until the last caller that asked has disposed its handle, then restores what was
    /// set before (backwards may overlap: tests run in parallel). Nothing changes with <c>TLORA_ONEDNN=1</c>.</summary>
    public static IDisposable Off()
    {
        if (OptedIn) return new Release(null);
        lock (Gate)
        {
            if (holders++ == 0)
            {
                before = Enabled;
                Set(false);
            }
        }
        return new Release(Leave);
    }

    private static void Leave()
    {
        lock (Gate)
        {
            if (--holders == 0 && before is { } b) Set(b);
        }
    }

    private sealed class Release(Action? leave) : IDisposable
    {
        private Action? leave = leave;

        public void Dispose() => Interlocked.Exchange(ref leave, null)?.Invoke();
    }

    /// <summary>Whether libtorch may use oneDNN on the CPU now; null where the switch is not reachable (another
    /// platform or a libtorch without these exports).</summary>
    public static bool? Enabled
    {
        get
        {
            try
            {
                return UserEnabledMkldnn(GlobalContext());
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
        }
    }

    /// <summary>Turns oneDNN on or off for the whole process; false where the switch is not reachable.</summary>
    public static bool Set(bool enabled)
    {
        try
        {
            SetUserEnabledMkldnn(GlobalContext(), enabled);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport(Library, EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport(Library, EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport(Library, EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);
}

using System.Runtime.InteropServices;

namespace TLoRA.Engine;

/// <summary>
/// libtorch's CPU use of oneDNN (mkldnn), which TorchSharp 0.107 has no switch for (PyTorch's
/// torch.backends.mkldnn.enabled): set through the at::Context functions libtorch_cpu exports. The engine turns it off
/// by default: its convolution backward on the CPU now and then returned NaN gradients from finite inputs
/// (anomaly mode: "Function 'ConvolutionBackward0' returned nan values in its 0th output"), more often when the .NET
/// collector freed tensors at other moments — the signature of a kernel reading memory it never wrote. Measured:
/// MixedPrecisionTests failed in 8 of 12 runs with oneDNN and 0 of 11 without; bench/Engine.Bench/README.md has the
/// numbers. Training therefore runs without it (<see cref="ForTraining"/>); sampling keeps it (no backward, and
/// oneDNN's forward convolutions are ~1.7× faster here). <c>TLORA_ONEDNN=1</c> keeps it on in training too.
/// </summary>
public static class OneDnn
{
    private const string Library = "libtorch_cpu.so";

    private static readonly object Gate = new();
    private static int trainings;
    private static bool? before;

    /// <summary>Turns oneDNN off until the last training that asked has disposed its handle, then restores what was
    /// set before (trainings may overlap: tests run in parallel). Nothing changes with <c>TLORA_ONEDNN=1</c>.</summary>
    public static IDisposable ForTraining()
    {
        if (Environment.GetEnvironmentVariable("TLORA_ONEDNN") == "1") return new Release(null);
        lock (Gate)
        {
            if (trainings++ == 0)
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
            if (--trainings == 0 && before is { } b) Set(b);
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

using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TLoRA.Engine;

/// <summary>
/// libtorch's CPU use of oneDNN (mkldnn), which TorchSharp 0.107 has no switch for (PyTorch's
/// torch.backends.mkldnn.enabled): set through the at::Context functions libtorch_cpu exports.
/// <para>oneDNN's CPU convolutions in libtorch 2.10 read memory they never wrote, which turns into NaN outputs whenever
/// that memory holds a NaN or infinity bit pattern (what it holds depends on what was freed last, so it came and went
/// with the .NET collector). Two places, both measured:</para>
/// <para>- Forward, with input channels (per group) not a multiple of 16: after the allocator is filled with NaN and
/// freed, a 3×3 convolution over 24, 36, 40, 56, 72, 100, 120 or 330 channels returned NaN in 83–200 of 200 calls
/// (float32 and bfloat16, stride 1 and 2, 31² to 64² inputs; 4, 8, 16, 32, 48, 64, 80, 96, 160 and 320 channels: 0 of
/// 200; AMD EPYC with AVX-512). So a convolution over such channels runs without oneDNN (<see cref="Convolve"/>; the
/// engine calls every Conv2d through it). SD-XL and FLUX have such channels only in conv_in (3 or 4), which is cheap.</para>
/// <para>- Backward: a training step's convolution backward returned NaN gradients from finite inputs (anomaly mode:
/// "Function 'ConvolutionBackward0' returned nan values in its 0th output"); MixedPrecisionTests failed in 8 of 12 runs
/// with oneDNN and 0 of 11 without on one machine. So every training backward runs without it (<see cref="Backward"/>):
/// libtorch picks a convolution's backward kernel when the backward runs, not when its forward ran.</para>
/// <para>Everything else keeps oneDNN: its forward convolutions were ~1.7× faster. <c>TLORA_ONEDNN=1</c> keeps it on
/// everywhere (to measure; it brings the NaNs back).</para>
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

    /// <summary>The channel block of oneDNN's CPU convolution layouts (16 floats in an AVX-512 register): a convolution
    /// whose input channels per group are not a multiple of it runs without oneDNN (see the class remarks).</summary>
    public const long ChannelBlock = 16;

    /// <summary><paramref name="conv"/>'s forward on <paramref name="input"/>, without oneDNN when its input channels per
    /// group are not a multiple of <see cref="ChannelBlock"/> (oneDNN's forward then read memory it never wrote: NaN
    /// outputs now and then). The one way the engine runs a Conv2d.</summary>
    public static Tensor Convolve(this Conv2d conv, Tensor input)
    {
        if (conv.weight is not { } w || w.size(1) % ChannelBlock == 0 || input.device_type != DeviceType.CPU) return conv.call(input);
        using (Off()) return conv.call(input);
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

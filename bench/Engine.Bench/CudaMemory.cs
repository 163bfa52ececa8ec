using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Bench;

/// <summary>
/// Device memory in use on a CUDA device, read through NVML (libnvidia-ml, installed with every NVIDIA driver):
/// TorchSharp 0.107 exposes none of libtorch's CUDA memory statistics. It is the whole device's use (libtorch's cached
/// blocks and other processes included), so the bench reports the growth over the loaded model, sampled at the step's
/// phase boundaries. Only on a CUDA device; null wherever NVML cannot be loaded.
/// </summary>
internal sealed class CudaMemory
{
    private readonly IntPtr device;

    private CudaMemory(IntPtr device) => this.device = device;

    public static CudaMemory? TryOpen(Device d)
    {
        if (d.type != DeviceType.CUDA) return null;
        try
        {
            if (nvmlInit_v2() != 0) return null;
            return nvmlDeviceGetHandleByIndex_v2((uint)Math.Max(0, d.index), out var handle) == 0 ? new CudaMemory(handle) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>MiB in use on the device now, or null when NVML fails.</summary>
    public double? UsedMiB() => nvmlDeviceGetMemoryInfo(device, out var info) == 0 ? info.Used / 1048576.0 : null;

    [StructLayout(LayoutKind.Sequential)]
    private struct NvmlMemory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [DllImport("libnvidia-ml.so.1")]
    private static extern int nvmlInit_v2();

    [DllImport("libnvidia-ml.so.1")]
    private static extern int nvmlDeviceGetHandleByIndex_v2(uint index, out IntPtr device);

    [DllImport("libnvidia-ml.so.1")]
    private static extern int nvmlDeviceGetMemoryInfo(IntPtr device, out NvmlMemory memory);
}

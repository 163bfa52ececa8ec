using System.Runtime.InteropServices;

namespace TLoRA.GpuService.Service;

/// <summary>
/// The memory of one GPU as the NVIDIA driver reports it (NVML's nvmlDeviceGetMemoryInfo from libnvidia-ml.so.1,
/// which the NVIDIA container runtime mounts into GPU pods). TorchSharp exposes no CUDA allocator statistics, and
/// NVML counts every allocation on the device (libtorch's cache included). Null when there is no driver or device.
/// </summary>
internal sealed class GpuMemory(int deviceIndex)
{
    private const string Nvml = "libnvidia-ml.so.1";
    private readonly Lock gate = new();
    private bool initialised;
    private nint device;

    public (long Used, long Total)? Read()
    {
        lock (gate)
        {
            try
            {
                if (!initialised)
                {
                    if (nvmlInit_v2() != 0 || nvmlDeviceGetHandleByIndex_v2((uint)deviceIndex, out device) != 0) return null;
                    initialised = true;
                }
                return nvmlDeviceGetMemoryInfo(device, out var info) == 0 ? ((long)info.Used, (long)info.Total) : null;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [DllImport(Nvml)]
    private static extern int nvmlInit_v2();

    [DllImport(Nvml)]
    private static extern int nvmlDeviceGetHandleByIndex_v2(uint index, out nint device);

    [DllImport(Nvml)]
    private static extern int nvmlDeviceGetMemoryInfo(nint device, out MemoryInfo memory);
}

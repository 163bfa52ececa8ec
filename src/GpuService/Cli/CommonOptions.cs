using TLoRA.Engine;
using System.CommandLine;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Cli;

/// <summary>Options shared by the verbs that load a model.</summary>
internal sealed class CommonOptions
{
    public readonly Option<DirectoryInfo> Model = new("--model")
    {
        Description = "a diffusers pipeline folder (SD-XL)",
        DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("tests", "fixtures", "sdxl-tiny")),
    };

    public readonly Option<string> Device = new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

    public readonly Option<string> Dtype = new("--dtype")
    {
        Description = "frozen weights' dtype: float32, bfloat16 or float16 (adapters always train in float32)",
        DefaultValueFactory = _ => "float32",
    };

    public void AddTo(Command c)
    {
        c.Options.Add(Model);
        c.Options.Add(Device);
        c.Options.Add(Dtype);
    }

    public static ScalarType ParseDtype(string text) => text.ToLowerInvariant() switch
    {
        "float32" or "fp32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" => ScalarType.Float16,
        _ => throw new ArgumentException($"--dtype must be float32, bfloat16 or float16, not '{text}'"),
    };

    public static Device ParseDevice(string text)
    {
        try
        {
            return TorchRuntime.ParseDevice(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new ArgumentException($"--device {text}: {e.Message}", e);
        }
    }
}

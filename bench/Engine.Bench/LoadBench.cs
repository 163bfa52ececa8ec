using System.Diagnostics;
using TLoRA.Engine.Clip;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TLoRA.Engine.T5;
using TLoRA.Engine.Unet;
using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TLoRA.Engine.Bench;

/// <summary>
/// <c>--load</c>: model loading before and after building on the meta device, in one process, the two ways
/// alternating. Before = what the loaders did until then: build the model on the device (TorchSharp's constructors
/// fill every parameter with random numbers), then copy each checkpoint tensor into place. After =
/// <see cref="CheckpointLoader.BuildAndLoad{TConfig, TModel}(TConfig, ShardedCheckpoint, Func{TConfig, Device, TModel}, Device?, IReadOnlyCollection{string}?)"/>:
/// build on the meta device (no memory, no fill), then make each tensor read the parameter. tiny = the fixtures'
/// components; mid / flux-mid = the bench's mid UNet and FLUX transformer with seeded random weights, saved to a
/// temporary safetensors file first.
/// </summary>
internal static class LoadBench
{
    private sealed record Component(string Config, string Name, string File, Func<Device, ScalarType, Module> Build,
        IReadOnlyCollection<string>? Ignored);

    public static int Run(Options o)
    {
        var device = o.Device;
        var dtype = o.Dtype;
        var reps = o.Quick ? 1 : 5;
        var temp = Directory.CreateTempSubdirectory("tlora-load-bench-").FullName;
        try
        {
            var components = Components(o, temp, device, dtype);
            Console.WriteLine($"Model loading, before (random initialisation + copy) and after (meta device + checkpoint tensors in place)");
            Console.WriteLine($"  device {device}, weights {dtype.ToString().ToLowerInvariant()}, libtorch {TorchRuntime.LibTorchVersion}, " +
                              $"{torch.get_num_threads()} thread(s); {reps} timed loads each way after 1 untimed each, alternating; median [min–max] ms");
            var rows = new List<string[]> { new[] { "config", "component", "params", "file MiB", "before ms", "after ms", "after/before", "of which meta build ms" } };
            var totals = new Dictionary<string, (double Before, double After)>();
            foreach (var c in components)
            {
                var before = new List<double>();
                var after = new List<double>();
                var metaBuild = new List<double>();
                long parameters = 0;
                for (var i = 0; i <= reps; i++)
                {
                    var b = Time(() => Before(c, device, dtype));
                    var a = Time(() => After(c, device, dtype, out parameters));
                    var m = Time(() => MetaBuild(c, dtype));
                    if (i == 0) continue; // warm-up: page cache, JIT
                    before.Add(b);
                    after.Add(a);
                    metaBuild.Add(m);
                }
                var (bm, am) = (Median(before), Median(after));
                totals[c.Config] = totals.TryGetValue(c.Config, out var t) ? (t.Before + bm, t.After + am) : (bm, am);
                rows.Add([c.Config, c.Name, parameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                    $"{new FileInfo(c.File).Length / 1048576.0:0.0}", Cell(before), Cell(after), $"{am / bm:0.00}", $"{Median(metaBuild):0.0}"]);
            }
            foreach (var (config, (b, a)) in totals)
                rows.Add([config, "all (sum of medians)", "", "", $"{b:0.0}", $"{a:0.0}", $"{a / b:0.00}", ""]);
            Table.Print(rows, [false, false, true, true, true, true, true, true]);
            Console.WriteLine("   meta build = constructing the model on the meta device alone (module objects, no tensor memory), part of \"after\".");
            return 0;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    internal static double Time(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static void Before(Component c, Device device, ScalarType dtype)
    {
        using var checkpoint = ShardedCheckpoint.Open(c.File);
        using var model = c.Build(device, dtype);
        CheckpointLoader.Load(model, checkpoint, ignored: c.Ignored);
    }

    private static void After(Component c, Device device, ScalarType dtype, out long parameters)
    {
        using var checkpoint = ShardedCheckpoint.Open(c.File);
        using var model = CheckpointLoader.BuildAndLoad(0, checkpoint, (_, d) => c.Build(d, dtype), device, c.Ignored);
        parameters = model.parameters().Sum(p => p.numel());
    }

    private static void MetaBuild(Component c, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var model = c.Build(ParameterSlots.Meta, dtype);
    }

    private static List<Component> Components(Options o, string temp, Device device, ScalarType dtype)
    {
        var list = new List<Component>();
        var configs = o.SelectedConfigs.ToList();
        if (configs.Contains("tiny")) list.AddRange(Pipeline("tiny", Repository.SdxlTiny));
        if (configs.Contains("flux-tiny")) list.AddRange(Pipeline("flux-tiny", Repository.FluxTiny));
        if (configs.Contains("mid"))
        {
            var config = MidPipeline.Config;
            list.Add(new("mid", "unet (random)", Save(temp, "mid.safetensors", () => new UNet2DConditionModel(config)),
                (d, t) => new UNet2DConditionModel(config, t, d), null));
        }
        if (configs.Contains("flux-mid"))
        {
            var config = FluxMid.Config(Repository.FluxTiny);
            list.Add(new("flux-mid", "transformer (random)", Save(temp, "flux-mid.safetensors", () => new FluxTransformer2DModel(config)),
                (d, t) => new FluxTransformer2DModel(config, t, d), null));
        }
        return list;
    }

    private static string Save(string temp, string name, Func<Module> build)
    {
        torch.manual_seed(0);
        using var model = build();
        var path = Path.Combine(temp, name);
        SafetensorsWriter.Save(path, model.state_dict());
        return path;
    }

    private static IEnumerable<Component> Pipeline(string config, string folder)
    {
        var index = ModelIndex.Load(folder);
        foreach (var part in index.Components)
        {
            var dir = Path.Combine(folder, part.Name);
            string File() { using var c = ShardedCheckpoint.OpenComponent(dir); return c.Path; }
            switch (part.ClassName)
            {
                case "UNet2DConditionModel":
                {
                    var c = ConfigJson.LoadComponent<UNet2DConditionModelConfig>(dir);
                    yield return new(config, part.Name, File(), (d, t) => new UNet2DConditionModel(c, t, d), null);
                    break;
                }
                case "FluxTransformer2DModel":
                {
                    var c = ConfigJson.LoadComponent<FluxTransformer2DModelConfig>(dir);
                    yield return new(config, part.Name, File(), (d, t) => new FluxTransformer2DModel(c, t, d), null);
                    break;
                }
                case "AutoencoderKL":
                {
                    var c = ConfigJson.LoadComponent<AutoencoderKLConfig>(dir);
                    yield return new(config, part.Name, File(), (d, t) => new AutoencoderKL(c, t, d), null);
                    break;
                }
                case "CLIPTextModel":
                {
                    var c = ConfigJson.LoadComponent<CLIPTextConfig>(dir);
                    yield return new(config, part.Name, File(), (d, t) => new CLIPTextModel(c, t, d), CLIPTextEmbeddings.IgnoredCheckpointKeys);
                    break;
                }
                case "CLIPTextModelWithProjection":
                {
                    var c = ConfigJson.LoadComponent<CLIPTextConfig>(dir);
                    yield return new(config, part.Name, File(), (d, t) => new CLIPTextModelWithProjection(c, t, d), CLIPTextEmbeddings.IgnoredCheckpointKeys);
                    break;
                }
                case "T5EncoderModel":
                {
                    var c = ConfigJson.LoadComponent<T5Config>(dir);
                    yield return new(config, part.Name, File(), (d, t) => new T5EncoderModel(c, t, d), T5EncoderModel.IgnoredCheckpointKeys);
                    break;
                }
            }
        }
    }

    internal static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    internal static string Cell(List<double> v) => $"{Median(v):0.0} [{v.Min():0.0}–{v.Max():0.0}]";
}

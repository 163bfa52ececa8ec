using TLoRA.Engine.Adapters;
using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Bench;

/// <summary>
/// <c>--adapters mid|sdxl</c>: what making and loading a T-LoRA adapter costs, on a UNet built on the meta device (the
/// adapters are real CPU tensors; the UNet only gives their shapes). mid = the bench's mid UNet (rank 16); sdxl = SD-XL
/// base 1.0's UNet config (rank 64, 560 projections up to 1280 × 2048): minutes per column on one thread, so one
/// repetition. Columns: each projection initialised by its own constructor, one after another (how
/// <see cref="AdapterNetwork.Attach(nn.Module, AdapterSpec, Generator?, Device?, CancellationToken)"/> did it until 2026-12-06);
/// Attach as now (the same random draws in order, the SVDs on several threads); <see cref="AdapterFile.Load"/> (no
/// initialisation since 2026-12-06: before, a load cost an Attach plus the copy); <see cref="AdapterFile.ReadProcessors"/>
/// (InspectAdapter).
/// </summary>
internal static class AdapterBench
{
    /// <summary>SD-XL base 1.0's UNet config (diffusers' unet/config.json), for the adapters' shapes only: the mid
    /// config at full width.</summary>
    private static UNet2DConditionModelConfig SdxlConfig => MidPipeline.Config with
    {
        sample_size = 128,
        block_out_channels = [320, 640, 1280],
        cross_attention_dim = 2048,
        norm_num_groups = 32,
        addition_time_embed_dim = 256,
        projection_class_embeddings_input_dim = 2816,
    };

    public static int Run(Options o)
    {
        var sdxl = o.AdapterConfig == "sdxl";
        var rank = o.Rank ?? (sdxl ? 64 : 16);
        var reps = sdxl || o.Quick ? 1 : 3;
        var spec = new AdapterSpec(AdapterMethod.TLoRA, rank, Math.Max(1, rank / 2));
        using var unet = new UNet2DConditionModel(sdxl ? SdxlConfig : MidPipeline.Config, device: new Device(DeviceType.META));
        var temp = Directory.CreateTempSubdirectory("tlora-adapter-bench-").FullName;
        var file = Path.Combine(temp, "adapter.safetensors");
        try
        {
            var projections = unet.named_modules().Select(m => m.module).OfType<IAdaptableAttention>()
                .SelectMany(a => spec.TargetProjections.Where(a.AdaptableProjections.ContainsKey).Select(p => a.AdaptableProjections[p]))
                .ToList();
            Console.WriteLine($"T-LoRA adapter: make and load ({o.AdapterConfig}: {projections.Count} projections, rank {rank}, init {spec.Init}); " +
                              $"libtorch {TorchRuntime.LibTorchVersion}, {torch.get_num_threads()} intra-op thread(s), " +
                              $"{Environment.ProcessorCount} cores; {reps} repetition(s), median [min–max] ms");
            var oneByOne = new List<double>();
            var attach = new List<double>();
            var load = new List<double>();
            var inspect = new List<double>();
            for (var i = 0; i < reps; i++)
            {
                oneByOne.Add(LoadBench.Time(() =>
                {
                    var generator = new Generator(0);
                    foreach (var (inF, outF) in projections)
                        new OrthogonalLoRALinearLayer(inF, outF, (int)Math.Min(rank, Math.Min(inF, outF)), spec.Init, generator).Dispose();
                }));
                AdapterNetwork? made = null;
                attach.Add(LoadBench.Time(() => made = AdapterNetwork.Attach(unet, spec, new Generator(0))));
                using (made)
                    if (!File.Exists(file)) made!.Save(file, new AdapterMetadata("bench")); // untimed
                load.Add(LoadBench.Time(() => AdapterFile.Load(unet, file).Dispose()));
                inspect.Add(LoadBench.Time(() =>
                {
                    foreach (var (_, p) in AdapterFile.ReadProcessors(file)) p.Dispose();
                }));
            }
            Console.WriteLine($"  file {new FileInfo(file).Length / 1048576.0:0.0} MiB");
            Console.WriteLine($"  initialise one by one (before)            {LoadBench.Cell(oneByOne)}");
            Console.WriteLine($"  Attach, SVDs on {TorchRuntime.InitialisationWorkers} thread(s) (now)          {LoadBench.Cell(attach)}   (one by one / Attach: {LoadBench.Median(oneByOne) / LoadBench.Median(attach):0.00}×)");
            Console.WriteLine($"  AdapterFile.Load, no initialisation (now) {LoadBench.Cell(load)}   (before: an Attach one by one + this)");
            Console.WriteLine($"  AdapterFile.ReadProcessors (now)          {LoadBench.Cell(inspect)}");
            return 0;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }
}

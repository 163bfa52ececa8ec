using System.Diagnostics;
using System.Text.Json;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Training;

/// <summary>
/// The training loop: attach adapters, encode the concept once, then per step draw (t, noise), MSE loss, AdamW step,
/// progress event; every CheckpointInterval steps save adapter + optimiser state + previews under
/// checkpoints/step-NNNNNN/. Each step's randomness is a function of (seed, step), so a run resumed from a checkpoint
/// continues exactly as it would have. Cancellation is checked between steps; what was saved stays.
/// Runs on the calling thread (the engine thread); events are yielded as they happen.
/// </summary>
public sealed class AdapterTrainer(IDiffusionPipeline pipeline, TrainingOptions options, string outputDirectory)
{
    public const string AdapterFileName = "adapter.safetensors";
    public const string OptimizerFileName = "optimizer.safetensors";
    public const string StateFileName = "state.json";

    /// <summary>Trains, yielding events as they happen. <paramref name="previewProgress"/> hears the denoising steps of
    /// the previews rendered at each checkpoint (between the checkpoint's step event and its checkpoint event);
    /// <paramref name="initialisation"/> hears T-LoRA's initialisation of the adapter, before TrainStarted (not on a
    /// resume, which loads the adapter instead).</summary>
    public IEnumerable<TrainEvent> Run(ConceptImage image, string? resumeFrom = null, CancellationToken cancellation = default,
        IProgress<SampleProgress>? previewProgress = null, IProgress<InitialisationProgress>? initialisation = null)
    {
        options.Validate();
        if (options.Resolution % pipeline.ResolutionMultiple != 0)
            throw new ArgumentException($"Resolution must be a multiple of {pipeline.ResolutionMultiple} for {pipeline.Name}, got {options.Resolution}", nameof(options));
        Directory.CreateDirectory(outputDirectory);
        var spec = options.ToSpec(pipeline.ScheduleKind, pipeline.AdapterProjections);
        using var network = resumeFrom is null
            ? AdapterNetwork.Attach(pipeline.Denoiser, spec, new Generator(options.Seed), pipeline.Device, cancellation, initialisation)
            : AdapterNetwork.AttachForLoading(pipeline.Denoiser, spec, pipeline.Device); // Resume fills every weight
        using var checkpointing = new CheckpointingScope(pipeline.Denoiser, options.GradientCheckpointing);
        var parameters = network.TrainableParameters;
        using var optimizer = new AdamW(parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        var start = resumeFrom is null ? 0 : Resume(resumeFrom, network, optimizer);
        using var example = pipeline.PrepareTraining(image, options.TrainingPrompt);
        yield return new TrainStarted(options.Steps, spec, network.Layers.Count, parameters.Sum(p => p.numel()), start);

        var clock = Stopwatch.StartNew();
        var generator = new Generator(options.Seed);
        double loss = double.NaN;
        for (var step = start + 1; step <= options.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            generator.manual_seed(unchecked((long)(options.Seed * 1_000_003UL + (ulong)step)));
            double timestep;
            using (var scope = torch.NewDisposeScope())
            {
                var (l, t) = pipeline.TrainingLoss(example, network, generator);
                timestep = t;
                OneDnn.Backward(l); // oneDNN off: its CPU convolution backward returned NaN now and then
                Common.GradientCheckpoint.ThrowIfFailed();
                if (options.MaxGradNorm is { } max) torch.nn.utils.clip_grad_norm_(parameters, max);
                optimizer.step();
                optimizer.zero_grad();
                loss = l.ItemDouble();
            }
            if (!double.IsFinite(loss)) throw new InvalidOperationException($"training diverged at step {step}: loss is {loss}");
            var done = step - start;
            var rate = done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            yield return new TrainStep(step, options.Steps, loss, timestep, network.Schedule.RankAt(timestep), optimizer.lr, rate,
                TimeSpan.FromSeconds((options.Steps - step) / rate));
            if (options.CheckpointInterval > 0 && step % options.CheckpointInterval == 0 && step < options.Steps)
                yield return SaveCheckpoint(step, network, optimizer, previewProgress, cancellation);
        }
        var final = SaveCheckpoint(options.Steps, network, optimizer, previewProgress, cancellation);
        yield return final;
        var path = Path.Combine(outputDirectory, AdapterFileName);
        File.Copy(final.AdapterPath, path + ".tmp", overwrite: true);
        File.Move(path + ".tmp", path, overwrite: true);
        yield return new TrainCompleted(options.Steps, path, loss, AdapterInspector.Summarise(AdapterInspector.Inspect(network)), clock.Elapsed);
    }

    /// <summary>Writes a checkpoint atomically: everything (adapter, optimiser state, state.json, previews) goes to
    /// "step-NNNNNN.tmp", is flushed to disk, and the folder is then renamed to "step-NNNNNN". A kill at any moment
    /// leaves either no checkpoint or a whole one (a ".tmp" folder is debris, see <see cref="IsCheckpointFolder"/>). A
    /// checkpoint saved again for the same step (a resume from the final one) replaces the old one through a ".old"
    /// rename, so that one of the two is complete at every moment.</summary>
    private TrainCheckpoint SaveCheckpoint(int step, AdapterNetwork network, AdamW optimizer, IProgress<SampleProgress>? progress,
        CancellationToken cancellation)
    {
        var dir = Path.Combine(outputDirectory, "checkpoints", $"step-{step:D6}");
        var temp = dir + TempSuffix;
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        network.Save(Path.Combine(temp, AdapterFileName), new AdapterMetadata(pipeline.Name, options.Trigger, options.ClassWord, step, options.Seed));
        var state = optimizer.state_dict();
        try
        {
            SafetensorsWriter.Save(Path.Combine(temp, OptimizerFileName), state);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
        File.WriteAllText(Path.Combine(temp, StateFileName), JsonSerializer.Serialize(new TrainerState(step, options.Seed)));
        var previews = options.ValidationPrompts.Count == 0 ? [] : Previews(temp, network, progress, cancellation);
        foreach (var file in Directory.EnumerateFiles(temp)) FlushToDisk(file);
        if (Directory.Exists(dir))
        {
            var old = dir + OldSuffix;
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            Directory.Move(dir, old);
            Directory.Move(temp, dir);
            Directory.Delete(old, recursive: true);
        }
        else
        {
            Directory.Move(temp, dir);
        }
        return new TrainCheckpoint(step, dir, Path.Combine(dir, AdapterFileName),
            previews.Select(p => p with { Path = Path.Combine(dir, Path.GetFileName(p.Path)) }).ToList());
    }

    /// <summary>Suffix of a checkpoint folder being written (never a checkpoint).</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>Suffix of a checkpoint folder being replaced by a new save of the same step.</summary>
    public const string OldSuffix = ".old";

    /// <summary>Whether a folder under checkpoints/ is a finished checkpoint ("step-NNNNNN", nothing after).</summary>
    public static bool IsCheckpointFolder(string path) =>
        Path.GetFileName(path) is { Length: 11 } name && name.StartsWith("step-", StringComparison.Ordinal) && name[5..].All(char.IsAsciiDigit);

    private static void FlushToDisk(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.Flush(flushToDisk: true);
    }

    private List<PreviewImage> Previews(string dir, AdapterNetwork network, IProgress<SampleProgress>? progress, CancellationToken cancellation)
    {
        var prompts = options.ValidationPrompts.Select(p => PromptTemplates.Fill(p, options.Trigger, options.ClassWord)).ToList();
        var sample = new SampleOptions(prompts, null, options.PreviewGuidance, options.PreviewSteps, options.Seed, options.Resolution,
            options.Resolution, options.ImagesPerPrompt);
        using var scope = torch.NewDisposeScope();
        Tensor images;
        using (torch.no_grad()) images = pipeline.Sample(sample, network, progress, cancellation);
        var result = new List<PreviewImage>();
        for (var i = 0; i < images.size(0); i++)
        {
            var prompt = prompts[i / options.ImagesPerPrompt];
            var png = ImageSaver.EncodePng(images.select(0, i), PixelRange.ZeroToOne);
            var path = Path.Combine(dir, $"preview-{i / options.ImagesPerPrompt:D2}-{i % options.ImagesPerPrompt}.png");
            ImageSaver.WriteAtomically(path, png);
            result.Add(new PreviewImage(prompt, i % options.ImagesPerPrompt, path, png));
        }
        return result;
    }

    private static int Resume(string checkpointDir, AdapterNetwork network, AdamW optimizer)
    {
        var statePath = Path.Combine(checkpointDir, StateFileName);
        if (!File.Exists(statePath)) throw new FileNotFoundException($"'{checkpointDir}' is not a training checkpoint: it has no {StateFileName}", statePath);
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath))
                    ?? throw new InvalidDataException($"{statePath}: empty");
        using (var adapter = ShardedCheckpoint.Open(Path.Combine(checkpointDir, AdapterFileName))) network.LoadWeights(adapter);
        using var opt = ShardedCheckpoint.Open(Path.Combine(checkpointDir, OptimizerFileName));
        var tensors = opt.ReadAll();
        try
        {
            optimizer.load_state_dict(tensors);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return state.Step;
    }

    private sealed record TrainerState(int Step, ulong Seed);

    /// <summary>Turns the denoiser's gradient checkpointing on for one run and off again after it.</summary>
    private sealed class CheckpointingScope : IDisposable
    {
        private readonly TorchSharp.torch.nn.Module? model;

        public CheckpointingScope(TorchSharp.torch.nn.Module model, bool enabled)
        {
            if (!enabled) return;
            Common.GradientCheckpointing.Set(model, true);
            this.model = model;
        }

        public void Dispose()
        {
            if (model is not null) Common.GradientCheckpointing.Set(model, false);
        }
    }
}

using System.CommandLine;
using Spectre.Console;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Training;

namespace TLoRA.GpuService.Cli;

/// <summary>`tlora train`: T-LoRA (or Vanilla T-LoRA, LoRA) from one image, with a progress bar, checkpoints and previews.</summary>
internal static class TrainCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var common = new CommonOptions();
        var image = new Option<FileInfo>("--image") { Description = "the concept image (PNG, JPEG or WebP)", Required = true };
        var output = new Option<DirectoryInfo>("--output") { Description = "where adapters, checkpoints and previews go", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss"))) };
        var method = new Option<AdapterMethod>("--method") { Description = "TLoRA, VanillaTLoRA or LoRA", DefaultValueFactory = _ => AdapterMethod.TLoRA };
        var rank = new Option<int>("--rank") { DefaultValueFactory = _ => 64 };
        var minRank = new Option<int?>("--min-rank") { Description = "default: half the rank" };
        var alpha = new Option<double>("--alpha") { DefaultValueFactory = _ => 1.0 };
        var init = new Option<InitComponents>("--init") { Description = "Last, Middle or Principal components", DefaultValueFactory = _ => InitComponents.Last };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 800 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-4 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL };
        var resolution = new Option<int?>("--resolution") { Description = "default: the model's native size" };
        var every = new Option<int>("--checkpoint-every")
        {
            Description = "save an adapter with previews every N steps; 0: only at the end", DefaultValueFactory = _ => new TrainingOptions().CheckpointInterval,
        };
        var trigger = new Option<string>("--trigger") { DefaultValueFactory = _ => "sks" };
        var classWord = new Option<string>("--class") { DefaultValueFactory = _ => "dog" };
        var prompts = new Option<string[]>("--prompt") { Description = "validation prompt ({0} = trigger + class); repeatable", AllowMultipleArgumentsPerToken = false };
        var perPrompt = new Option<int>("--images-per-prompt") { DefaultValueFactory = _ => 1 };
        var previewSteps = new Option<int>("--preview-steps") { DefaultValueFactory = _ => 25 };
        var checkpointing = new Option<bool>("--gradient-checkpointing")
        {
            Description = "recompute the denoiser's blocks in backward: less memory, about a third more time per step",
        };
        var resume = new Option<DirectoryInfo?>("--resume") { Description = "a checkpoint folder (checkpoints/step-NNNNNN) to continue from" };
        var command = new Command("train", "train an adapter from one concept image")
        {
            image, output, method, rank, minRank, alpha, init, steps, lr, seed, resolution, every, trigger, classWord, prompts, perPrompt, previewSteps, checkpointing, resume,
        };
        common.AddTo(command);
        command.SetAction(p =>
        {
            using var pipeline = common.LoadPipeline(p, console);
            var options = new TrainingOptions
            {
                Method = p.GetValue(method), Rank = p.GetValue(rank), MinRank = p.GetValue(minRank), Alpha = p.GetValue(alpha), Init = p.GetValue(init),
                Steps = p.GetValue(steps), LearningRate = p.GetValue(lr), Seed = p.GetValue(seed),
                Resolution = p.GetValue(resolution) ?? PipelineLoader.DefaultResolution(pipeline), CheckpointInterval = p.GetValue(every),
                Trigger = p.GetValue(trigger)!, ClassWord = p.GetValue(classWord)!, ImagesPerPrompt = p.GetValue(perPrompt), PreviewSteps = p.GetValue(previewSteps),
                GradientCheckpointing = p.GetValue(checkpointing),
            };
            if (p.GetValue(prompts) is { Length: > 0 } given) options = options with { ValidationPrompts = given };
            return Run(console, pipeline, options, p.GetValue(image)!.FullName, p.GetValue(output)!.FullName, p.GetValue(resume)?.FullName);
        });
        return command;
    }

    internal static int Run(IAnsiConsole console, IDiffusionPipeline pipeline, TrainingOptions options, string imagePath, string output, string? resume)
    {
        options.Validate();
        if (!File.Exists(imagePath)) throw new FileNotFoundException($"image '{imagePath}' does not exist", imagePath);
        using var image = ConceptImage.Load(imagePath, options.Resolution);
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        var lastCheckpoint = "(none)";
        try
        {
            console.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("preparing", maxValue: options.Steps);
                    var initialisation = new CallerProgress<InitialisationProgress>(p => task.Description =
                        Markup.Escape($"initialising the T-LoRA adapter: {p.Done}/{p.Total} projections"));
                    var previews = new CallerProgress<SampleProgress>(p => task.Description =
                        Markup.Escape($"step {task.Value}/{options.Steps}: rendering preview {p.Image + 1} of {p.Images}, {p.Step}/{p.Steps}"));
                    foreach (var e in new AdapterTrainer(pipeline, options, output).Run(image, resume, cts.Token, previews, initialisation))
                    {
                        switch (e)
                        {
                            case TrainStarted s:
                                task.Value = s.StartStep;
                                console.MarkupLine(Markup.Escape($"{s.Spec.Method} rank {s.Spec.Rank} (r_min {s.Spec.MinRank}, α {s.Spec.Alpha}) on {s.AdaptedLayers} attention layers, {s.TrainableParameters:N0} trainable parameters, prompt \"{options.TrainingPrompt}\""));
                                break;
                            case TrainStep s:
                                task.Value = s.Step;
                                task.Description = Markup.Escape($"step {s.Step}/{s.TotalSteps} loss {s.Loss:F4} t {s.Timestep:F0} r(t) {s.Rank} {s.StepsPerSecond:F2} it/s");
                                break;
                            case TrainCheckpoint c:
                                lastCheckpoint = c.Directory;
                                console.MarkupLine(Markup.Escape($"checkpoint at step {c.Step}: {c.AdapterPath}" + (c.Previews.Count > 0 ? $" + {c.Previews.Count} preview(s)" : "")));
                                break;
                            case TrainCompleted d:
                                console.MarkupLine(Markup.Escape($"done: {d.Steps} steps in {d.Elapsed.TotalSeconds:F1} s, final loss {d.FinalLoss:F4}, mean effective rank {d.Summary.MeanEffectiveRank:F2} → {d.AdapterPath}"));
                                break;
                        }
                    }
                });
            return 0;
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine(Markup.Escape($"cancelled; saved checkpoints are kept (last: {lastCheckpoint})"));
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}

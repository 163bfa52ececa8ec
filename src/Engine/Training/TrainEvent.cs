using TLoRA.Engine.Adapters;

namespace TLoRA.Engine.Training;

/// <summary>What a training run reports, in order: started, steps, checkpoints, then completed (or an exception).</summary>
public abstract record TrainEvent;

public sealed record TrainStarted(int TotalSteps, AdapterSpec Spec, int AdaptedLayers, long TrainableParameters, int StartStep) : TrainEvent;

/// <summary>One optimiser step: loss, the timestep drawn, the rank in use r(t), learning rate, speed and time left.</summary>
public sealed record TrainStep(int Step, int TotalSteps, double Loss, double Timestep, int Rank, double LearningRate,
    double StepsPerSecond, TimeSpan Eta) : TrainEvent;

/// <summary>A preview image made at a checkpoint.</summary>
public sealed record PreviewImage(string Prompt, int Index, string Path, byte[] Png);

/// <summary>An adapter saved at <see cref="Step"/> with its previews (and the optimiser state to resume from).</summary>
public sealed record TrainCheckpoint(int Step, string Directory, string AdapterPath, IReadOnlyList<PreviewImage> Previews) : TrainEvent;

public sealed record TrainCompleted(int Steps, string AdapterPath, double FinalLoss, InspectionSummary Summary, TimeSpan Elapsed) : TrainEvent;

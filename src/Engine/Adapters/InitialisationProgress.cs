namespace TLoRA.Engine.Adapters;

/// <summary>How far T-LoRA's initialisation of an adapter is: <see cref="Done"/> of <see cref="Total"/> projections
/// have their SVD-initialised weights. Reported once with Done = 0 before the first, then after each projection in
/// the order the layers were made, on the thread that attaches the adapter. On a large model this is most of a
/// job's start (SD-XL: 560 projections, minutes on a CPU), so services show it.</summary>
public readonly record struct InitialisationProgress(int Done, int Total);

// LiveTensors.Count and TensorBytes.ChunkBytes are process-wide: run the tests one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The live-tensor counter and libtorch's grad mode are process/thread state: run test classes one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The service tests run real training jobs and servers on 2 cores; run test classes one at a time so no test's
// timing depends on what the others are doing.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

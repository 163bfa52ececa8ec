using System.Runtime.ExceptionServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// T-LoRA's initialisation of a whole adapter: per projection, a random out × in matrix from the job's generator and its
/// SVD. The SVDs are nearly all of it and grow with the cube of the width (one CPU thread: 640² 0.1 s, 1280² 0.65 s,
/// 1280 × 2048 1.1 s, 3072² 9.7 s; a whole SD-XL adapter measured 286 s; FLUX's 247 projections of 3072² about 40 min by that rate), so they run on several
/// threads at once. The random matrices are still drawn one after another on the calling thread, in the order the
/// layers were made, and each SVD is the same single call as before, with the calling thread's intra-op thread count
/// (its last bits depend on it), so the weights are bit for bit those of
/// initialising the layers one by one (the job's seed keeps meaning the same adapter).
/// </summary>
internal static class OrthogonalInitialisation
{
    /// <summary>Matrices smaller than this (out × in elements) are decomposed on the calling thread: their SVDs take a
    /// few ms and ran no faster on two workers (quiet 2-core VM: 200 of 160², 457 / 442 ms on one, 488 / 415 on two;
    /// the mid adapter's whole Attach 1553 ms against 1349 ms one by one). From 640² on workers pay (8 of them: 582 →
    /// 355 ms on two); 512² lies between the two measured sizes.</summary>
    public const long ParallelFromElements = 512 * 512;

    /// <summary>Initialises <paramref name="layers"/> (made with <see cref="OrthogonalLoRALinearLayer.ForLoading"/>) as
    /// their constructor would with <paramref name="generator"/>, in this order, with up to <paramref name="workers"/>
    /// SVDs at once (each from <paramref name="parallelFromElements"/> elements on). <paramref name="cancellation"/> is looked at before each layer: a cancel waits only for the SVDs
    /// already running, then throws OperationCanceledException. <paramref name="progress"/> hears (0, n) first, then each
    /// layer as it is done, in order, on this thread.</summary>
    public static void Run(IReadOnlyList<OrthogonalLoRALinearLayer> layers, InitComponents init, Generator? generator, int workers,
        CancellationToken cancellation = default, long parallelFromElements = ParallelFromElements, IProgress<InitialisationProgress>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        // each random matrix is made and freed on this thread (TorchSharp counts live tensors per thread); a worker makes
        // and frees only its own SVD's tensors
        var running = new Queue<(Tensor R, Task Svd)>();
        // An SVD's last bits depend on its intra-op thread count, and a thread libtorch has not set up decomposes with
        // OpenMP's and MKL's defaults (the core count), which made 2 workers' weights differ from one-by-one
        // construction's in CI. So each SVD runs on a thread of its own (LongRunning: not a pool thread, which would
        // keep the setting for whatever runs on it next) set to this thread's count. A thread costs well under a
        // millisecond; an SVD given to a worker takes tens of milliseconds or more (ParallelFromElements).
        var threads = torch.get_num_threads();
        ExceptionDispatchInfo? failure = null;
        var done = 0;
        void Done() => progress?.Report(new InitialisationProgress(++done, layers.Count));
        void Finish()
        {
            var (r, svd) = running.Dequeue();
            try
            {
                svd.GetAwaiter().GetResult();
                if (failure is null) Done();
            }
            catch (Exception e)
            {
                failure ??= ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                r.Dispose();
            }
        }

        progress?.Report(new InitialisationProgress(0, layers.Count));
        try
        {
            foreach (var layer in layers)
            {
                if (failure is not null || cancellation.IsCancellationRequested) break;
                if (running.Count >= workers) Finish();
                var r = OrthogonalLoRALinearLayer.RandomMatrix(layer.in_features, layer.out_features, layer.rank, generator);
                if (workers == 1 || layer.in_features * layer.out_features < parallelFromElements)
                {
                    using (r) layer.InitialiseFrom(r, init);
                    Done();
                    continue;
                }
                running.Enqueue((r, Task.Factory.StartNew(() =>
                {
                    torch.set_num_threads(threads);
                    layer.InitialiseFrom(r, init);
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
            }
        }
        finally
        {
            while (running.Count > 0) Finish();
        }
        failure?.Throw();
        cancellation.ThrowIfCancellationRequested();
    }
}

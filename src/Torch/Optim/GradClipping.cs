using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static class utils
        {
            /// <summary>torch.nn.utils.clip_grad_norm_: scales all gradients by min(1, max_norm / (total + 1e-6)) where
            /// total is the norm of all gradients together; returns that total (before clipping).</summary>
            public static unsafe double clip_grad_norm_(IEnumerable<Tensor> parameters, double max_norm, double norm_type = 2.0)
            {
                var list = parameters.ToList();
                var hs = Handles(list);
                fixed (IntPtr* p = hs)
                {
                    TorchException.Check(Native.tt_clip_grad_norm(p, hs.Length, max_norm, norm_type, out var total));
                    GC.KeepAlive(list);
                    return total;
                }
            }
        }
    }
}

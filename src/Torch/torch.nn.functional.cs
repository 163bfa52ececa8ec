using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Functional layers as torch.nn.functional.</summary>
        public static class functional
        {
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null)
            {
                var r = Native.tt_linear(input, weight, bias.RawHandle());
                GC.KeepAlive(bias);
                return Tensor.Wrap(r);
            }

            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0,
                long dilation = 1, long groups = 1) =>
                conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, (long h, long w) stride, (long h, long w) padding,
                (long h, long w) dilation, long groups = 1)
            {
                var r = Native.tt_conv2d(input, weight, bias.RawHandle(), stride.h, stride.w, padding.h, padding.w,
                    dilation.h, dilation.w, groups);
                GC.KeepAlive(bias);
                return Tensor.Wrap(r);
            }

            public static Tensor group_norm(Tensor input, long num_groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
            {
                var r = Native.tt_group_norm(input, num_groups, weight.RawHandle(), bias.RawHandle(), eps);
                GC.KeepAlive(weight);
                GC.KeepAlive(bias);
                return Tensor.Wrap(r);
            }

            public static unsafe Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null,
                double eps = 1e-5)
            {
                fixed (long* s = normalized_shape)
                {
                    var r = Native.tt_layer_norm(input, s, normalized_shape.Length, weight.RawHandle(), bias.RawHandle(), eps);
                    GC.KeepAlive(weight);
                    GC.KeepAlive(bias);
                    return Tensor.Wrap(r);
                }
            }

            public static Tensor softmax(Tensor input, long dim) => Tensor.Wrap(Native.tt_softmax(input, dim));
            public static Tensor log_softmax(Tensor input, long dim) => Tensor.Wrap(Native.tt_log_softmax(input, dim));
            public static Tensor silu(Tensor input) => Tensor.Wrap(Native.tt_silu(input));
            public static Tensor sigmoid(Tensor input) => input.sigmoid();
            public static Tensor relu(Tensor input) => input.relu();
            /// <summary>GELU: exact (erf) by default, or the tanh approximation with approximate = "tanh".</summary>
            public static Tensor gelu(Tensor input, string approximate = "none") => approximate switch
            {
                "none" => Tensor.Wrap(Native.tt_gelu(input, 0)),
                "tanh" => Tensor.Wrap(Native.tt_gelu(input, 1)),
                _ => throw new ArgumentException($"approximate must be 'none' or 'tanh', not '{approximate}'", nameof(approximate)),
            };
            public static Tensor embedding(Tensor input, Tensor weight) => Tensor.Wrap(Native.tt_embedding(weight, input));
            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true) => Tensor.Wrap(Native.tt_dropout(input, p, training ? 1 : 0));

            /// <summary>softmax(q·kᵀ·scale + mask)·v over the last two dims. A bool mask keeps positions where true; a float
            /// mask is added. Uses libtorch's fused kernel when it has one (≥ 2), a composed one otherwise.</summary>
            public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null,
                bool is_causal = false, double? scale = null) => Attention(query, key, value, attn_mask, is_causal, scale, true);

            /// <summary>The composed attention, whatever libtorch offers (for comparisons).</summary>
            public static Tensor scaled_dot_product_attention_composed(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null,
                bool is_causal = false, double? scale = null) => Attention(query, key, value, attn_mask, is_causal, scale, false);

            private static Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal, double? scale, bool native)
            {
                if (scale is <= 0) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be positive");
                var r = Native.tt_sdpa(q, k, v, mask.RawHandle(), causal ? 1 : 0, scale ?? 0, native ? 1 : 0);
                GC.KeepAlive(mask);
                return Tensor.Wrap(r);
            }

            /// <summary>Resize of NCHW input to a size or by a scale factor, as F.interpolate: mode "nearest" or "bilinear"
            /// (align_corners false unless given; antialias widens the filter when downscaling, as PyTorch's
            /// antialias=True; without it a bilinear downscale reads only the 2×2 nearest input pixels).</summary>
            public static Tensor interpolate(Tensor input, (long h, long w)? size = null, double? scale_factor = null,
                string mode = "nearest", bool? align_corners = null, bool antialias = false)
            {
                if (size is null == scale_factor is null) throw new ArgumentException("give exactly one of size and scale_factor");
                var (h, w) = size ?? (0, 0);
                var scale = scale_factor ?? 0;
                switch (mode)
                {
                    case "nearest":
                        if (align_corners is not null) throw new ArgumentException("align_corners only applies to bilinear interpolation");
                        if (antialias) throw new ArgumentException("antialias only applies to bilinear interpolation");
                        return Tensor.Wrap(Native.tt_interpolate_nearest(input, h, w, scale, scale));
                    case "bilinear":
                        return Tensor.Wrap(Native.tt_interpolate_bilinear(input, h, w, scale, scale, align_corners == true ? 1 : 0,
                            antialias ? 1 : 0));
                    default:
                        throw new ArgumentException($"mode must be 'nearest' or 'bilinear', not '{mode}'", nameof(mode));
                }
            }

            public static Tensor avg_pool2d(Tensor input, long kernel_size, long? stride = null, long padding = 0,
                bool ceil_mode = false, bool count_include_pad = true)
            {
                var s = stride ?? kernel_size;
                return Tensor.Wrap(Native.tt_avg_pool2d(input, kernel_size, kernel_size, s, s, padding, padding,
                    ceil_mode ? 1 : 0, count_include_pad ? 1 : 0));
            }

            /// <summary>Constant padding as F.pad: (left, right) of the last dim, then of the one before, ...</summary>
            public static unsafe Tensor pad(Tensor input, long[] pad, double value = 0)
            {
                fixed (long* p = pad) return Tensor.Wrap(Native.tt_pad(input, p, pad.Length, value));
            }

            public static Tensor mse_loss(Tensor input, Tensor target, string reduction = "mean") =>
                Tensor.Wrap(Native.tt_mse_loss(input, target, reduction switch
                {
                    "none" => 0,
                    "mean" => 1,
                    "sum" => 2,
                    _ => throw new ArgumentException($"reduction must be none, mean or sum, not '{reduction}'", nameof(reduction)),
                }));
        }
    }
}

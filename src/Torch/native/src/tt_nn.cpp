// Neural-network functions: linear, convolution, normalisation, attention, resampling, padding, losses.
#include "tt_common.h"
#include <torch/version.h>
#include <cmath>

TT_API tt_tensor tt_linear(tt_tensor x, tt_tensor w, tt_tensor b) TT_TENSOR_FN(at::linear(*x, *w, tt::opt(b)))
TT_API tt_tensor tt_conv2d(tt_tensor x, tt_tensor w, tt_tensor b, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                           int64_t dh, int64_t dw, int64_t groups) {
  const int64_t stride[2] = {sh, sw}, pad[2] = {ph, pw}, dil[2] = {dh, dw};
  TT_TENSOR_FN(at::conv2d(*x, *w, tt::opt(b), stride, pad, dil, groups))
}
TT_API tt_tensor tt_group_norm(tt_tensor x, int64_t groups, tt_tensor w, tt_tensor b, double eps)
  TT_TENSOR_FN(at::group_norm(*x, groups, tt::opt(w), tt::opt(b), eps, /*cudnn_enabled=*/true))
TT_API tt_tensor tt_layer_norm(tt_tensor x, const int64_t* shape, int n, tt_tensor w, tt_tensor b, double eps)
  TT_TENSOR_FN(at::layer_norm(*x, tt::dims(shape, n), tt::opt(w), tt::opt(b), eps, /*cudnn_enable=*/true))
TT_API tt_tensor tt_softmax(tt_tensor x, int64_t dim) TT_TENSOR_FN(at::softmax(*x, dim))
TT_API tt_tensor tt_log_softmax(tt_tensor x, int64_t dim) TT_TENSOR_FN(at::log_softmax(*x, dim))
TT_API tt_tensor tt_embedding(tt_tensor weight, tt_tensor ids) TT_TENSOR_FN(at::embedding(*weight, *ids))
TT_API tt_tensor tt_dropout(tt_tensor x, double p, int train) TT_TENSOR_FN(at::dropout(*x, p, train != 0))

// Composed attention: softmax(q kᵀ · scale + mask) v. Boolean masks keep positions where true.
static at::Tensor attention_composed(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const c10::optional<at::Tensor>& mask, bool causal, double scale) {
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (causal) {
    const int64_t L = q.size(-2), S = k.size(-2);
    at::Tensor keep = at::ones({L, S}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
  }
  if (mask.has_value()) {
    if (mask->scalar_type() == at::kBool)
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<float>::infinity());
    else
      scores = scores + *mask;
  }
  return at::matmul(at::softmax(scores, -1), v);
}

// scale <= 0 means the default 1/sqrt(head_dim). prefer_native = 0 forces the composed path (used by tests).
TT_API tt_tensor tt_sdpa(tt_tensor q, tt_tensor k, tt_tensor v, tt_tensor mask, int causal, double scale,
                         int prefer_native) {
  TT_TRY
    const double default_scale = 1.0 / std::sqrt(static_cast<double>(q->size(-1)));
    const double s = scale > 0 ? scale : default_scale;
#if TORCH_VERSION_MAJOR >= 2
    if (prefer_native) {
#if TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 1
      return tt::wrap(at::scaled_dot_product_attention(*q, *k, *v, tt::opt(mask), 0.0, causal != 0, s));
#else
      // libtorch 2.0 has no scale argument: fold a non-default scale into q.
      at::Tensor qs = scale > 0 ? *q * (s / default_scale) : *q;
      return tt::wrap(at::scaled_dot_product_attention(qs, *k, *v, tt::opt(mask), 0.0, causal != 0));
#endif
    }
#endif
    return tt::wrap(attention_composed(*q, *k, *v, tt::opt(mask), causal != 0, s));
  TT_CATCH(nullptr)
}

// Nearest-neighbour resize of an NCHW tensor, as F.interpolate(mode="nearest"): either a size or scale factors.
TT_API tt_tensor tt_interpolate_nearest(tt_tensor x, int64_t out_h, int64_t out_w, double scale_h, double scale_w) {
  TT_TRY
    if (scale_h > 0 && scale_w > 0) {
      const int64_t size[2] = {static_cast<int64_t>(std::floor(x->size(2) * scale_h)),
                               static_cast<int64_t>(std::floor(x->size(3) * scale_w))};
      return tt::wrap(at::upsample_nearest2d(*x, size, scale_h, scale_w));
    }
    const int64_t size[2] = {out_h, out_w};
    return tt::wrap(at::upsample_nearest2d(*x, size));
  TT_CATCH(nullptr)
}
// Bilinear resize of an NCHW float tensor, as F.interpolate(mode="bilinear", align_corners, antialias): either a size
// or scale factors (which, as in PyTorch, also set the sampling positions). antialias widens the filter when
// downscaling (PIL-like); without it a downscale samples only the 2x2 nearest pixels.
TT_API tt_tensor tt_interpolate_bilinear(tt_tensor x, int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                         int align_corners, int antialias) {
  TT_TRY
    TORCH_CHECK(x->dim() == 4, "bilinear interpolation needs an NCHW tensor, got ", x->dim(), " dimensions");
    c10::optional<double> sh, sw;
    int64_t size[2] = {out_h, out_w};
    if (scale_h > 0 && scale_w > 0) {
      size[0] = static_cast<int64_t>(std::floor(x->size(2) * scale_h));
      size[1] = static_cast<int64_t>(std::floor(x->size(3) * scale_w));
      sh = scale_h;
      sw = scale_w;
    }
    if (antialias) return tt::wrap(at::_upsample_bilinear2d_aa(*x, size, align_corners != 0, sh, sw));
    return tt::wrap(at::upsample_bilinear2d(*x, size, align_corners != 0, sh, sw));
  TT_CATCH(nullptr)
}
TT_API tt_tensor tt_avg_pool2d(tt_tensor x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                               int ceil_mode, int count_include_pad) {
  const int64_t k[2] = {kh, kw}, s[2] = {sh, sw}, p[2] = {ph, pw};
  TT_TENSOR_FN(at::avg_pool2d(*x, k, s, p, ceil_mode != 0, count_include_pad != 0))
}
// pad as F.pad(x, pad, mode="constant", value): pairs from the last dimension backwards.
TT_API tt_tensor tt_pad(tt_tensor x, const int64_t* pad, int n, double value)
  TT_TENSOR_FN(at::constant_pad_nd(*x, tt::dims(pad, n), value))
// reduction: 0 none, 1 mean, 2 sum (at::Reduction).
TT_API tt_tensor tt_mse_loss(tt_tensor a, tt_tensor b, int reduction) TT_TENSOR_FN(at::mse_loss(*a, *b, reduction))

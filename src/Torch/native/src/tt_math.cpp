// Elementwise arithmetic (broadcasting), comparisons, unary math, reductions and selection.
#include "tt_common.h"
#include <cmath>

#define TT_BINARY(name, expr) TT_API tt_tensor tt_##name(tt_tensor a, tt_tensor b) TT_TENSOR_FN(expr)
#define TT_SCALAR(name, expr) \
  TT_API tt_tensor tt_##name(tt_tensor a, double v, int is_int) { const at::Scalar s = tt::scalar(v, is_int); TT_TENSOR_FN(expr) }
#define TT_UNARY(name, expr) TT_API tt_tensor tt_##name(tt_tensor a) TT_TENSOR_FN(expr)

// A whole-number alpha goes as an integral scalar, so integer tensors add (libtorch refuses a floating alpha for them);
// floating tensors accept either.
static at::Scalar alpha_of(double alpha) {
  return std::floor(alpha) == alpha && std::fabs(alpha) < 9007199254740992.0 ? at::Scalar(static_cast<int64_t>(alpha)) : at::Scalar(alpha);
}
TT_API tt_tensor tt_add(tt_tensor a, tt_tensor b, double alpha) TT_TENSOR_FN(at::add(*a, *b, alpha_of(alpha)))
TT_API tt_tensor tt_sub(tt_tensor a, tt_tensor b, double alpha) TT_TENSOR_FN(at::sub(*a, *b, alpha_of(alpha)))
TT_BINARY(mul, at::mul(*a, *b))
TT_BINARY(div, at::div(*a, *b))
TT_BINARY(pow, at::pow(*a, *b))
TT_BINARY(maximum, at::maximum(*a, *b))
TT_BINARY(minimum, at::minimum(*a, *b))
TT_BINARY(eq, at::eq(*a, *b))
TT_BINARY(ne, at::ne(*a, *b))
TT_BINARY(lt, at::lt(*a, *b))
TT_BINARY(le, at::le(*a, *b))
TT_BINARY(gt, at::gt(*a, *b))
TT_BINARY(ge, at::ge(*a, *b))
TT_BINARY(logical_and, at::logical_and(*a, *b))
TT_BINARY(logical_or, at::logical_or(*a, *b))
TT_BINARY(matmul, at::matmul(*a, *b))
TT_BINARY(bmm, at::bmm(*a, *b))

TT_SCALAR(add_scalar, at::add(*a, s))
TT_SCALAR(sub_scalar, at::sub(*a, s))
TT_SCALAR(rsub_scalar, at::rsub(*a, s))
TT_SCALAR(mul_scalar, at::mul(*a, s))
TT_SCALAR(div_scalar, at::div(*a, s))
TT_SCALAR(rdiv_scalar, at::mul(at::reciprocal(*a), s))
TT_SCALAR(pow_scalar, at::pow(*a, s))
TT_SCALAR(rpow_scalar, at::pow(s, *a))
TT_SCALAR(eq_scalar, at::eq(*a, s))
TT_SCALAR(ne_scalar, at::ne(*a, s))
TT_SCALAR(lt_scalar, at::lt(*a, s))
TT_SCALAR(le_scalar, at::le(*a, s))
TT_SCALAR(gt_scalar, at::gt(*a, s))
TT_SCALAR(ge_scalar, at::ge(*a, s))

TT_UNARY(neg, at::neg(*a))
TT_UNARY(abs, at::abs(*a))
TT_UNARY(exp, at::exp(*a))
TT_UNARY(log, at::log(*a))
TT_UNARY(sqrt, at::sqrt(*a))
TT_UNARY(rsqrt, at::rsqrt(*a))
TT_UNARY(square, at::square(*a))
TT_UNARY(reciprocal, at::reciprocal(*a))
TT_UNARY(cos, at::cos(*a))
TT_UNARY(sin, at::sin(*a))
TT_UNARY(tanh, at::tanh(*a))
TT_UNARY(sigmoid, at::sigmoid(*a))
TT_UNARY(relu, at::relu(*a))
TT_UNARY(silu, at::silu(*a))
TT_UNARY(floor, at::floor(*a))
TT_UNARY(ceil, at::ceil(*a))
TT_UNARY(round, at::round(*a))
TT_UNARY(sign, at::sign(*a))
TT_UNARY(logical_not, at::logical_not(*a))
TT_UNARY(isnan, at::isnan(*a))
TT_UNARY(isfinite, at::isfinite(*a))
TT_API tt_tensor tt_gelu(tt_tensor a, int tanh_approx) TT_TENSOR_FN(at::gelu(*a, tanh_approx ? "tanh" : "none"))

// clamp with optional bounds: has_min/has_max say which are given.
TT_API tt_tensor tt_clamp(tt_tensor a, int has_min, double min, int has_max, double max) {
  TT_TRY
    c10::optional<at::Scalar> lo = has_min ? c10::optional<at::Scalar>(at::Scalar(min)) : c10::nullopt;
    c10::optional<at::Scalar> hi = has_max ? c10::optional<at::Scalar>(at::Scalar(max)) : c10::nullopt;
    return tt::wrap(at::clamp(*a, lo, hi));
  TT_CATCH(nullptr)
}
TT_API tt_tensor tt_where(tt_tensor cond, tt_tensor a, tt_tensor b) TT_TENSOR_FN(at::where(*cond, *a, *b))
TT_API tt_tensor tt_masked_fill(tt_tensor a, tt_tensor mask, double v, int is_int)
  TT_TENSOR_FN(at::masked_fill(*a, *mask, tt::scalar(v, is_int)))
TT_API int tt_allclose(tt_tensor a, tt_tensor b, double rtol, double atol, int* out)
  TT_STATUS_FN(*out = at::allclose(*a, *b, rtol, atol) ? 1 : 0)

// ---- reductions; ndim == 0 with dims == null means over all elements ----
// dtype < 0: keep the input's type (PyTorch's default).
static c10::optional<at::ScalarType> opt_dtype(int dtype) {
  return dtype < 0 ? c10::nullopt : c10::optional<at::ScalarType>(static_cast<at::ScalarType>(dtype));
}
TT_API tt_tensor tt_sum(tt_tensor a, const int64_t* dims, int n, int keepdim, int dtype)
  TT_TENSOR_FN(n == 0 ? at::sum(*a, opt_dtype(dtype)) : at::sum(*a, tt::dims(dims, n), keepdim != 0, opt_dtype(dtype)))
TT_API tt_tensor tt_mean(tt_tensor a, const int64_t* dims, int n, int keepdim, int dtype)
  TT_TENSOR_FN(n == 0 ? at::mean(*a, opt_dtype(dtype)) : at::mean(*a, tt::dims(dims, n), keepdim != 0, opt_dtype(dtype)))
TT_API tt_tensor tt_var(tt_tensor a, const int64_t* dims, int n, int unbiased, int keepdim)
  TT_TENSOR_FN(n == 0 ? at::var(*a, unbiased != 0) : at::var(*a, tt::dims(dims, n), unbiased != 0, keepdim != 0))
TT_API tt_tensor tt_amax(tt_tensor a, const int64_t* dims, int n, int keepdim)
  TT_TENSOR_FN(at::amax(*a, tt::dims(dims, n), keepdim != 0))
TT_API tt_tensor tt_amin(tt_tensor a, const int64_t* dims, int n, int keepdim)
  TT_TENSOR_FN(at::amin(*a, tt::dims(dims, n), keepdim != 0))
TT_API tt_tensor tt_argmax(tt_tensor a, int64_t dim, int keepdim) TT_TENSOR_FN(at::argmax(*a, dim, keepdim != 0))
TT_API tt_tensor tt_norm(tt_tensor a, double p, const int64_t* dims, int n, int keepdim)
  TT_TENSOR_FN(n == 0 ? at::norm(*a, at::Scalar(p)) : at::norm(*a, at::Scalar(p), tt::dims(dims, n), keepdim != 0))
TT_API tt_tensor tt_cumsum(tt_tensor a, int64_t dim) TT_TENSOR_FN(at::cumsum(*a, dim))

// ---- in-place updates (callers guard autograd) ----
TT_API int tt_add_(tt_tensor a, tt_tensor b, double alpha) TT_STATUS_FN(a->add_(*b, alpha_of(alpha)))
TT_API int tt_mul_(tt_tensor a, tt_tensor b) TT_STATUS_FN(a->mul_(*b))
TT_API int tt_mul_scalar_(tt_tensor a, double v) TT_STATUS_FN(a->mul_(v))
TT_API int tt_add_scalar_(tt_tensor a, double v) TT_STATUS_FN(a->add_(v))

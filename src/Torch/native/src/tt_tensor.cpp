// Tensor lifetime, creation, properties, data transfer and conversion.
#include "tt_common.h"
#include <cstring>

TT_API void tt_free(tt_tensor t) {
  if (!t) return;
  delete t;
  tt::live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

// ---- creation ----
TT_API tt_tensor tt_empty(const int64_t* shape, int ndim, int dtype, int dev, int idx)
  TT_TENSOR_FN(at::empty(tt::dims(shape, ndim), tt::options(dtype, dev, idx)))
TT_API tt_tensor tt_zeros(const int64_t* shape, int ndim, int dtype, int dev, int idx)
  TT_TENSOR_FN(at::zeros(tt::dims(shape, ndim), tt::options(dtype, dev, idx)))
TT_API tt_tensor tt_ones(const int64_t* shape, int ndim, int dtype, int dev, int idx)
  TT_TENSOR_FN(at::ones(tt::dims(shape, ndim), tt::options(dtype, dev, idx)))
TT_API tt_tensor tt_full(const int64_t* shape, int ndim, double value, int is_int, int dtype, int dev, int idx)
  TT_TENSOR_FN(at::full(tt::dims(shape, ndim), tt::scalar(value, is_int), tt::options(dtype, dev, idx)))
TT_API tt_tensor tt_arange(double start, double end, double step, int dtype, int dev, int idx)
  TT_TENSOR_FN(at::arange(at::Scalar(start), at::Scalar(end), at::Scalar(step), tt::options(dtype, dev, idx)))
TT_API tt_tensor tt_linspace(double start, double end, int64_t steps, int dtype, int dev, int idx)
  TT_TENSOR_FN(at::linspace(at::Scalar(start), at::Scalar(end), steps, tt::options(dtype, dev, idx)))
TT_API tt_tensor tt_eye(int64_t n, int dtype, int dev, int idx)
  TT_TENSOR_FN(at::eye(n, tt::options(dtype, dev, idx)))
TT_API tt_tensor tt_zeros_like(tt_tensor t) TT_TENSOR_FN(at::zeros_like(*t))
TT_API tt_tensor tt_ones_like(tt_tensor t) TT_TENSOR_FN(at::ones_like(*t))

// Copies `nbytes` bytes of little-endian element data into a new CPU tensor of the given shape and dtype.
TT_API tt_tensor tt_from_bytes(const void* data, int64_t nbytes, const int64_t* shape, int ndim, int dtype) {
  TT_TRY
    at::Tensor t = at::empty(tt::dims(shape, ndim), at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
    const int64_t expected = t.numel() * static_cast<int64_t>(t.element_size());
    TORCH_CHECK(expected == nbytes, "tensor of ", t.numel(), " elements of ", t.scalar_type(), " needs ", expected,
                " bytes, got ", nbytes);
    if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
    return tt::wrap(std::move(t));
  TT_CATCH(nullptr)
}

// Copies the tensor's elements (any device, any layout) into `dst` as a dense row-major buffer.
TT_API int tt_copy_to_bytes(tt_tensor t, void* dst, int64_t nbytes) {
  TT_TRY
    at::Tensor c = t->detach().to(at::kCPU).contiguous();
    const int64_t have = c.numel() * static_cast<int64_t>(c.element_size());
    TORCH_CHECK(have == nbytes, "destination holds ", nbytes, " bytes, tensor has ", have);
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), static_cast<size_t>(nbytes));
    return 0;
  TT_CATCH(-1)
}

// Raw pointer of a contiguous CPU tensor, for filling it in place (file reads). Null with an error otherwise.
TT_API void* tt_data_ptr(tt_tensor t) {
  TT_TRY
    TORCH_CHECK(t->device().is_cpu(), "data_ptr needs a CPU tensor, this one is on ", t->device());
    TORCH_CHECK(t->is_contiguous(), "data_ptr needs a contiguous tensor");
    return t->data_ptr();
  TT_CATCH(nullptr)
}

TT_API int tt_item_double(tt_tensor t, double* out) TT_STATUS_FN(*out = t->item().toDouble())
TT_API int tt_item_int64(tt_tensor t, int64_t* out) TT_STATUS_FN(*out = t->item().toLong())

// ---- properties ----
TT_API int tt_dim(tt_tensor t) { return static_cast<int>(t->dim()); }
TT_API int tt_shape(tt_tensor t, int64_t* out) {
  for (int64_t i = 0; i < t->dim(); ++i) out[i] = t->size(i);
  return static_cast<int>(t->dim());
}
TT_API int tt_strides(tt_tensor t, int64_t* out) TT_STATUS_FN(for (int64_t i = 0; i < t->dim(); ++i) out[i] = t->stride(i))
TT_API int64_t tt_numel(tt_tensor t) { return t->numel(); }
TT_API int tt_dtype(tt_tensor t) { return static_cast<int>(t->scalar_type()); }
TT_API int tt_element_size(tt_tensor t) { return static_cast<int>(t->element_size()); }
TT_API int tt_device_type(tt_tensor t) { return t->device().is_cuda() ? 1 : 0; }
TT_API int tt_device_index(tt_tensor t) { return t->device().has_index() ? t->device().index() : 0; }
TT_API int tt_is_contiguous(tt_tensor t) { return t->is_contiguous() ? 1 : 0; }
TT_API int tt_defined(tt_tensor t) { return t->defined() ? 1 : 0; }

// ---- conversion and copies ----
TT_API tt_tensor tt_to(tt_tensor t, int dtype, int dev, int idx, int copy)
  TT_TENSOR_FN(t->to(tt::device(dev, idx), static_cast<at::ScalarType>(dtype), /*non_blocking=*/false, copy != 0))
TT_API tt_tensor tt_clone(tt_tensor t) TT_TENSOR_FN(t->clone())
TT_API tt_tensor tt_detach(tt_tensor t) TT_TENSOR_FN(t->detach())
TT_API tt_tensor tt_contiguous(tt_tensor t) TT_TENSOR_FN(t->contiguous())
TT_API tt_tensor tt_alias(tt_tensor t) TT_TENSOR_FN(at::Tensor(*t))
TT_API int tt_copy_(tt_tensor dst, tt_tensor src) TT_STATUS_FN(dst->copy_(*src))
TT_API int tt_fill_(tt_tensor t, double v, int is_int) TT_STATUS_FN(t->fill_(tt::scalar(v, is_int)))
TT_API int tt_zero_(tt_tensor t) TT_STATUS_FN(t->zero_())

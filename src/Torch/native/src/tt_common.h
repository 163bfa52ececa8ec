// Shared plumbing of the C ABI: handle wrapping and the error convention.
// Every exported function catches everything; on failure it stores the message (without backtrace) in a
// thread-local string and returns null (handle results) or -1 (status results). Nothing throws across the boundary.
#pragma once
#include <ATen/ATen.h>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#define TT_API extern "C" __attribute__((visibility("default")))

typedef at::Tensor* tt_tensor;
typedef at::Generator* tt_generator;

namespace tt {
void set_error(const char* msg);
void clear_error();
extern std::atomic<int64_t> live_tensors;

inline tt_tensor wrap(at::Tensor t) {
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return new at::Tensor(std::move(t));
}
inline at::IntArrayRef dims(const int64_t* p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
inline c10::optional<at::Tensor> opt(tt_tensor t) {
  return t ? c10::optional<at::Tensor>(*t) : c10::nullopt;
}
inline at::Scalar scalar(double v, int is_integral) {
  return is_integral ? at::Scalar(static_cast<int64_t>(v)) : at::Scalar(v);
}
inline at::Device device(int type, int index) {
  return at::Device(type == 1 ? at::kCUDA : at::kCPU, static_cast<c10::DeviceIndex>(index));
}
inline at::TensorOptions options(int dtype, int device_type, int device_index) {
  return at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)).device(device(device_type, device_index));
}
std::vector<at::Tensor> list(const tt_tensor* ts, int n);
int write_list(const std::vector<at::Tensor>& ts, tt_tensor* out, int capacity);
}  // namespace tt

#define TT_TRY try {
#define TT_CATCH(failure)                                             \
  }                                                                   \
  catch (const c10::Error& e) { tt::set_error(e.what_without_backtrace()); } \
  catch (const std::exception& e) { tt::set_error(e.what()); }        \
  catch (...) { tt::set_error("unknown C++ exception in libtorch"); } \
  return failure;

// A function whose body yields an at::Tensor expression.
#define TT_TENSOR_FN(expr) { TT_TRY return tt::wrap(expr); TT_CATCH(nullptr) }
// A function whose body is a statement list; returns 0, or -1 on error.
#define TT_STATUS_FN(stmts) { TT_TRY stmts; return 0; TT_CATCH(-1) }

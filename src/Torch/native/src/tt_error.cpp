// Error channel, library facts and process-wide settings.
#include "tt_common.h"
#include <torch/version.h>
#include <ATen/Parallel.h>
#include <malloc.h>
#include <dlfcn.h>

namespace tt {
static thread_local std::string last_error;
static thread_local bool has_error = false;
std::atomic<int64_t> live_tensors{0};

void set_error(const char* msg) { last_error = msg ? msg : "(no message)"; has_error = true; }
void clear_error() { has_error = false; last_error.clear(); }

std::vector<at::Tensor> list(const tt_tensor* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v.push_back(*ts[i]);
  return v;
}
int write_list(const std::vector<at::Tensor>& ts, tt_tensor* out, int capacity) {
  if (static_cast<int>(ts.size()) > capacity) throw std::runtime_error("result has more tensors than the buffer holds");
  for (size_t i = 0; i < ts.size(); ++i) out[i] = wrap(ts[i]);
  return static_cast<int>(ts.size());
}
}  // namespace tt

TT_API const char* tt_last_error() { return tt::has_error ? tt::last_error.c_str() : nullptr; }
TT_API void tt_clear_error() { tt::clear_error(); }
TT_API int64_t tt_live_tensors() { return tt::live_tensors.load(); }
TT_API int tt_version_major() { return TORCH_VERSION_MAJOR; }
TT_API int tt_version_minor() { return TORCH_VERSION_MINOR; }
TT_API int tt_version_patch() { return TORCH_VERSION_PATCH; }
TT_API int tt_has_native_sdpa() { return TORCH_VERSION_MAJOR >= 2 ? 1 : 0; }
TT_API int tt_cuda_is_available() {
  TT_TRY return at::hasCUDA() ? 1 : 0; TT_CATCH(0)
}
TT_API int tt_cuda_device_count() {
  TT_TRY return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; TT_CATCH(0)
}
TT_API int tt_set_num_threads(int n) TT_STATUS_FN(at::set_num_threads(n))
TT_API int tt_get_num_threads() { return at::get_num_threads(); }
TT_API int tt_cuda_synchronize(int device) TT_STATUS_FN(at::detail::getCUDAHooks().deviceSynchronize(device))

// Keeps glibc from handing large freed blocks (im2col buffers, activations) back to the kernel after every op and
// faulting them in again on the next: measured 1.2x on a CPU conv2d. Raises the mmap threshold and the trim
// threshold to `bytes`; returns 0, or -1 when glibc refuses.
TT_API int tt_tune_allocator(int64_t bytes) {
  const int n = static_cast<int>(std::min<int64_t>(bytes, 1LL << 30));
  return mallopt(M_MMAP_THRESHOLD, n) == 1 && mallopt(M_TRIM_THRESHOLD, n) == 1 ? 0 : -1;
}

// Sets the BLAS library's own thread pool when it is OpenBLAS (found by symbol, whatever libtorch was linked with).
// libtorch's intra-op threads and OpenBLAS's pool otherwise oversubscribe the cores: measured 3x slower training
// steps on a 2-core machine. Returns 1 when set, 0 when the BLAS is not OpenBLAS.
TT_API int tt_set_blas_threads(int n) {
  using fn = void (*)(int);
  auto f = reinterpret_cast<fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!f) return 0;
  f(n);
  return 1;
}

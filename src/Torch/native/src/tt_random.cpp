// Seedable generators and random tensors. Generators are CPU generators: random tensors for another device are
// drawn on the CPU and moved, so a seed gives the same numbers on every device (as diffusers' randn_tensor does).
#include "tt_common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <mutex>

TT_API tt_generator tt_generator_new(uint64_t seed) {
  TT_TRY return new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed)); TT_CATCH(nullptr)
}
TT_API void tt_generator_free(tt_generator g) { delete g; }
TT_API int tt_generator_seed(tt_generator g, uint64_t seed) {
  TT_TRY
    std::lock_guard<std::mutex> lock(g->mutex());
    g->set_current_seed(seed);
    return 0;
  TT_CATCH(-1)
}
TT_API int tt_manual_seed(uint64_t seed) {
  TT_TRY
    auto g = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(seed);
    return 0;
  TT_CATCH(-1)
}

static c10::optional<at::Generator> gen(tt_generator g) {
  return g ? c10::optional<at::Generator>(*g) : c10::nullopt;
}
// Draws on the CPU with the generator's dtype, then moves to the requested device.
template <typename F>
static tt_tensor draw(int dtype, int dev, int idx, F f) {
  at::TensorOptions cpu = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
  at::Tensor t = f(cpu);
  if (dev != 0) t = t.to(tt::device(dev, idx));
  return tt::wrap(std::move(t));
}

TT_API tt_tensor tt_rand(const int64_t* shape, int n, tt_generator g, int dtype, int dev, int idx) {
  TT_TRY return draw(dtype, dev, idx, [&](const at::TensorOptions& o) { return at::rand(tt::dims(shape, n), gen(g), o); });
  TT_CATCH(nullptr)
}
TT_API tt_tensor tt_randn(const int64_t* shape, int n, tt_generator g, int dtype, int dev, int idx) {
  TT_TRY return draw(dtype, dev, idx, [&](const at::TensorOptions& o) { return at::randn(tt::dims(shape, n), gen(g), o); });
  TT_CATCH(nullptr)
}
TT_API tt_tensor tt_randint(int64_t low, int64_t high, const int64_t* shape, int n, tt_generator g, int dtype, int dev,
                            int idx) {
  TT_TRY
    return draw(dtype, dev, idx, [&](const at::TensorOptions& o) { return at::randint(low, high, tt::dims(shape, n), gen(g), o); });
  TT_CATCH(nullptr)
}
TT_API int tt_normal_(tt_tensor t, double mean, double std, tt_generator g) TT_STATUS_FN(t->normal_(mean, std, gen(g)))
TT_API int tt_uniform_(tt_tensor t, double from, double to, tt_generator g) TT_STATUS_FN(t->uniform_(from, to, gen(g)))

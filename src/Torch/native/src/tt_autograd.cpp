// Autograd: requires_grad, backward, gradients and the grad mode (thread-local in libtorch, as in PyTorch).
#include "tt_common.h"
#include <ATen/core/grad_mode.h>

TT_API int tt_requires_grad(tt_tensor t) { return t->requires_grad() ? 1 : 0; }
TT_API int tt_set_requires_grad(tt_tensor t, int on) TT_STATUS_FN(t->set_requires_grad(on != 0))
TT_API int tt_is_leaf(tt_tensor t) { return t->is_leaf() ? 1 : 0; }
TT_API int tt_backward(tt_tensor t, tt_tensor grad, int retain_graph) {
  TT_TRY
    t->backward(grad ? *grad : at::Tensor(), retain_graph ? c10::optional<bool>(true) : c10::nullopt, false);
    return 0;
  TT_CATCH(-1)
}
// Null with no error set when the tensor has no gradient.
TT_API tt_tensor tt_grad(tt_tensor t) {
  tt::clear_error();
  TT_TRY
    const at::Tensor& g = t->grad();
    return g.defined() ? tt::wrap(g) : nullptr;
  TT_CATCH(nullptr)
}
// Sets (or with null, drops) the gradient, as `p.grad = g` / `p.grad = None`.
TT_API int tt_set_grad(tt_tensor t, tt_tensor g) TT_STATUS_FN(t->mutable_grad() = g ? *g : at::Tensor())
TT_API int tt_grad_enabled() { return c10::GradMode::is_enabled() ? 1 : 0; }
TT_API void tt_set_grad_enabled(int on) { c10::GradMode::set_enabled(on != 0); }

// Optimizer kernels done in one native call per parameter: fewer crossings than composing them from managed code.
#include "tt_common.h"
#include <ATen/core/grad_mode.h>
#include <cmath>

// One AdamW step for one parameter, exactly as torch.optim.AdamW (single-tensor path, PyTorch 2.x):
//   p *= 1 - lr·wd; m = lerp(m, g, 1-β1); v = β2·v + (1-β2)·g²;
//   p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
TT_API int tt_adamw_step(tt_tensor param, tt_tensor grad, tt_tensor exp_avg, tt_tensor exp_avg_sq, int64_t step,
                         double lr, double beta1, double beta2, double eps, double weight_decay) {
  TT_TRY
    c10::AutoGradMode no_grad(false);
    at::Tensor& p = *param;
    const at::Tensor& g = *grad;
    if (weight_decay != 0) p.mul_(1.0 - lr * weight_decay);
    exp_avg->lerp_(g, 1.0 - beta1);
    exp_avg_sq->mul_(beta2).addcmul_(g, g, 1.0 - beta2);
    const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    at::Tensor denom = (exp_avg_sq->sqrt() / std::sqrt(bc2)).add_(eps);
    p.addcdiv_(*exp_avg, denom, -lr / bc1);
    return 0;
  TT_CATCH(-1)
}

// torch.nn.utils.clip_grad_norm_: total p-norm of all gradients; scales them by min(1, max/(total+1e-6)).
// Parameters without a gradient are skipped. Writes the total norm (before clipping) to `total`.
TT_API int tt_clip_grad_norm(const tt_tensor* params, int n, double max_norm, double norm_type, double* total) {
  TT_TRY
    c10::AutoGradMode no_grad(false);
    std::vector<at::Tensor> norms;
    std::vector<at::Tensor> grads;
    for (int i = 0; i < n; ++i) {
      const at::Tensor& g = params[i]->grad();
      if (!g.defined()) continue;
      grads.push_back(g);
      norms.push_back(at::linalg_vector_norm(g, at::Scalar(norm_type)));
    }
    if (grads.empty()) { *total = 0; return 0; }
    at::Tensor t = at::linalg_vector_norm(at::stack(norms), at::Scalar(norm_type));
    at::Tensor coef = at::clamp(max_norm / (t + 1e-6), c10::nullopt, at::Scalar(1.0));
    for (auto& g : grads) g.mul_(coef.to(g.device()));
    *total = t.item().toDouble();
    return 0;
  TT_CATCH(-1)
}

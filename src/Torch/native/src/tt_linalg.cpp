// Linear algebra.
#include "tt_common.h"

// Reduced or full SVD as torch.linalg.svd: A = U diag(S) Vh. Writes three handles to `out`.
TT_API int tt_svd(tt_tensor a, int full_matrices, tt_tensor* out) {
  TT_TRY
    auto r = at::linalg_svd(*a, full_matrices != 0);
    out[0] = tt::wrap(std::get<0>(r));
    out[1] = tt::wrap(std::get<1>(r));
    out[2] = tt::wrap(std::get<2>(r));
    return 0;
  TT_CATCH(-1)
}
TT_API tt_tensor tt_vector_norm(tt_tensor a, double ord) TT_TENSOR_FN(at::linalg_vector_norm(*a, at::Scalar(ord)))

// Views, reshapes, joins, splits, slicing and indexing.
#include "tt_common.h"

TT_API tt_tensor tt_view(tt_tensor a, const int64_t* shape, int n) TT_TENSOR_FN(a->view(tt::dims(shape, n)))
TT_API tt_tensor tt_reshape(tt_tensor a, const int64_t* shape, int n) TT_TENSOR_FN(a->reshape(tt::dims(shape, n)))
TT_API tt_tensor tt_permute(tt_tensor a, const int64_t* order, int n) TT_TENSOR_FN(a->permute(tt::dims(order, n)))
TT_API tt_tensor tt_transpose(tt_tensor a, int64_t d0, int64_t d1) TT_TENSOR_FN(a->transpose(d0, d1))
TT_API tt_tensor tt_flatten(tt_tensor a, int64_t start, int64_t end) TT_TENSOR_FN(a->flatten(start, end))
TT_API tt_tensor tt_unsqueeze(tt_tensor a, int64_t dim) TT_TENSOR_FN(a->unsqueeze(dim))
TT_API tt_tensor tt_squeeze(tt_tensor a, int64_t dim, int all) TT_TENSOR_FN(all ? a->squeeze() : a->squeeze(dim))
TT_API tt_tensor tt_expand(tt_tensor a, const int64_t* shape, int n) TT_TENSOR_FN(a->expand(tt::dims(shape, n)))
TT_API tt_tensor tt_repeat(tt_tensor a, const int64_t* reps, int n) TT_TENSOR_FN(a->repeat(tt::dims(reps, n)))
TT_API tt_tensor tt_repeat_interleave(tt_tensor a, int64_t repeats, int64_t dim)
  TT_TENSOR_FN(at::repeat_interleave(*a, repeats, dim))

TT_API tt_tensor tt_cat(const tt_tensor* ts, int n, int64_t dim) TT_TENSOR_FN(at::cat(tt::list(ts, n), dim))
TT_API tt_tensor tt_stack(const tt_tensor* ts, int n, int64_t dim) TT_TENSOR_FN(at::stack(tt::list(ts, n), dim))
// Returns the number of pieces written to `out` (at most `capacity`), or -1.
TT_API int tt_chunk(tt_tensor a, int64_t chunks, int64_t dim, tt_tensor* out, int capacity) {
  TT_TRY return tt::write_list(a->chunk(chunks, dim), out, capacity); TT_CATCH(-1)
}
TT_API int tt_split(tt_tensor a, int64_t size, int64_t dim, tt_tensor* out, int capacity) {
  TT_TRY return tt::write_list(a->split(size, dim), out, capacity); TT_CATCH(-1)
}
TT_API int tt_split_sizes(tt_tensor a, const int64_t* sizes, int n, int64_t dim, tt_tensor* out, int capacity) {
  TT_TRY return tt::write_list(a->split_with_sizes(tt::dims(sizes, n), dim), out, capacity); TT_CATCH(-1)
}

TT_API tt_tensor tt_slice(tt_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step)
  TT_TENSOR_FN(a->slice(dim, start, end, step))
TT_API tt_tensor tt_narrow(tt_tensor a, int64_t dim, int64_t start, int64_t length) TT_TENSOR_FN(a->narrow(dim, start, length))
TT_API tt_tensor tt_select(tt_tensor a, int64_t dim, int64_t index) TT_TENSOR_FN(a->select(dim, index))
TT_API tt_tensor tt_index_select(tt_tensor a, int64_t dim, tt_tensor idx) TT_TENSOR_FN(at::index_select(*a, dim, *idx))
TT_API tt_tensor tt_gather(tt_tensor a, int64_t dim, tt_tensor idx) TT_TENSOR_FN(at::gather(*a, dim, *idx))
TT_API tt_tensor tt_tril(tt_tensor a, int64_t diagonal) TT_TENSOR_FN(at::tril(*a, diagonal))
TT_API tt_tensor tt_triu(tt_tensor a, int64_t diagonal) TT_TENSOR_FN(at::triu(*a, diagonal))
TT_API tt_tensor tt_flip(tt_tensor a, const int64_t* dims, int n) TT_TENSOR_FN(at::flip(*a, tt::dims(dims, n)))

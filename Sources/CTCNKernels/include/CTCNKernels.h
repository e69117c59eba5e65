// Element-wise kernels for the TCN module's fused layer epilogues (see kernels.c).
#ifndef C_TCN_KERNELS_H
#define C_TCN_KERNELS_H

#include <stddef.h>

/// x[i] = x[i] < 0 ? 0 : x[i] (ReLU in place; NaN and −0 pass through, as `torch.relu`).
void tcn_relu(float *x, size_t count);

/// y[i] = x[i] < 0 ? 0 : x[i].
void tcn_relu_copy(const float *x, float *y, size_t count);

/// g[i] = x[i] > 0 ? g[i] : 0 (ReLU's backward in place, given its input or output x).
void tcn_relu_gradient(float *g, const float *x, size_t count);

/// d[i] = x[i] > 0 ? g[i] : 0.
void tcn_relu_gradient_copy(const float *g, const float *x, float *d, size_t count);

/// y[i] *= m[i].
void tcn_multiply(float *y, const float *m, size_t count);

/// y[i] += r[i].
void tcn_add(float *y, const float *r, size_t count);

/// Adam's step for one tensor (`torch.optim.Adam`'s single-tensor update), per element in this order:
/// m += (g − m)·(1 − β₁);  v = β₂·v + ((1 − β₂)·g)·g;  p −= (stepSize·m) / (√v / correction2Root + ε).
void tcn_adam(float *p, float *m, float *v, const float *g, size_t count, float oneMinusBeta1, float beta2,
              float oneMinusBeta2, float correction2Root, float epsilon, float stepSize);

/// y[i] = max(0, a[i]·m[i] + r[i]) (`a[i] + r[i]` when `m` is NULL; NaN passes as in `tcn_relu`): a ReLU temporal
/// block's end — its second stage's dropout, the residual add and the final ReLU — in one pass.
void tcn_relu_residual(const float *a, const float *m, const float *r, float *y, size_t count);

/// The backward of `tcn_relu_residual` after a ReLU that gave `a`: dsum[i] = y[i] > 0 ? dy[i] : 0 (the residual
/// sum's gradient, given the block output y) and g[i] = a[i] > 0 ? dsum[i]·m[i] : 0 (the second convolution's output
/// gradient; no product when `m` is NULL).
void tcn_relu_block_gradient(const float *dy, const float *y, const float *a, const float *m, float *dsum, float *g,
                             size_t count);

/// g[i] = h[i] > 0 ? g[i]·m[i] : 0 (no product when `m` is NULL): the backward of dropout after ReLU, given the
/// dropped-out output h — where the mask is 0 the gradient is 0 either way, elsewhere h and the ReLU's output share
/// their sign.
void tcn_masked_relu_gradient(float *g, const float *h, const float *m, size_t count);

/// sums[c] = Σ_r x[r·channels + c] for a `[rows, channels]` matrix, each channel summed from row 0 up (a
/// channels-last convolution's bias gradient).
void tcn_channel_sums(const float *x, size_t rows, size_t channels, float *sums);

/// dst[j · rows + i] = src[i · cols + j]: one `rows × cols` matrix transposed (for `ncw` ↔ `nwc`; 8 × 8 AVX2 blocks,
/// pure moves, so both paths agree).
void tcn_transpose(const float *src, float *dst, int rows, int cols);

/// Folds time into the batch for `batch` sequences of `time` rows of `channels` floats: plain row `q · fold + r` of
/// sequence b goes to row `q` of sequence `b · fold + r` (each of `time / fold` rows), or back when `unfold` ≠ 0.
/// A convolution with dilation `d` on the plain layout is one with dilation `d / fold` on the folded one.
void tcn_fold(const float *src, float *dst, int batch, int time, int fold, int channels, int unfold);

/// 1 when the AVX2 paths are taken on this CPU, else 0. Both paths give bit-identical results (only exact
/// comparisons and correctly rounded products, sums, quotients and square roots of one or two values, no fused
/// multiply-add).
int tcn_kernels_vectorized(void);

#endif

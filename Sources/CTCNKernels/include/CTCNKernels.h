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

/// 1 when the AVX2 paths are taken on this CPU, else 0. Both paths give bit-identical results (only exact
/// comparisons, products and sums of two values, no fused multiply-add).
int tcn_kernels_vectorized(void);

#endif

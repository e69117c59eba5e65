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

/// 1 when the AVX2 paths are taken on this CPU, else 0. Both paths give bit-identical results (only exact
/// comparisons and correctly rounded products, sums, quotients and square roots of one or two values, no fused
/// multiply-add).
int tcn_kernels_vectorized(void);

#endif

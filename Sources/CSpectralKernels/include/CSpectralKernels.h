// Element-wise kernels for the Spectral module that need AVX2 to be fast (see kernels.c).
#ifndef C_SPECTRAL_KERNELS_H
#define C_SPECTRAL_KERNELS_H

#include <stddef.h>

/// x[i] = multiplier · ln(max(x[i], floor)) for i < count: glibc's vector logf (libmvec, AVX2) when the CPU has
/// AVX2 and FMA, the scalar logf otherwise. Accuracy: within 1 ulp of logf for normal inputs.
void spectral_log_floor(float *x, size_t count, float floor, float multiplier);

/// x[i] = multiplier · log10(max(x[i], floor)) for i < count, dispatched as spectral_log_floor.
void spectral_log10_floor(float *x, size_t count, float floor, float multiplier);

/// 1 when the vector (AVX2 + FMA, libmvec) path is taken on this CPU, else 0.
int spectral_kernels_vectorized(void);

#endif

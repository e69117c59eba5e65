// Element-wise kernels for the TCN module. The package is built for baseline x86-64 (SSE2), where Swift's loops
// use 4-wide vectors at best; these are compiled for AVX2 with `target("avx2")` and only taken after a run-time
// CPU check, so the library still runs on any x86-64. Each operation is exact per element (compare, select, one
// product or one sum), so the vector and scalar paths agree bit for bit.
#include "CTCNKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int tcn_kernels_vectorized(void) { return __builtin_cpu_supports("avx2") ? 1 : 0; }

// max(+0, x) returns its second operand x for NaN and for ±0, exactly `x < 0 ? 0 : x` (torch.relu: NaN stays NaN).
__attribute__((target("avx2"))) static void relu_avx2(const float *x, float *y, size_t count) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(y + i, _mm256_max_ps(zero, _mm256_loadu_ps(x + i)));
    for (; i < count; i++) y[i] = x[i] < 0 ? 0 : x[i];
}

__attribute__((target("avx2"))) static void relu_gradient_avx2(const float *g, const float *x, float *d,
                                                               size_t count) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 positive = _mm256_cmp_ps(_mm256_loadu_ps(x + i), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(d + i, _mm256_and_ps(_mm256_loadu_ps(g + i), positive));
    }
    for (; i < count; i++) d[i] = x[i] > 0 ? g[i] : 0;
}

__attribute__((target("avx2"))) static void multiply_avx2(float *y, const float *m, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(m + i)));
    for (; i < count; i++) y[i] *= m[i];
}

__attribute__((target("avx2"))) static void add_avx2(float *y, const float *r, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(r + i)));
    for (; i < count; i++) y[i] += r[i];
}
#define VECTOR(call)                                                                                                   \
    if (tcn_kernels_vectorized()) {                                                                                    \
        call;                                                                                                          \
        return;                                                                                                        \
    }
#else
int tcn_kernels_vectorized(void) { return 0; }
#define VECTOR(call)
#endif

void tcn_relu(float *x, size_t count) { tcn_relu_copy(x, x, count); }

void tcn_relu_copy(const float *x, float *y, size_t count) {
    VECTOR(relu_avx2(x, y, count))
    for (size_t i = 0; i < count; i++) y[i] = x[i] < 0 ? 0 : x[i];
}

void tcn_relu_gradient(float *g, const float *x, size_t count) { tcn_relu_gradient_copy(g, x, g, count); }

void tcn_relu_gradient_copy(const float *g, const float *x, float *d, size_t count) {
    VECTOR(relu_gradient_avx2(g, x, d, count))
    for (size_t i = 0; i < count; i++) d[i] = x[i] > 0 ? g[i] : 0;
}

void tcn_multiply(float *y, const float *m, size_t count) {
    VECTOR(multiply_avx2(y, m, count))
    for (size_t i = 0; i < count; i++) y[i] *= m[i];
}

void tcn_add(float *y, const float *r, size_t count) {
    VECTOR(add_avx2(y, r, count))
    for (size_t i = 0; i < count; i++) y[i] += r[i];
}

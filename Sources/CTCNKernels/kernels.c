// Element-wise kernels for the TCN module. The package is built for baseline x86-64 (SSE2), where Swift's loops
// use 4-wide vectors at best; these are compiled for AVX2 with `target("avx2")` and only taken after a run-time
// CPU check, so the library still runs on any x86-64. Each operation is exact per element (compare, select, one
// product or one sum), so the vector and scalar paths agree bit for bit.
#include "CTCNKernels.h"

// Never fuse a product and a sum into one FMA: both paths must round every operation as the scalar C does.
#pragma STDC FP_CONTRACT OFF

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
// Adam's update, 8 elements at a time: the scalar expression's operations in its order (sqrt and division are
// correctly rounded in both), so both paths agree bit for bit.
__attribute__((target("avx2"))) static void adam_avx2(float *p, float *m, float *v, const float *g, size_t count,
                                                      float oneMinusBeta1, float beta2, float oneMinusBeta2,
                                                      float correction2Root, float epsilon, float stepSize) {
    const __m256 a1 = _mm256_set1_ps(oneMinusBeta1), b2 = _mm256_set1_ps(beta2), a2 = _mm256_set1_ps(oneMinusBeta2);
    const __m256 c2 = _mm256_set1_ps(correction2Root), eps = _mm256_set1_ps(epsilon), lr = _mm256_set1_ps(stepSize);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_loadu_ps(m + i);
        mi = _mm256_add_ps(mi, _mm256_mul_ps(_mm256_sub_ps(gi, mi), a1));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(a2, gi), gi));
        __m256 denominator = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), c2), eps);
        __m256 pi = _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(lr, mi), denominator));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    for (; i < count; i++) {
        m[i] += (g[i] - m[i]) * oneMinusBeta1;
        v[i] = beta2 * v[i] + oneMinusBeta2 * g[i] * g[i];
        p[i] -= stepSize * m[i] / (__builtin_sqrtf(v[i]) / correction2Root + epsilon);
    }
}
// y = relu(a·m + r) (a·m only with a mask): a temporal block's end for ReLU blocks on the channels-last engine.
__attribute__((target("avx2"))) static void relu_residual_avx2(const float *a, const float *m, const float *r,
                                                               float *y, size_t count) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(a + i);
        if (m) v = _mm256_mul_ps(v, _mm256_loadu_ps(m + i));
        _mm256_storeu_ps(y + i, _mm256_max_ps(zero, _mm256_add_ps(v, _mm256_loadu_ps(r + i))));
    }
    for (; i < count; i++) {
        float v = (m ? a[i] * m[i] : a[i]) + r[i];
        y[i] = v < 0 ? 0 : v;
    }
}

// dsum = y > 0 ? dy : 0;  g = a > 0 ? dsum·m : 0 (dsum without a mask).
__attribute__((target("avx2"))) static void relu_block_gradient_avx2(const float *dy, const float *y, const float *a,
                                                                     const float *m, float *dsum, float *g,
                                                                     size_t count) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 d = _mm256_and_ps(_mm256_loadu_ps(dy + i), _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ));
        _mm256_storeu_ps(dsum + i, d);
        if (m) d = _mm256_mul_ps(d, _mm256_loadu_ps(m + i));
        _mm256_storeu_ps(g + i, _mm256_and_ps(d, _mm256_cmp_ps(_mm256_loadu_ps(a + i), zero, _CMP_GT_OQ)));
    }
    for (; i < count; i++) {
        float d = y[i] > 0 ? dy[i] : 0;
        dsum[i] = d;
        g[i] = a[i] > 0 ? (m ? d * m[i] : d) : 0;
    }
}

// g = h > 0 ? g·m : 0 (g without a mask).
__attribute__((target("avx2"))) static void masked_relu_gradient_avx2(float *g, const float *h, const float *m,
                                                                      size_t count) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 d = _mm256_loadu_ps(g + i);
        if (m) d = _mm256_mul_ps(d, _mm256_loadu_ps(m + i));
        _mm256_storeu_ps(g + i, _mm256_and_ps(d, _mm256_cmp_ps(_mm256_loadu_ps(h + i), zero, _CMP_GT_OQ)));
    }
    for (; i < count; i++) g[i] = h[i] > 0 ? (m ? g[i] * m[i] : g[i]) : 0;
}
// sums[c] = Σ_r x[r·channels + c], each channel summed in row order (8 channels per vector, as the scalar loop).
__attribute__((target("avx2"))) static void channel_sums_avx2(const float *x, size_t rows, size_t channels,
                                                              float *sums) {
    size_t c = 0;
    for (; c + 8 <= channels; c += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (size_t r = 0; r < rows; r++) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + r * channels + c));
        _mm256_storeu_ps(sums + c, acc);
    }
    for (; c < channels; c++) {
        float acc = 0;
        for (size_t r = 0; r < rows; r++) acc += x[r * channels + c];
        sums[c] = acc;
    }
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

void tcn_adam(float *p, float *m, float *v, const float *g, size_t count, float oneMinusBeta1, float beta2,
              float oneMinusBeta2, float correction2Root, float epsilon, float stepSize) {
    VECTOR(adam_avx2(p, m, v, g, count, oneMinusBeta1, beta2, oneMinusBeta2, correction2Root, epsilon, stepSize))
    for (size_t i = 0; i < count; i++) {
        m[i] += (g[i] - m[i]) * oneMinusBeta1;
        v[i] = beta2 * v[i] + oneMinusBeta2 * g[i] * g[i];
        p[i] -= stepSize * m[i] / (__builtin_sqrtf(v[i]) / correction2Root + epsilon);
    }
}

void tcn_relu_residual(const float *a, const float *m, const float *r, float *y, size_t count) {
    VECTOR(relu_residual_avx2(a, m, r, y, count))
    for (size_t i = 0; i < count; i++) {
        float v = (m ? a[i] * m[i] : a[i]) + r[i];
        y[i] = v < 0 ? 0 : v;
    }
}

void tcn_relu_block_gradient(const float *dy, const float *y, const float *a, const float *m, float *dsum, float *g,
                             size_t count) {
    VECTOR(relu_block_gradient_avx2(dy, y, a, m, dsum, g, count))
    for (size_t i = 0; i < count; i++) {
        float d = y[i] > 0 ? dy[i] : 0;
        dsum[i] = d;
        g[i] = a[i] > 0 ? (m ? d * m[i] : d) : 0;
    }
}

void tcn_masked_relu_gradient(float *g, const float *h, const float *m, size_t count) {
    VECTOR(masked_relu_gradient_avx2(g, h, m, count))
    for (size_t i = 0; i < count; i++) g[i] = h[i] > 0 ? (m ? g[i] * m[i] : g[i]) : 0;
}

void tcn_channel_sums(const float *x, size_t rows, size_t channels, float *sums) {
    VECTOR(channel_sums_avx2(x, rows, channels, sums))
    for (size_t c = 0; c < channels; c++) {
        float acc = 0;
        for (size_t r = 0; r < rows; r++) acc += x[r * channels + c];
        sums[c] = acc;
    }
}

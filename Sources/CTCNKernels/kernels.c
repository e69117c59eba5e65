// Element-wise kernels for the TCN module. The package is built for baseline x86-64 (SSE2), where Swift's loops
// use 4-wide vectors at best; these are compiled for AVX2 with `target("avx2")` and only taken after a run-time
// CPU check, so the library still runs on any x86-64. Each operation is exact per element (compare, select, one
// product or one sum), so the vector and scalar paths agree bit for bit.
#include "CTCNKernels.h"

#include <string.h>

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
// The 8 × 8 block at src (row stride ls) transposed into dst (row stride ld).
__attribute__((target("avx2"))) static void transpose8(const float *src, size_t ls, float *dst, size_t ld) {
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ls);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + i * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        _mm256_storeu_ps(dst + (i + 4) * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
}

static void transpose_rest(const float *src, float *dst, int rows, int cols, int rows8, int cols8);

// Whole 8 × 8 blocks of the top-left corner, then the rest.
__attribute__((target("avx2"))) static void transpose_avx2(const float *src, float *dst, int rows, int cols) {
    const int rows8 = rows & ~7, cols8 = cols & ~7;
    for (int i = 0; i < rows8; i += 8)
        for (int j = 0; j < cols8; j += 8) transpose8(src + (size_t)i * cols + j, cols, dst + (size_t)j * rows + i, rows);
    transpose_rest(src, dst, rows, cols, rows8, cols8);
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

// Everything outside the top-left `rows8 × cols8` corner (all of it when both are 0): the right-hand columns of its
// rows, then the remaining rows, in 16 × 16 tiles.
static void transpose_rest(const float *src, float *dst, int rows, int cols, int rows8, int cols8) {
    for (int i = 0; i < rows8; i++)
        for (int j = cols8; j < cols; j++) dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
    enum { B = 16 };
    for (int i0 = rows8; i0 < rows; i0 += B) {
        int i1 = i0 + B < rows ? i0 + B : rows;
        for (int j0 = 0; j0 < cols; j0 += B) {
            int j1 = j0 + B < cols ? j0 + B : cols;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
        }
    }
}

void tcn_transpose(const float *src, float *dst, int rows, int cols) {
    VECTOR(transpose_avx2(src, dst, rows, cols))
    transpose_rest(src, dst, rows, cols, 0, 0);
}

void tcn_fold(const float *src, float *dst, int batch, int time, int fold, int channels, int unfold) {
    const int rows = time / fold;
    const size_t bytes = (size_t)channels * sizeof(float);
    for (int b = 0; b < batch; b++) {
        for (int q = 0; q < rows; q++) {
            for (int r = 0; r < fold; r++) {
                size_t plain = ((size_t)b * time + (size_t)q * fold + r) * channels;
                size_t folded = (((size_t)b * fold + r) * rows + q) * channels;
                if (unfold)
                    memcpy(dst + plain, src + folded, bytes);
                else
                    memcpy(dst + folded, src + plain, bytes);
            }
        }
    }
}

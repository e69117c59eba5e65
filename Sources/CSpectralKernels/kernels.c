// Vector logarithms for the Spectral module. The package is built for baseline x86-64 (SSE2), where Swift calls
// the scalar logf once per element; log-mel features take ~5 M logarithms per 10 minutes of audio. glibc's libmvec
// provides AVX2 logf/log10f (`_ZGVdN8v_logf`, `_ZGVdN8v_log10f`); these functions are compiled for AVX2 with
// `target("avx2,fma")` and only called after a run-time CPU check, so the library still runs on any x86-64.
#include "CSpectralKernels.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GLIBC__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_logf(__m256);
__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_log10f(__m256);

int spectral_kernels_vectorized(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma"))) static void log_avx2(float *x, size_t count, float floor, float multiplier,
                                                          int base10) {
    const __m256 lower = _mm256_set1_ps(floor);
    const __m256 scale = _mm256_set1_ps(multiplier);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_max_ps(_mm256_loadu_ps(x + i), lower);
        v = base10 ? _ZGVdN8v_log10f(v) : _ZGVdN8v_logf(v);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(v, scale));
    }
    for (; i < count; i++) {
        float v = fmaxf(x[i], floor);
        x[i] = multiplier * (base10 ? log10f(v) : logf(v));
    }
}
#else
int spectral_kernels_vectorized(void) { return 0; }
#endif

void spectral_log_floor(float *x, size_t count, float floor, float multiplier) {
#if defined(__x86_64__) && defined(__GLIBC__)
    if (spectral_kernels_vectorized()) {
        log_avx2(x, count, floor, multiplier, 0);
        return;
    }
#endif
    for (size_t i = 0; i < count; i++) x[i] = multiplier * logf(fmaxf(x[i], floor));
}

void spectral_log10_floor(float *x, size_t count, float floor, float multiplier) {
#if defined(__x86_64__) && defined(__GLIBC__)
    if (spectral_kernels_vectorized()) {
        log_avx2(x, count, floor, multiplier, 1);
        return;
    }
#endif
    for (size_t i = 0; i < count; i++) x[i] = multiplier * log10f(fmaxf(x[i], floor));
}

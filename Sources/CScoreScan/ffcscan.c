// Identification's impostor-row scan (see include/ffcscan.h). Bins are computed for a strip of
// scores at a time in SIMD registers — AVX-512 when the CPU has it (checked at run time, and
// not when FFC_ISA names sse2 or avx2, as for the channel kernels), else SSE2 (x86-64's
// baseline); every path gives the same bins — then counted one by one: the increments are scattered and
// dominate the cost; the running maximum rides along in the vector registers.
#include "ffcscan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { STRIP = 512 };

static inline int32_t bin_of(float v, float half_bins, float last) {
    float t = (v + 1.0f) * half_bins;
    t = t > 0.0f ? t : 0.0f;  // NaN goes to bin 0
    t = t < last ? t : last;
    return (int32_t)t;
}

#if defined(__x86_64__)
// Whether the AVX-512 strip runs: the CPU has it and FFC_ISA does not ask for less. Read once;
// racing first calls compute the same answer.
static int use_avx512(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *isa = getenv("FFC_ISA");
        int capped = isa && (strcmp(isa, "sse2") == 0 || strcmp(isa, "avx2") == 0);
        v = !capped && __builtin_cpu_supports("avx512f");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

// Bins and maximum of `len` scores (a multiple of 32) with AVX-512; returns max(top, scores).
__attribute__((target("avx512f"))) static float strip_avx512(
    const float *s, long len, int32_t *bins, float half_bins, float last, float top) {
    const __m512 one = _mm512_set1_ps(1.0f), h = _mm512_set1_ps(half_bins), zero = _mm512_setzero_ps();
    const __m512 lastv = _mm512_set1_ps(last);
    __m512 m0 = _mm512_set1_ps(top), m1 = m0;
    for (long k = 0; k < len; k += 32) {
        const __m512 v0 = _mm512_loadu_ps(s + k), v1 = _mm512_loadu_ps(s + k + 16);
        m0 = _mm512_max_ps(m0, v0);
        m1 = _mm512_max_ps(m1, v1);
        const __m512 t0 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_add_ps(v0, one), h), zero), lastv);
        const __m512 t1 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_add_ps(v1, one), h), zero), lastv);
        _mm512_store_si512((__m512i *)(bins + k), _mm512_cvttps_epi32(t0));
        _mm512_store_si512((__m512i *)(bins + k + 16), _mm512_cvttps_epi32(t1));
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

// Bins of four scores; max(t, 0) comes first so a NaN lane becomes 0, never an index.
static inline __m128i bins4(__m128 v, __m128 one, __m128 h, __m128 zero, __m128 last) {
    return _mm_cvttps_epi32(_mm_min_ps(_mm_max_ps(_mm_mul_ps(_mm_add_ps(v, one), h), zero), last));
}
#endif

long ffc_scan_impostor_row(
    const float *row, long n, uint32_t *hist, float half_bins, int32_t last_bin, float *best) {
    int32_t bins[STRIP] __attribute__((aligned(64)));
    const float last = (float)last_bin;
    float top = -INFINITY;
#if defined(__SSE2__)
    const __m128 one = _mm_set1_ps(1.0f), h = _mm_set1_ps(half_bins), zero = _mm_setzero_ps();
    const __m128 lastv = _mm_set1_ps(last);
    __m128 m0 = _mm_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
#endif
    for (long c = 0; c < n; c += STRIP) {
        const float *s = row + c;
        const long len = n - c < STRIP ? n - c : STRIP;
        long k = 0;
#if defined(__x86_64__)
        if (len >= 32 && use_avx512()) {
            k = len & ~31L;
            top = strip_avx512(s, k, bins, half_bins, last, top);
        }
#endif
#if defined(__SSE2__)
        for (; k + 16 <= len; k += 16) {
            const __m128 v0 = _mm_loadu_ps(s + k), v1 = _mm_loadu_ps(s + k + 4);
            const __m128 v2 = _mm_loadu_ps(s + k + 8), v3 = _mm_loadu_ps(s + k + 12);
            m0 = _mm_max_ps(m0, v0);
            m1 = _mm_max_ps(m1, v1);
            m2 = _mm_max_ps(m2, v2);
            m3 = _mm_max_ps(m3, v3);
            _mm_store_si128((__m128i *)(bins + k), bins4(v0, one, h, zero, lastv));
            _mm_store_si128((__m128i *)(bins + k + 4), bins4(v1, one, h, zero, lastv));
            _mm_store_si128((__m128i *)(bins + k + 8), bins4(v2, one, h, zero, lastv));
            _mm_store_si128((__m128i *)(bins + k + 12), bins4(v3, one, h, zero, lastv));
        }
#endif
        for (; k < len; k++) {
            top = s[k] > top ? s[k] : top;
            bins[k] = bin_of(s[k], half_bins, last);
        }
        long j = 0;
        for (; j + 4 <= len; j += 4) {
            hist[bins[j]]++;
            hist[bins[j + 1]]++;
            hist[bins[j + 2]]++;
            hist[bins[j + 3]]++;
        }
        for (; j < len; j++) hist[bins[j]]++;
    }
#if defined(__SSE2__)
    float lanes[4];
    _mm_storeu_ps(lanes, _mm_max_ps(_mm_max_ps(m0, m1), _mm_max_ps(m2, m3)));
    for (int l = 0; l < 4; l++) top = lanes[l] > top ? lanes[l] : top;
#endif
    if (!(top > *best)) return -1;
    for (long c = 0; c < n; c++) {
        if (row[c] == top) {
            *best = top;
            return c;
        }
    }
    return -1;
}

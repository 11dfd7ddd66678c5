// The channel kernels' variants and their run-time choice (see include/ffckernels.h). lanes.h
// holds the kernels once; it is included here for the baseline and, on x86-64, again under
// `target("avx2,fma")`, so the two copies are the same code compiled for two instruction sets.
// Contraction is off for the whole file: `a * b + c` stays a multiply and an add (as in the
// Swift code this replaced), so the AVX2 copy cannot fuse it into an FMA and differ in the
// last bit from the baseline.
#pragma clang fp contract(off)

#include "ffckernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

#define K(name) name##_sse2
static const char isa_name_sse2[] = "sse2";
#include "lanes.h"
#undef K

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define K(name) name##_avx2
static const char isa_name_avx2[] = "avx2";
#include "lanes.h"
#undef K
#pragma clang attribute pop
#endif

static int cpu_has_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

const ffc_channel_kernels *ffc_channel_kernels_variant(const char *isa) {
    if (strcmp(isa, "sse2") == 0) return &kernels_sse2;
#if defined(__x86_64__)
    if (strcmp(isa, "avx2") == 0) return cpu_has_avx2() ? &kernels_avx2 : NULL;
#endif
    return NULL;
}

static const ffc_channel_kernels *active;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

// The best variant the CPU runs, unless FFC_ISA names another it runs.
static void choose(void) {
    const char *forced = getenv("FFC_ISA");
    const ffc_channel_kernels *best = ffc_channel_kernels_variant("avx2");
    if (!best) best = &kernels_sse2;
    const ffc_channel_kernels *wanted = forced ? ffc_channel_kernels_variant(forced) : NULL;
    active = wanted ? wanted : best;
}

const ffc_channel_kernels *ffc_channel_kernels_active(void) {
    pthread_once(&chosen, choose);
    return active;
}

void ffc_bn_apply(
    const float *x, float *y, long rows, long c, const float *a, const float *b, const float *slopes) {
    ffc_channel_kernels_active()->bn_apply(x, y, rows, c, a, b, slopes);
}

void ffc_bn_moments(const float *x, long rows, long c, const float *center, float *sum, float *sum_squares) {
    ffc_channel_kernels_active()->bn_moments(x, rows, c, center, sum, sum_squares);
}

void ffc_bn_grad_sums(
    const float *x, const float *dy, long rows, long c, const float *a, const float *b, const float *slopes,
    const float *center, float *sum_grad, float *sum_grad_centered, float *sum_slope) {
    ffc_channel_kernels_active()->bn_grad_sums(
        x, dy, rows, c, a, b, slopes, center, sum_grad, sum_grad_centered, sum_slope);
}

void ffc_bn_input_grad(
    const float *x, const float *dy, float *dx, long rows, long c, const float *a, const float *b,
    const float *slopes, const float *center, const float *k, const float *u, const float *v) {
    ffc_channel_kernels_active()->bn_input_grad(x, dy, dx, rows, c, a, b, slopes, center, k, u, v);
}

void ffc_prelu_forward(const float *x, float *y, long rows, long c, const float *slopes) {
    ffc_channel_kernels_active()->prelu_forward(x, y, rows, c, slopes);
}

void ffc_prelu_backward(
    const float *x, const float *dy, float *dx, long rows, long c, const float *slopes, float *sums) {
    ffc_channel_kernels_active()->prelu_backward(x, dy, dx, rows, c, slopes, sums);
}

void ffc_dw_gather(
    const float *values, const float *weights, const ptrdiff_t *taps, const ptrdiff_t *tap_ends, long pixels,
    float *out, long c) {
    ffc_channel_kernels_active()->dw_gather(values, weights, taps, tap_ends, pixels, out, c);
}

void ffc_dw_add_tap(const float *outputs, const float *inputs, long count, long step, long c, float *sum) {
    ffc_channel_kernels_active()->dw_add_tap(outputs, inputs, count, step, c, sum);
}

void ffc_dw_weight_grad_3x3(
    const float *output_grads, const float *inputs, long row_stride, long step, long count, float *block, long c) {
    ffc_channel_kernels_active()->dw_weight_grad_3x3(output_grads, inputs, row_stride, step, count, block, c);
}

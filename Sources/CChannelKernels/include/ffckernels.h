// The engine's hot per-channel loops (batch norm, PReLU, depthwise convolution) in C, so they
// can run eight channels per AVX2 instruction without compiling the whole engine for AVX2: each
// kernel exists as a baseline variant (SSE2 on x86-64, the plain vector code elsewhere) and, on
// x86-64, an AVX2 variant (function-level `target("avx2,fma")`). The wrappers below call the
// variant chosen once, on first use, from the CPU (`__builtin_cpu_supports`); the environment
// variable FFC_ISA=sse2 forces the baseline (FFC_ISA=avx2 asks for AVX2 and still gets the
// baseline on a CPU without it).
//
// Every variant computes each channel with the same operations in the same order as the
// others and as the Swift code these replaced (no fused multiply-add: the file turns
// floating-point contraction off), so results are bit-identical whichever variant runs.
//
// Data is NHWC: a row is C contiguous floats, one per channel; `rows` rows follow each other.
// Per-channel arrays (a, b, slopes, center, k, u, v, sums) hold C floats.
#ifndef FFCKERNELS_H
#define FFCKERNELS_H

#include <stddef.h>

/// y = a·x + b per channel, then, when `slopes` is not NULL, a PReLU: y·slope where y ≤ 0.
void ffc_bn_apply(
    const float *x, float *y, long rows, long c, const float *a, const float *b, const float *slopes);

/// sum += x − center, sum_squares += (x − center)² per channel, over `rows` rows.
void ffc_bn_moments(const float *x, long rows, long c, const float *center, float *sum, float *sum_squares);

/// Batch norm's backward sums over `rows` rows. dz is dy, or, when `slopes` is not NULL, dy
/// through the PReLU at z = a·x + b (dy·slope where z ≤ 0). sum_grad += dz,
/// sum_grad_centered += dz·(x − center), and with slopes sum_slope += dy·z where z ≤ 0.
void ffc_bn_grad_sums(
    const float *x, const float *dy, long rows, long c, const float *a, const float *b, const float *slopes,
    const float *center, float *sum_grad, float *sum_grad_centered, float *sum_slope);

/// dx = k·dz + u·(x − center) + v per channel, dz as in `ffc_bn_grad_sums`.
void ffc_bn_input_grad(
    const float *x, const float *dy, float *dx, long rows, long c, const float *a, const float *b,
    const float *slopes, const float *center, const float *k, const float *u, const float *v);

/// y = x where x > 0, x·slope otherwise.
void ffc_prelu_forward(const float *x, float *y, long rows, long c, const float *slopes);

/// dx = dy where x > 0, dy·slope otherwise; sums += dy·x where x ≤ 0.
void ffc_prelu_backward(
    const float *x, const float *dy, float *dx, long rows, long c, const float *slopes, float *sums);

/// Depthwise gather for `pixels` output pixels: pixel i's C sums are stored at out + i·c and
/// are Σ values[taps[2t] + ch] · weights[taps[2t + 1] + ch] over t in tap_ends[i − 1]..<tap_ends[i]
/// (tap_ends[−1] taken as 0), summed in tap order from 0.
void ffc_dw_gather(
    const float *values, const float *weights, const ptrdiff_t *taps, const ptrdiff_t *tap_ends, long pixels,
    float *out, long c);

/// sum[ch] += Σ over j < count of outputs[j·c + ch] · inputs[j·step + ch]: one tap of the
/// depthwise weight gradient over a run of pixels, in four interleaved partial sums
/// (j mod 4) added as (s0 + s1) + (s2 + s3).
void ffc_dw_add_tap(const float *outputs, const float *inputs, long count, long step, long c, float *sum);

/// block[(3·ky + kx)·c + ch] += Σ over j < count of output_grads[j·c + ch] ·
/// inputs[ky·row_stride + j·step + kx·c + ch]: the 3×3 depthwise weight gradient of a row of
/// windows inside the input, summed per tile of eight pixels and then added to block.
void ffc_dw_weight_grad_3x3(
    const float *output_grads, const float *inputs, long row_stride, long step, long count, float *block, long c);

/// One variant's kernels, for tests that compare the variants directly.
typedef struct ffc_channel_kernels {
    const char *isa;  // "sse2" (the baseline; also its name off x86-64) or "avx2"
    void (*bn_apply)(const float *, float *, long, long, const float *, const float *, const float *);
    void (*bn_moments)(const float *, long, long, const float *, float *, float *);
    void (*bn_grad_sums)(
        const float *, const float *, long, long, const float *, const float *, const float *, const float *,
        float *, float *, float *);
    void (*bn_input_grad)(
        const float *, const float *, float *, long, long, const float *, const float *, const float *,
        const float *, const float *, const float *, const float *);
    void (*prelu_forward)(const float *, float *, long, long, const float *);
    void (*prelu_backward)(const float *, const float *, float *, long, long, const float *, float *);
    void (*dw_gather)(const float *, const float *, const ptrdiff_t *, const ptrdiff_t *, long, float *, long);
    void (*dw_add_tap)(const float *, const float *, long, long, long, float *);
    void (*dw_weight_grad_3x3)(const float *, const float *, long, long, long, float *, long);
} ffc_channel_kernels;

/// The variant the wrappers above call (chosen on the first call of any of them).
const ffc_channel_kernels *ffc_channel_kernels_active(void);

/// The variant named `isa` ("sse2" or "avx2"), or NULL when this CPU or build cannot run it.
const ffc_channel_kernels *ffc_channel_kernels_variant(const char *isa);

#endif

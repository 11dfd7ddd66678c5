// A probe of oneDNN (Debian's libdnnl 2.6.3) convolutions for `ffc bench engine --conv`: what
// implementation oneDNN picks on this CPU for fp32 and bf16, and how fast it runs, beside our
// own convolution. bf16 needs avx512_core (AVX512-BF16 or AMX for speed) in oneDNN 2.6; on a
// CPU without it the primitive cannot be created and the probe says so instead of timing.
//
// Shapes are one square-kernel convolution: batch n, cin → cout channels, kernel k, stride,
// padding k/2, input side × side.
#ifndef FFCDNNL_H
#define FFCDNNL_H

typedef struct {
    int n, cin, cout, kernel, stride, side;
} ffc_dnnl_shape;

typedef enum {
    FFC_DNNL_FORWARD = 0,
    FFC_DNNL_BACKWARD_DATA = 1,
    FFC_DNNL_BACKWARD_WEIGHTS = 2,
} ffc_dnnl_pass;

typedef struct {
    /// The fastest of the timed repeats, in seconds.
    double seconds;
    /// oneDNN's implementation name, e.g. "jit:avx2" or "brgconv:avx512_core_amx_bf16".
    char implementation[96];
    /// Why the primitive could not be created or run, when the call returns non-zero.
    char error[160];
} ffc_dnnl_timing;

/// Times `repeats` runs (after one untimed) of one pass in the layouts oneDNN prefers
/// (format `any`, so blocked where it likes), fp32 or bf16 data with fp32 accumulation.
/// Returns 0, or non-zero with `out->error` set.
int ffc_dnnl_time_convolution(
    ffc_dnnl_pass pass, int bf16, ffc_dnnl_shape shape, int repeats, ffc_dnnl_timing *out);

/// An fp32 forward on plain buffers in our layouts: src NHWC (n, side, side, cin), weights
/// (cout, k, k, cin), dst NHWC. The probe's check that it times the same convolution we
/// compute. Returns 0, or non-zero with `error` set.
int ffc_dnnl_forward_nhwc(
    ffc_dnnl_shape shape, const float *src, const float *weights, float *dst, char *error, int error_length);

/// The threads oneDNN's OpenMP runtime uses from now on.
void ffc_dnnl_set_threads(int threads);

#endif

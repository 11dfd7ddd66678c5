#include "ffcdnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

// libgomp's, which libdnnl is built against (declared here: clang ships no omp.h on Debian).
extern void omp_set_num_threads(int);

void ffc_dnnl_set_threads(int threads) { omp_set_num_threads(threads > 0 ? threads : 1); }

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/// One oneDNN context: engine, stream, and every object the call creates, released together.
typedef struct {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_desc_t descs[2];
    dnnl_primitive_t primitive;
    dnnl_memory_t memories[4];
    int memory_count;
    char *error;
    int error_length;
} context;

static int fail(context *c, const char *what, dnnl_status_t status) {
    const char *reason = status == dnnl_unimplemented
        ? "oneDNN has no implementation for this CPU"
        : "oneDNN call failed";
    snprintf(c->error, (size_t)c->error_length, "%s: %s (status %d)", what, reason, (int)status);
    return 1;
}

static void release(context *c) {
    for (int i = 0; i < c->memory_count; i++) dnnl_memory_destroy(c->memories[i]);
    if (c->primitive) dnnl_primitive_destroy(c->primitive);
    for (int i = 0; i < 2; i++)
        if (c->descs[i]) dnnl_primitive_desc_destroy(c->descs[i]);
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->engine) dnnl_engine_destroy(c->engine);
}

#define CHECK(call, what)                                   \
    do {                                                    \
        dnnl_status_t status_ = (call);                     \
        if (status_ != dnnl_success) return fail(c, what, status_); \
    } while (0)

typedef struct {
    dnnl_memory_desc_t src, weights, dst;
    dnnl_dims_t strides, padding;
} descriptors;

static descriptors describe(ffc_dnnl_shape s, dnnl_data_type_t type, dnnl_format_tag_t activations,
                            dnnl_format_tag_t weights) {
    descriptors d;
    int out = (s.side + 2 * (s.kernel / 2) - s.kernel) / s.stride + 1;
    dnnl_dims_t src = {s.n, s.cin, s.side, s.side}, wei = {s.cout, s.cin, s.kernel, s.kernel},
                dst = {s.n, s.cout, out, out};
    dnnl_memory_desc_init_by_tag(&d.src, 4, src, type, activations);
    dnnl_memory_desc_init_by_tag(&d.weights, 4, wei, type, weights);
    dnnl_memory_desc_init_by_tag(&d.dst, 4, dst, type, activations);
    d.strides[0] = d.strides[1] = s.stride;
    d.padding[0] = d.padding[1] = s.kernel / 2;
    return d;
}

static int forward_desc(context *c, descriptors *d, dnnl_prop_kind_t kind) {
    dnnl_convolution_desc_t op;
    CHECK(dnnl_convolution_forward_desc_init(&op, kind, dnnl_convolution_direct, &d->src, &d->weights, NULL,
                                             &d->dst, d->strides, d->padding, d->padding),
          "convolution forward descriptor");
    CHECK(dnnl_primitive_desc_create(&c->descs[0], &op, NULL, c->engine, NULL), "convolution forward");
    return 0;
}

/// A memory of `desc` (allocated by oneDNN) filled with a small constant, so no pass meets
/// denormals or NaNs from uninitialised bytes.
static int filled_memory(context *c, const dnnl_memory_desc_t *desc, int bf16, dnnl_exec_arg_t *arg, int name) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, desc, c->engine, DNNL_MEMORY_ALLOCATE), "memory");
    c->memories[c->memory_count++] = m;
    void *data = NULL;
    CHECK(dnnl_memory_get_data_handle(m, &data), "memory handle");
    size_t bytes = dnnl_memory_desc_get_size(desc);
    if (bf16) {
        uint16_t *p = data;
        for (size_t i = 0; i < bytes / 2; i++) p[i] = 0x3c24;  // ≈ 0.01
    } else {
        float *p = data;
        for (size_t i = 0; i < bytes / 4; i++) p[i] = 0.01f;
    }
    arg->arg = name;
    arg->memory = m;
    return 0;
}

static int time_pass(context *c, ffc_dnnl_pass pass, int bf16, ffc_dnnl_shape shape, int repeats,
                     ffc_dnnl_timing *out) {
    CHECK(dnnl_engine_create(&c->engine, dnnl_cpu, 0), "engine");
    CHECK(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags), "stream");
    descriptors d = describe(shape, bf16 ? dnnl_bf16 : dnnl_f32, dnnl_format_tag_any, dnnl_format_tag_any);
    if (forward_desc(c, &d, dnnl_forward_training)) return 1;
    dnnl_primitive_desc_t pd = c->descs[0];
    if (pass != FFC_DNNL_FORWARD) {
        // The backward passes take the forward as their hint and, like it, choose their own
        // layouts (format `any`; the forward's blocked layouts would leave only ref:any).
        const dnnl_memory_desc_t *src = &d.src, *wei = &d.weights, *dst = &d.dst;
        dnnl_convolution_desc_t op;
        if (pass == FFC_DNNL_BACKWARD_DATA) {
            CHECK(dnnl_convolution_backward_data_desc_init(&op, dnnl_convolution_direct, src, wei, dst, d.strides,
                                                           d.padding, d.padding),
                  "convolution backward-data descriptor");
        } else {
            CHECK(dnnl_convolution_backward_weights_desc_init(&op, dnnl_convolution_direct, src, wei, NULL, dst,
                                                              d.strides, d.padding, d.padding),
                  "convolution backward-weights descriptor");
        }
        CHECK(dnnl_primitive_desc_create(&c->descs[1], &op, NULL, c->engine, pd),
              pass == FFC_DNNL_BACKWARD_DATA ? "convolution backward data" : "convolution backward weights");
        pd = c->descs[1];
    }
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(out->implementation, sizeof out->implementation, "%s", impl ? impl : "?");
    if (strncmp(out->implementation, "ref", 3) == 0) {
        // oneDNN's reference loops run minutes on a backbone's shape: not a fast path to time.
        snprintf(out->error, sizeof out->error, "only oneDNN's reference implementation (%s): not timed",
                 out->implementation);
        return 1;
    }

    static const dnnl_query_t queries[3][3] = {
        {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
        {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md},
        {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md},
    };
    static const int names[3][3] = {
        {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
        {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
        {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST},
    };
    dnnl_exec_arg_t args[4];
    int nargs = 0;
    for (int i = 0; i < 3; i++)
        if (filled_memory(c, dnnl_primitive_desc_query_md(pd, queries[pass][i], 0), bf16, &args[nargs++],
                          names[pass][i]))
            return 1;
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (scratch && dnnl_memory_desc_get_size(scratch) > 0)
        if (filled_memory(c, scratch, 0, &args[nargs++], DNNL_ARG_SCRATCHPAD)) return 1;

    CHECK(dnnl_primitive_create(&c->primitive, pd), "primitive");
    out->seconds = 1e30;
    for (int r = 0; r <= repeats; r++) {
        double start = now_seconds();
        CHECK(dnnl_primitive_execute(c->primitive, c->stream, nargs, args), "execute");
        CHECK(dnnl_stream_wait(c->stream), "stream wait");
        double elapsed = now_seconds() - start;
        if (r > 0 && elapsed < out->seconds) out->seconds = elapsed;
    }
    return 0;
}

int ffc_dnnl_time_convolution(ffc_dnnl_pass pass, int bf16, ffc_dnnl_shape shape, int repeats,
                              ffc_dnnl_timing *out) {
    context c = {0};
    memset(out, 0, sizeof *out);
    c.error = out->error;
    c.error_length = (int)sizeof out->error;
    int result = time_pass(&c, pass, bf16, shape, repeats < 1 ? 1 : repeats, out);
    release(&c);
    return result;
}

static int forward_plain(context *c, ffc_dnnl_shape shape, const float *src, const float *weights, float *dst) {
    CHECK(dnnl_engine_create(&c->engine, dnnl_cpu, 0), "engine");
    CHECK(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags), "stream");
    descriptors d = describe(shape, dnnl_f32, dnnl_nhwc, dnnl_ohwi);
    if (forward_desc(c, &d, dnnl_forward_inference)) return 1;
    const dnnl_memory_desc_t *descs[3] = {&d.src, &d.weights, &d.dst};
    void *handles[3] = {(void *)src, (void *)weights, dst};
    int names[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    dnnl_exec_arg_t args[4];
    for (int i = 0; i < 3; i++) {
        CHECK(dnnl_memory_create(&c->memories[c->memory_count], descs[i], c->engine, handles[i]), "memory");
        args[i].arg = names[i];
        args[i].memory = c->memories[c->memory_count++];
    }
    int nargs = 3;
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(c->descs[0], dnnl_query_scratchpad_md, 0);
    if (scratch && dnnl_memory_desc_get_size(scratch) > 0)
        if (filled_memory(c, scratch, 0, &args[nargs++], DNNL_ARG_SCRATCHPAD)) return 1;
    CHECK(dnnl_primitive_create(&c->primitive, c->descs[0]), "primitive");
    CHECK(dnnl_primitive_execute(c->primitive, c->stream, nargs, args), "execute");
    CHECK(dnnl_stream_wait(c->stream), "stream wait");
    return 0;
}

int ffc_dnnl_forward_nhwc(ffc_dnnl_shape shape, const float *src, const float *weights, float *dst, char *error,
                          int error_length) {
    context c = {0};
    c.error = error;
    c.error_length = error_length;
    int result = forward_plain(&c, shape, src, weights, dst);
    release(&c);
    return result;
}

// The kernels' bodies, included twice by ffckernels.c: once for the baseline and once under
// `target("avx2,fma")`, with K(name) giving each copy's names their variant's suffix. The code
// is written on eight-float vectors (clang's vector extension): the AVX2 copy keeps one in a
// ymm register, the baseline copy splits it into two SSE2 halves; either way each lane sees
// the same operations in the same order. A row's last group, when C is not a multiple of 8,
// loads its channels into a zeroed vector and stores only those channels back, like the full
// groups otherwise; `group` functions are always inlined with the width 8 as a constant for
// full groups, so their loads and stores are single vector instructions.
#pragma clang fp contract(off)

#define INLINE static inline __attribute__((always_inline))

/// Calls BODY(ch, width, ...) on each group of eight channels of a row of `c`.
#define FOR_EACH_GROUP(c, BODY, ...)                                   \
    do {                                                               \
        long ch_ = 0;                                                  \
        for (; ch_ + 8 <= (c); ch_ += 8) BODY(ch_, 8, __VA_ARGS__);    \
        if (ch_ < (c)) BODY(ch_, (c) - ch_, __VA_ARGS__);              \
    } while (0)

INLINE void K(load)(v8f *v, const float *p, long w) {
    if (w >= 8) {
        __builtin_memcpy(v, p, sizeof *v);
        return;
    }
    *v = (v8f){0};
    for (long i = 0; i < w; i++) (*v)[i] = p[i];
}

INLINE void K(store)(const v8f *v, float *p, long w) {
    if (w >= 8) {
        __builtin_memcpy(p, v, sizeof *v);
        return;
    }
    for (long i = 0; i < w; i++) p[i] = (*v)[i];
}

#define LOAD(name, p, w) \
    v8f name;            \
    K(load)(&name, (p), (w))
#define STORE(value, p, w)          \
    do {                            \
        const v8f s_ = (value);     \
        K(store)(&s_, (p), (w));    \
    } while (0)

/// Lanes of `a` where `m` is set, of `b` elsewhere.
#define SELECT(m, a, b) ((v8f)(((v8i)(a) & (m)) | ((v8i)(b) & ~(m))))

// Batch norm forward: y = a·x + b, optionally then PReLU.
INLINE void K(bn_apply_group)(long ch, long w, const float *from, float *to, const float *a, const float *b) {
    LOAD(x, from + ch, w);
    LOAD(av, a + ch, w);
    LOAD(bv, b + ch, w);
    STORE(x * av + bv, to + ch, w);
}

INLINE void K(bn_apply_prelu_group)(
    long ch, long w, const float *from, float *to, const float *a, const float *b, const float *slopes) {
    LOAD(x, from + ch, w);
    LOAD(av, a + ch, w);
    LOAD(bv, b + ch, w);
    LOAD(s, slopes + ch, w);
    const v8f z = x * av + bv;
    STORE(SELECT(z <= 0, z * s, z), to + ch, w);
}

static void K(bn_apply)(
    const float *x, float *y, long rows, long c, const float *a, const float *b, const float *slopes) {
    for (long r = 0; r < rows; r++) {
        const float *from = x + r * c;
        float *to = y + r * c;
        if (slopes)
            FOR_EACH_GROUP(c, K(bn_apply_prelu_group), from, to, a, b, slopes);
        else
            FOR_EACH_GROUP(c, K(bn_apply_group), from, to, a, b);
    }
}

// Batch norm moments around `center`.
INLINE void K(bn_moments_group)(
    long ch, long w, const float *row, const float *center, float *sum, float *sum_squares) {
    LOAD(x, row + ch, w);
    LOAD(m, center + ch, w);
    LOAD(s, sum + ch, w);
    LOAD(q, sum_squares + ch, w);
    const v8f d = x - m;
    STORE(s + d, sum + ch, w);
    STORE(q + d * d, sum_squares + ch, w);
}

static void K(bn_moments)(const float *x, long rows, long c, const float *center, float *sum, float *sum_squares) {
    for (long r = 0; r < rows; r++) FOR_EACH_GROUP(c, K(bn_moments_group), x + r * c, center, sum, sum_squares);
}

// dz, the gradient at the batch norm's output, and (with slopes) dy·z where z ≤ 0.
INLINE void K(output_grad)(
    v8f *dz, v8f *d_slope, long ch, long w, const float *from, const float *g, const float *a, const float *b,
    const float *slopes) {
    LOAD(dyv, g + ch, w);
    if (!slopes) {
        *dz = dyv;
        *d_slope = (v8f){0};
        return;
    }
    LOAD(x, from + ch, w);
    LOAD(av, a + ch, w);
    LOAD(bv, b + ch, w);
    LOAD(s, slopes + ch, w);
    const v8f z = x * av + bv;
    const v8i negative = z <= 0;
    *dz = SELECT(negative, dyv * s, dyv);
    *d_slope = SELECT(negative, dyv * z, (v8f){0});
}

INLINE void K(bn_grad_sums_group)(
    long ch, long w, const float *from, const float *g, const float *a, const float *b, const float *slopes,
    const float *center, float *sum_grad, float *sum_grad_centered, float *sum_slope) {
    v8f dz, d_slope;
    K(output_grad)(&dz, &d_slope, ch, w, from, g, a, b, slopes);
    LOAD(x, from + ch, w);
    LOAD(m, center + ch, w);
    LOAD(sg, sum_grad + ch, w);
    LOAD(sc, sum_grad_centered + ch, w);
    const v8f centered = x - m;
    STORE(sg + dz, sum_grad + ch, w);
    STORE(sc + dz * centered, sum_grad_centered + ch, w);
    if (slopes) {
        LOAD(ss, sum_slope + ch, w);
        STORE(ss + d_slope, sum_slope + ch, w);
    }
}

static void K(bn_grad_sums)(
    const float *x, const float *dy, long rows, long c, const float *a, const float *b, const float *slopes,
    const float *center, float *sum_grad, float *sum_grad_centered, float *sum_slope) {
    for (long r = 0; r < rows; r++) {
        const float *from = x + r * c, *g = dy + r * c;
        if (slopes)
            FOR_EACH_GROUP(
                c, K(bn_grad_sums_group), from, g, a, b, slopes, center, sum_grad, sum_grad_centered, sum_slope);
        else
            FOR_EACH_GROUP(
                c, K(bn_grad_sums_group), from, g, a, b, (const float *)0, center, sum_grad, sum_grad_centered,
                sum_slope);
    }
}

INLINE void K(bn_input_grad_group)(
    long ch, long w, const float *from, const float *g, float *to, const float *a, const float *b,
    const float *slopes, const float *center, const float *k, const float *u, const float *v) {
    v8f dz, unused;
    K(output_grad)(&dz, &unused, ch, w, from, g, a, b, slopes);
    LOAD(x, from + ch, w);
    LOAD(m, center + ch, w);
    LOAD(kv, k + ch, w);
    LOAD(uv, u + ch, w);
    LOAD(vv, v + ch, w);
    const v8f centered = x - m;
    STORE(kv * dz + uv * centered + vv, to + ch, w);
}

static void K(bn_input_grad)(
    const float *x, const float *dy, float *dx, long rows, long c, const float *a, const float *b,
    const float *slopes, const float *center, const float *k, const float *u, const float *v) {
    for (long r = 0; r < rows; r++) {
        const float *from = x + r * c, *g = dy + r * c;
        float *to = dx + r * c;
        if (slopes)
            FOR_EACH_GROUP(c, K(bn_input_grad_group), from, g, to, a, b, slopes, center, k, u, v);
        else
            FOR_EACH_GROUP(c, K(bn_input_grad_group), from, g, to, a, b, (const float *)0, center, k, u, v);
    }
}

// PReLU.
INLINE void K(prelu_forward_group)(long ch, long w, const float *from, float *to, const float *slopes) {
    LOAD(x, from + ch, w);
    LOAD(s, slopes + ch, w);
    STORE(SELECT(x <= 0, x * s, x), to + ch, w);
}

static void K(prelu_forward)(const float *x, float *y, long rows, long c, const float *slopes) {
    for (long r = 0; r < rows; r++) FOR_EACH_GROUP(c, K(prelu_forward_group), x + r * c, y + r * c, slopes);
}

INLINE void K(prelu_backward_group)(
    long ch, long w, const float *from, const float *g, float *to, const float *slopes, float *sums) {
    LOAD(x, from + ch, w);
    LOAD(gv, g + ch, w);
    LOAD(s, slopes + ch, w);
    LOAD(acc, sums + ch, w);
    const v8i negative = x <= 0;
    STORE(SELECT(negative, gv * s, gv), to + ch, w);
    STORE(acc + SELECT(negative, gv * x, (v8f){0}), sums + ch, w);
}

static void K(prelu_backward)(
    const float *x, const float *dy, float *dx, long rows, long c, const float *slopes, float *sums) {
    for (long r = 0; r < rows; r++)
        FOR_EACH_GROUP(c, K(prelu_backward_group), x + r * c, dy + r * c, dx + r * c, slopes, sums);
}

// Depthwise convolution.
INLINE void K(dw_gather_group)(
    long ch, long w, const float *values, const float *weights, const ptrdiff_t *taps, ptrdiff_t count,
    float *out) {
    v8f acc = {0};
    for (ptrdiff_t t = 0; t < count; t++) {
        LOAD(x, values + taps[2 * t] + ch, w);
        LOAD(wt, weights + taps[2 * t + 1] + ch, w);
        acc = acc + x * wt;
    }
    STORE(acc, out + ch, w);
}

static void K(dw_gather)(
    const float *values, const float *weights, const ptrdiff_t *taps, const ptrdiff_t *tap_ends, long pixels,
    float *out, long c) {
    ptrdiff_t first = 0;
    for (long i = 0; i < pixels; i++) {
        const ptrdiff_t end = tap_ends[i];
        FOR_EACH_GROUP(c, K(dw_gather_group), values, weights, taps + 2 * first, end - first, out + i * c);
        first = end;
    }
}

INLINE void K(dw_add_tap_group)(
    long ch, long w, const float *outputs, const float *inputs, long count, long step, long c, float *sum) {
    v8f acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
    long j = 0;
    for (; j + 4 <= count; j += 4) {
        const float *o = outputs + j * c + ch, *i = inputs + j * step + ch;
        LOAD(o0, o, w);
        LOAD(i0, i, w);
        LOAD(o1, o + c, w);
        LOAD(i1, i + step, w);
        LOAD(o2, o + 2 * c, w);
        LOAD(i2, i + 2 * step, w);
        LOAD(o3, o + 3 * c, w);
        LOAD(i3, i + 3 * step, w);
        acc0 = acc0 + o0 * i0;
        acc1 = acc1 + o1 * i1;
        acc2 = acc2 + o2 * i2;
        acc3 = acc3 + o3 * i3;
    }
    for (; j < count; j++) {
        LOAD(o, outputs + j * c + ch, w);
        LOAD(i, inputs + j * step + ch, w);
        acc0 = acc0 + o * i;
    }
    LOAD(s, sum + ch, w);
    STORE(s + ((acc0 + acc1) + (acc2 + acc3)), sum + ch, w);
}

static void K(dw_add_tap)(const float *outputs, const float *inputs, long count, long step, long c, float *sum) {
    if (count <= 0) return;
    FOR_EACH_GROUP(c, K(dw_add_tap_group), outputs, inputs, count, step, c, sum);
}

INLINE void K(dw_add_sum)(long ch, long w, float *block, long tap, long c, const v8f *sum) {
    float *p = block + tap * c + ch;
    LOAD(old, p, w);
    STORE(old + *sum, p, w);
}

INLINE void K(dw_weight_grad_3x3_group)(
    long ch, long w, const float *output_grads, const float *inputs, long row_stride, long step, long first,
    long end, float *block, long c) {
    v8f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0}, s5 = {0}, s6 = {0}, s7 = {0}, s8 = {0};
    for (long j = first; j < end; j++) {
        LOAD(d, output_grads + j * c + ch, w);
        const float *row0 = inputs + j * step + ch;
        const float *row1 = row0 + row_stride, *row2 = row0 + 2 * row_stride;
        LOAD(x0, row0, w);
        LOAD(x1, row0 + c, w);
        LOAD(x2, row0 + 2 * c, w);
        LOAD(x3, row1, w);
        LOAD(x4, row1 + c, w);
        LOAD(x5, row1 + 2 * c, w);
        LOAD(x6, row2, w);
        LOAD(x7, row2 + c, w);
        LOAD(x8, row2 + 2 * c, w);
        s0 = s0 + d * x0;
        s1 = s1 + d * x1;
        s2 = s2 + d * x2;
        s3 = s3 + d * x3;
        s4 = s4 + d * x4;
        s5 = s5 + d * x5;
        s6 = s6 + d * x6;
        s7 = s7 + d * x7;
        s8 = s8 + d * x8;
    }
    K(dw_add_sum)(ch, w, block, 0, c, &s0);
    K(dw_add_sum)(ch, w, block, 1, c, &s1);
    K(dw_add_sum)(ch, w, block, 2, c, &s2);
    K(dw_add_sum)(ch, w, block, 3, c, &s3);
    K(dw_add_sum)(ch, w, block, 4, c, &s4);
    K(dw_add_sum)(ch, w, block, 5, c, &s5);
    K(dw_add_sum)(ch, w, block, 6, c, &s6);
    K(dw_add_sum)(ch, w, block, 7, c, &s7);
    K(dw_add_sum)(ch, w, block, 8, c, &s8);
}

static void K(dw_weight_grad_3x3)(
    const float *output_grads, const float *inputs, long row_stride, long step, long count, float *block, long c) {
    for (long first = 0; first < count; first += 8) {
        const long end = count < first + 8 ? count : first + 8;
        FOR_EACH_GROUP(
            c, K(dw_weight_grad_3x3_group), output_grads, inputs, row_stride, step, first, end, block, c);
    }
}

static const ffc_channel_kernels K(kernels) = {
    .isa = K(isa_name),
    .bn_apply = K(bn_apply),
    .bn_moments = K(bn_moments),
    .bn_grad_sums = K(bn_grad_sums),
    .bn_input_grad = K(bn_input_grad),
    .prelu_forward = K(prelu_forward),
    .prelu_backward = K(prelu_backward),
    .dw_gather = K(dw_gather),
    .dw_add_tap = K(dw_add_tap),
    .dw_weight_grad_3x3 = K(dw_weight_grad_3x3),
};

#undef INLINE
#undef FOR_EACH_GROUP
#undef LOAD
#undef STORE
#undef SELECT

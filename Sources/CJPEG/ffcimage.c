#include "ffcimage.h"
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <jpeglib.h>
#include <png.h>

struct ffc_jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void ffc_jpeg_error_exit(j_common_ptr cinfo) {
    struct ffc_jerr *e = (struct ffc_jerr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void ffc_jpeg_quiet(j_common_ptr cinfo) { (void)cinfo; }

static void set_err(char *err, size_t cap, const char *msg) {
    if (err && cap) snprintf(err, cap, "%s", msg);
}

static int is_png(const uint8_t *d, size_t n) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    return n >= 8 && memcmp(d, sig, 8) == 0;
}

static int is_jpeg(const uint8_t *d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8; }

/* One decompressor per thread, made on first use and destroyed when the thread exits:
   setting one up costs about as much as decoding a small face, and a loader worker decodes
   thousands. After an error, jpeg_abort_decompress returns it to its idle state. */
struct ffc_decoder {
    struct jpeg_decompress_struct cinfo;
    struct ffc_jerr jerr;
    JSAMPLE *rows; /* scanlines of the fused path, ffc_rows_per_read of them, from rows + 1 */
    size_t rows_bytes;
};

enum { ffc_rows_per_read = 16 };

static pthread_key_t decoder_key;
static pthread_once_t decoder_key_once = PTHREAD_ONCE_INIT;

static void decoder_free(void *p) {
    struct ffc_decoder *d = p;
    jpeg_destroy_decompress(&d->cinfo);
    free(d->rows);
    free(d);
}

static void decoder_key_make(void) { (void)pthread_key_create(&decoder_key, decoder_free); }

/* This thread's decompressor, or NULL when memory runs out. */
static struct ffc_decoder *thread_decoder(void) {
    pthread_once(&decoder_key_once, decoder_key_make);
    struct ffc_decoder *d = pthread_getspecific(decoder_key);
    if (d) return d;
    d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->cinfo.err = jpeg_std_error(&d->jerr.pub);
    d->jerr.pub.error_exit = ffc_jpeg_error_exit;
    d->jerr.pub.output_message = ffc_jpeg_quiet;
    if (setjmp(d->jerr.jump)) {
        free(d);
        return NULL;
    }
    jpeg_create_decompress(&d->cinfo);
    if (pthread_setspecific(decoder_key, d) != 0) {
        decoder_free(d);
        return NULL;
    }
    return d;
}

/* Opens this thread's decoder on (data, len) and reads the header; libjpeg's errors longjmp
   back here, so this must expand inside the function that decodes (a macro, not a call): on
   an error the function returns -1 with the message in err. Declares `d` and `cinfo`. */
#define FFC_JPEG_OPEN(data, len, err, errcap)                                                  \
    struct ffc_decoder *d = thread_decoder();                                                  \
    if (!d) {                                                                                  \
        set_err(err, errcap, "out of memory for a JPEG decoder");                              \
        return -1;                                                                             \
    }                                                                                          \
    j_decompress_ptr cinfo = &d->cinfo;                                                        \
    d->jerr.message[0] = 0;                                                                    \
    if (setjmp(d->jerr.jump)) {                                                                \
        jpeg_abort_decompress(cinfo);                                                          \
        set_err(err, errcap, d->jerr.message[0] ? d->jerr.message : "corrupt JPEG");           \
        return -1;                                                                             \
    }                                                                                          \
    jpeg_mem_src(cinfo, (const unsigned char *)(data), (unsigned long)(len));                  \
    jpeg_read_header(cinfo, TRUE)

static int jpeg_run(const uint8_t *data, size_t len, uint8_t *out, size_t outcap, int *w,
                    int *h, int *channels, char *err, size_t errcap) {
    FFC_JPEG_OPEN(data, len, err, errcap);
    *w = (int)cinfo->image_width;
    *h = (int)cinfo->image_height;
    if (channels) *channels = cinfo->num_components == 1 ? 1 : 3;
    if (!out) {
        jpeg_abort_decompress(cinfo);
        return 0;
    }
    cinfo->out_color_space = JCS_RGB; /* grey is replicated to three channels by libjpeg */
    jpeg_start_decompress(cinfo);
    size_t stride = (size_t)cinfo->output_width * 3;
    if ((size_t)cinfo->output_height * stride > outcap) {
        jpeg_abort_decompress(cinfo);
        set_err(err, errcap, "output buffer too small");
        return -1;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out + (size_t)cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return 0;
}

/* Reverses the order of n 3-byte pixels in place. */
static void mirror_pixels(JSAMPLE *row, int n) {
    for (JSAMPLE *a = row, *b = row + 3 * (n - 1); a < b; a += 3, b -= 3) {
        JSAMPLE t0 = a[0], t1 = a[1], t2 = a[2];
        a[0] = b[0];
        a[1] = b[1];
        a[2] = b[2];
        b[0] = t0;
        b[1] = t1;
        b[2] = t2;
    }
}

/* n bytes v → n floats (v − 127.5) / 128. Both the product and the difference are exact in
   float, so this equals the lookup table FaceImage uses bit for bit (with or without a fused
   multiply-add). A batch is megabytes of floats that nobody reads before the trainer, so the
   stores stream past the caches: writing a 112x112 image's floats through the cache (each
   line first read from memory) cost about as much as decoding it here, streaming a third. */
static void bytes_normalised(const JSAMPLE *restrict src, float *restrict dst, int n) {
    const float scale = 1.0f / 128.0f, shift = 127.5f / 128.0f;
    int i = 0;
#if defined(__SSE2__)
    for (; i < n && ((uintptr_t)(dst + i) & 15) != 0; i++) dst[i] = (float)src[i] * scale - shift;
    const __m128 vscale = _mm_set1_ps(scale), vshift = _mm_set1_ps(shift);
    const __m128i zero = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i lo = _mm_unpacklo_epi8(bytes, zero), hi = _mm_unpackhi_epi8(bytes, zero);
        __m128i quads[4] = {_mm_unpacklo_epi16(lo, zero), _mm_unpackhi_epi16(lo, zero),
                            _mm_unpacklo_epi16(hi, zero), _mm_unpackhi_epi16(hi, zero)};
        for (int q = 0; q < 4; q++)
            _mm_stream_ps(dst + i + 4 * q, _mm_sub_ps(_mm_mul_ps(_mm_cvtepi32_ps(quads[q]), vscale), vshift));
    }
#endif
    for (; i < n; i++) dst[i] = (float)src[i] * scale - shift;
}

int ffc_jpeg_decode_normalised_bgr(const uint8_t *data, size_t len, int out_w, int out_h,
                                   int crop, int flip, float *out, int *w, int *h, char *err,
                                   size_t errcap) {
    *w = 0;
    *h = 0;
    if (!is_jpeg(data, len)) return 1;
    FFC_JPEG_OPEN(data, len, err, errcap);
    int iw = (int)cinfo->image_width, ih = (int)cinfo->image_height;
    *w = iw;
    *h = ih;
    int fits = (iw == out_w && ih == out_h) || (crop && iw >= out_w && ih >= out_h);
    if (!fits || out_w <= 0 || out_h <= 0) {
        jpeg_abort_decompress(cinfo);
        return 1;
    }
    /* libjpeg-turbo's BGR output is its RGB conversion with the bytes stored the other way
       round, so the pixels equal an RGB decode swapped afterwards. */
    cinfo->out_color_space = JCS_EXT_BGR;
    jpeg_start_decompress(cinfo);
    size_t stride = (size_t)cinfo->output_width * 3;
    size_t pitch = (stride + 63) / 64 * 64; /* keeps every row one byte past a boundary */
    size_t need = pitch * ffc_rows_per_read + 1;
    if (d->rows_bytes < need) {
        JSAMPLE *rows = realloc(d->rows, need);
        if (!rows) {
            jpeg_abort_decompress(cinfo);
            set_err(err, errcap, "out of memory for JPEG scanlines");
            return -1;
        }
        d->rows = rows;
        d->rows_bytes = need;
    }
    /* libjpeg-turbo's SIMD colour conversion writes rows that start on a 16- or 32-byte
       boundary with non-temporal stores, which would send the scanlines we are about to read
       out to memory (half the loader's time went there); rows starting one byte past a
       boundary (malloc gives 16-byte aligned blocks) stay in the cache. */
    JSAMPROW pointers[ffc_rows_per_read];
    for (int r = 0; r < ffc_rows_per_read; r++) pointers[r] = d->rows + 1 + (size_t)r * pitch;
    int x0 = (iw - out_w) / 2, y0 = (ih - out_h) / 2;
    JDIMENSION last = (JDIMENSION)(y0 + out_h); /* scanlines past the window are not decoded */
    while (cinfo->output_scanline < last) {
        int first = (int)cinfo->output_scanline;
        int got = (int)jpeg_read_scanlines(cinfo, pointers, ffc_rows_per_read);
        for (int r = 0; r < got; r++) {
            int y = first + r - y0;
            if (y < 0 || y >= out_h) continue;
            JSAMPLE *window = pointers[r] + (size_t)x0 * 3;
            /* Mirroring the bytes first keeps the float loop a straight, vectorised one. */
            if (flip) mirror_pixels(window, out_w);
            bytes_normalised(window, out + (size_t)y * out_w * 3, 3 * out_w);
        }
    }
#if defined(__SSE2__)
    _mm_sfence(); /* the streamed stores land before the batch is handed over */
#endif
    if (cinfo->output_scanline < cinfo->output_height)
        jpeg_abort_decompress(cinfo);
    else
        jpeg_finish_decompress(cinfo);
    return 0;
}

static int png_run(const uint8_t *data, size_t len, uint8_t *out, size_t outcap, int *w,
                   int *h, int *channels, char *err, size_t errcap) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len)) {
        set_err(err, errcap, img.message[0] ? img.message : "corrupt PNG");
        return -1;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    if (channels) *channels = (img.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    if (!out) {
        png_image_free(&img);
        return 0;
    }
    img.format = PNG_FORMAT_RGB;
    if ((size_t)img.width * img.height * 3 > outcap) {
        png_image_free(&img);
        set_err(err, errcap, "output buffer too small");
        return -1;
    }
    if (!png_image_finish_read(&img, NULL, out, 0, NULL)) {
        set_err(err, errcap, img.message[0] ? img.message : "corrupt PNG");
        png_image_free(&img);
        return -1;
    }
    return 0;
}

int ffc_image_header(const uint8_t *data, size_t len, int *w, int *h, int *channels,
                     char *err, size_t errcap) {
    if (is_png(data, len)) return png_run(data, len, NULL, 0, w, h, channels, err, errcap);
    if (is_jpeg(data, len)) return jpeg_run(data, len, NULL, 0, w, h, channels, err, errcap);
    set_err(err, errcap, "not a JPEG or PNG image");
    return -1;
}

int ffc_image_decode_rgb(const uint8_t *data, size_t len, uint8_t *out, size_t outcap,
                         int *w, int *h, char *err, size_t errcap) {
    if (is_png(data, len)) return png_run(data, len, out, outcap, w, h, NULL, err, errcap);
    if (is_jpeg(data, len)) return jpeg_run(data, len, out, outcap, w, h, NULL, err, errcap);
    set_err(err, errcap, "not a JPEG or PNG image");
    return -1;
}

int ffc_jpeg_encode(const uint8_t *pixels, int w, int h, int channels, int quality,
                    uint8_t **outbuf, size_t *outlen, char *err, size_t errcap) {
    struct jpeg_compress_struct cinfo;
    struct ffc_jerr jerr;
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = ffc_jpeg_error_exit;
    jerr.pub.output_message = ffc_jpeg_quiet;
    jerr.message[0] = 0;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(mem);
        set_err(err, errcap, jerr.message[0] ? jerr.message : "JPEG encoding failed");
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &mem, &memlen);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)w * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *outbuf = mem;
    *outlen = memlen;
    return 0;
}

void ffc_image_free(void *p) { free(p); }

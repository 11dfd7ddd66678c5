#include "ffcimage.h"
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
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

static int jpeg_run(const uint8_t *data, size_t len, uint8_t *out, size_t outcap, int *w,
                    int *h, int *channels, char *err, size_t errcap) {
    struct jpeg_decompress_struct cinfo;
    struct ffc_jerr jerr;
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = ffc_jpeg_error_exit;
    jerr.pub.output_message = ffc_jpeg_quiet;
    jerr.message[0] = 0;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        set_err(err, errcap, jerr.message[0] ? jerr.message : "corrupt JPEG");
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    *w = (int)cinfo.image_width;
    *h = (int)cinfo.image_height;
    if (channels) *channels = cinfo.num_components == 1 ? 1 : 3;
    if (!out) {
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    cinfo.out_color_space = JCS_RGB; /* grey is replicated to three channels by libjpeg */
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * 3;
    if ((size_t)cinfo.output_height * stride > outcap) {
        jpeg_destroy_decompress(&cinfo);
        set_err(err, errcap, "output buffer too small");
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
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

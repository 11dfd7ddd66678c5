#ifndef FFC_IMAGE_H
#define FFC_IMAGE_H
#include <stddef.h>
#include <stdint.h>

/* Image codecs for FFC Console. libjpeg and libpng report errors by longjmp, which Swift
   cannot catch, so every call here returns 0 on success or -1 with a message in err. */

/* Reads width, height and channel count (1 or 3) of a JPEG or PNG without decoding it. */
int ffc_image_header(const uint8_t *data, size_t len, int *w, int *h, int *channels,
                     char *err, size_t errcap);

/* Decodes a JPEG or PNG into interleaved 8-bit pixels, 3 channels (RGB order) or grey
   replicated to 3. out must hold w*h*3 bytes (ask ffc_image_header first). */
int ffc_image_decode_rgb(const uint8_t *data, size_t len, uint8_t *out, size_t outcap,
                         int *w, int *h, char *err, size_t errcap);

/* Decodes a JPEG straight into the network's input: the centred out_w x out_h window of the
   image (the whole image when the sizes match; a larger image only when crop is set), BGR,
   mirrored left-right when flip, every byte v written as (v - 127.5) / 128, (out_h, out_w, 3)
   floats. Returns 0 on success, 1 when this path does not apply (not a JPEG, or a size it
   cannot fit; *w and *h then hold the JPEG's size, or 0), -1 with a message on a decode error.
   Decoding reuses one libjpeg decompressor per thread. */
int ffc_jpeg_decode_normalised_bgr(const uint8_t *data, size_t len, int out_w, int out_h,
                                   int crop, int flip, float *out, int *w, int *h, char *err,
                                   size_t errcap);

/* Encodes interleaved pixels (channels 1 or 3, RGB order) as JPEG; free *outbuf with ffc_image_free. */
int ffc_jpeg_encode(const uint8_t *pixels, int w, int h, int channels, int quality,
                    uint8_t **outbuf, size_t *outlen, char *err, size_t errcap);

void ffc_image_free(void *p);
#endif

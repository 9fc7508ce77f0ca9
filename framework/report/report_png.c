/* Image grids as 8-bit PNG through libpng (tiles of CHW floats with gray separators, written
 * atomically), and reading such PNGs back for tests. */
#include "ae_report.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 100000 /* largest grid width or height in pixels */
#define SEPARATOR 128

typedef struct png_msg {
    char text[256];
} png_msg;

static void on_error(png_structp png, png_const_charp m)
{
    png_msg *msg = png_get_error_ptr(png);
    snprintf(msg->text, sizeof msg->text, "%s", m ? m : "libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp m)
{
    (void)png;
    (void)m;
}

static unsigned char to_byte(float v)
{
    if (!(v > 0.0f)) return 0; /* also NaN */
    if (v >= 1.0f) return 255;
    return (unsigned char)lrintf(v * 255.0f);
}

/* Fills one output row: y is the row of the whole grid. */
static void fill_row(unsigned char *row, long y, const float *img, size_t n, int c, int h, int w, int cols,
                     int scale)
{
    long th = (long)h * scale + 1, tw = (long)w * scale + 1;
    long r = y / th, yi = y % th;
    long width = (long)cols * tw - 1;
    size_t plane = (size_t)h * (size_t)w;
    for (long x = 0; x < width; x++) {
        long cc = x / tw, xi = x % tw;
        unsigned char *px = row + x * c;
        if (yi == th - 1 || xi == tw - 1) {
            memset(px, SEPARATOR, (size_t)c);
            continue;
        }
        size_t k = (size_t)(r * cols + cc);
        if (k >= n) {
            memset(px, 0, (size_t)c);
            continue;
        }
        const float *tile = img + k * (size_t)c * plane + (size_t)(yi / scale) * (size_t)w + (size_t)(xi / scale);
        for (int ch = 0; ch < c; ch++) px[ch] = to_byte(tile[(size_t)ch * plane]);
    }
}

int ae_png_grid(const char *path, const float *img, size_t n, int c, int h, int w, int rows, int cols,
                int scale, ae_err *err)
{
    if (c != 1 && c != 3) return ae_errf(err, AE_EINPUT, "image grid '%s': %d channels (need 1 or 3)", path, c);
    if (h < 1 || w < 1 || rows < 1 || cols < 1 || scale < 1 || (n && !img))
        return ae_errf(err, AE_EINPUT, "image grid '%s': bad shape %dx%d, %dx%d tiles, scale %d", path, h, w,
                       rows, cols, scale);
    long long width = (long long)cols * ((long long)w * scale + 1) - 1;
    long long height = (long long)rows * ((long long)h * scale + 1) - 1;
    if (width > MAX_SIDE || height > MAX_SIDE)
        return ae_errf(err, AE_EINPUT, "image grid '%s': %lldx%lld pixels is too large", path, width, height);
    const size_t shown = n < (size_t)rows * (size_t)cols ? n : (size_t)rows * (size_t)cols; /* extras not shown */

    ae_afile af;
    int rc = ae_afile_open(&af, path, err);
    if (rc) return rc;
    png_msg msg = {""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &msg, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *row = malloc((size_t)width * (size_t)c);
    if (!png || !info || !row) {
        png_destroy_write_struct(&png, &info);
        free(row);
        ae_afile_abort(&af);
        return ae_errf(err, AE_EINTERNAL, "cannot write '%s': out of memory", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = ae_afile_fail(&af, msg.text, err); /* first, while errno says why (disk full) */
        png_destroy_write_struct(&png, &info);
        free(row);
        return rc;
    }
    png_init_io(png, af.f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (long y = 0; y < (long)height; y++) {
        fill_row(row, y, img, shown, c, h, w, cols, scale);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return ae_afile_commit(&af, err);
}

int ae_png_read(const char *path, unsigned char **pix, int *w, int *h, int *channels, ae_err *err)
{
    *pix = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ae_errf(err, AE_EIO, "cannot read '%s': %s", path, strerror(errno));
    unsigned char sig[8];
    if (fread(sig, 1, sizeof sig, f) != sizeof sig || png_sig_cmp(sig, 0, sizeof sig)) {
        fclose(f);
        return ae_errf(err, AE_EINPUT, "cannot read '%s': not a PNG file", path);
    }
    png_msg msg = {""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &msg, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return ae_errf(err, AE_EINTERNAL, "cannot read '%s': out of memory", path);
    }
    unsigned char *volatile buf = NULL;
    png_bytep *volatile rowp = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(buf);
        free(rowp);
        fclose(f);
        return ae_errf(err, AE_EINPUT, "cannot read '%s': %s", path, msg.text);
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, sizeof sig);
    png_read_info(png, info);
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_read_update_info(png, info);
    png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((ch != 1 && ch != 3) || rowbytes != (size_t)pw * (size_t)ch) {
        snprintf(msg.text, sizeof msg.text, "unsupported PNG layout (%d channels)", ch);
        png_longjmp(png, 1);
    }
    buf = malloc((size_t)ph * rowbytes);
    rowp = malloc((size_t)ph * sizeof *rowp);
    if (!buf || !rowp) {
        snprintf(msg.text, sizeof msg.text, "out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < ph; y++) rowp[y] = buf + (size_t)y * rowbytes;
    png_read_image(png, rowp);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rowp);
    fclose(f);
    *pix = buf;
    *w = (int)pw;
    *h = (int)ph;
    *channels = ch;
    return AE_OK;
}

/* Tiled image figures (a latent manifold, first-layer filters): the PNG drawn pixel for pixel by
 * libpng (ae_png_grid), the composed image as <stem>.dat and a gnuplot script redrawing it. */
#include "ae_report.h"
#include "report_plot_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEPARATOR_VALUE 0.5f /* ae_png_grid's gray separators (128/255 rounds to the same byte) */

void ae_gauss_grid(int n, double *q)
{
    for (int i = 0; i < n; i++) q[i] = gsl_cdf_ugaussian_Pinv(((double)i + 0.5) / (double)n);
}

/* Range of the finite values of v[0..len): *lo = *hi = 0 when there are none. */
static void finite_range(const float *v, size_t len, float *lo, float *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < len; i++)
        if (isfinite(v[i])) {
            *lo = v[i] < *lo ? v[i] : *lo;
            *hi = v[i] > *hi ? v[i] : *hi;
        }
    if (*lo > *hi) *lo = *hi = 0;
}

/* The shown values of the first `shown` tiles: each stretched from its own range to [0, 1] (a flat
 * tile is 0.5), or clamped to [0, 1]; non-finite values show as 0. range gets each tile's lo, hi. */
static float *shown_values(const float *img, size_t shown, size_t len, int own, float *range)
{
    float *v = malloc((shown ? shown : 1) * len * sizeof *v);
    if (!v) return NULL;
    for (size_t k = 0; k < shown; k++) {
        const float *t = img + k * len;
        float lo, hi;
        finite_range(t, len, &lo, &hi);
        range[2 * k] = lo;
        range[2 * k + 1] = hi;
        for (size_t i = 0; i < len; i++) {
            float x = t[i];
            if (own) x = hi > lo ? (x - lo) / (hi - lo) : 0.5f;
            v[k * len + i] = !(x > 0.0f) ? 0.0f : x > 1.0f ? 1.0f : x; /* NaN -> 0 */
        }
    }
    return v;
}

/* Channel ch of pixel (x, y) of the composed (unscaled) grid: separators 0.5, missing tiles 0. */
static float grid_value(const float *v, size_t shown, int c, int h, int w, int cols, long x, long y, int ch)
{
    long tx = x / (w + 1), ty = y / (h + 1), xi = x % (w + 1), yi = y % (h + 1);
    if (xi == w || yi == h) return SEPARATOR_VALUE;
    size_t k = (size_t)(ty * cols + tx);
    if (k >= shown) return 0.0f;
    return v[(k * (size_t)c + (size_t)ch) * (size_t)h * (size_t)w + (size_t)yi * (size_t)w + (size_t)xi];
}

/* The PNG: tiles enlarged `scale` times, separators 1 + scale / 8 pixels wide (visible between
 * large tiles of small kernels), composed here and written as ae_png_grid's single tile. */
static int write_png(const char *path, const float *v, size_t shown, int c, int h, int w, int rows, int cols,
                     int scale, ae_err *err)
{
    long sep = 1 + scale / 8, th = (long)h * scale + sep, tw = (long)w * scale + sep;
    long W = (long)cols * tw - sep, H = (long)rows * th - sep;
    if (W > 100000 || H > 100000)
        return ae_errf(err, AE_EINPUT, "tiled figure '%s': %ldx%ld pixels is too large", path, W, H);
    float *img = malloc((size_t)W * (size_t)H * (size_t)c * sizeof *img);
    if (!img) return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (int ch = 0; ch < c; ch++)
        for (long y = 0; y < H; y++)
            for (long x = 0; x < W; x++) {
                long xi = x % tw, yi = y % th;
                float val = SEPARATOR_VALUE;
                if (xi < (long)w * scale && yi < (long)h * scale) { /* the unscaled grid's pixel */
                    long gx = x / tw * (w + 1) + xi / scale, gy = y / th * (h + 1) + yi / scale;
                    val = grid_value(v, shown, c, h, w, cols, gx, gy, ch);
                }
                img[((size_t)ch * (size_t)H + (size_t)y) * (size_t)W + (size_t)x] = val;
            }
    int rc = ae_png_grid(path, img, 1, c, (int)H, (int)W, 1, 1, 1, err);
    free(img);
    return rc;
}

static int write_dat(const ae_gp_paths *pp, const float *v, const float *range, size_t shown, int c, int h,
                     int w, int rows, int cols, const ae_tiles *o, ae_err *err)
{
    ae_afile af;
    int rc = ae_afile_open(&af, pp->dat, err);
    if (rc) return rc;
    FILE *f = af.f;
    long W = (long)cols * (w + 1) - 1, H = (long)rows * (h + 1) - 1;
    fputs("# ", f);
    ae_gp_plain(f, o->title, 0);
    fprintf(f, "\n# %d x %d tiles of %d x %d pixels (%s), 1-pixel separators (%.1f): a %ld x %ld image, top row"
               " first\n", rows, cols, h, w, c == 3 ? "r g b" : "gray", (double)SEPARATOR_VALUE, W, H);
    fputs(o->own_range ? "# each tile stretched from its own range [lo, hi] to [0, 1]:\n"
                       : "# values clamped to [0, 1]; each tile's range before clamping:\n", f);
    for (size_t k = 0; k < shown; k++)
        fprintf(f, "# tile %zu (row %zu, col %zu): lo %.9g hi %.9g\n", k, k / (size_t)cols, k % (size_t)cols,
                (double)range[2 * k], (double)range[2 * k + 1]);
    for (int j = 0; o->xval && j < cols; j++) fprintf(f, "# column %d: %.9g\n", j, o->xval[j]);
    for (int i = 0; o->yval && i < rows; i++) fprintf(f, "# row %d: %.9g\n", i, o->yval[i]);
    fputs(c == 3 ? "# x y r g b (a blank line after each pixel row)\n" : "# matrix: one line per pixel row\n", f);
    for (long y = 0; y < H; y++) {
        for (long x = 0; x < W; x++) {
            if (c == 3)
                fprintf(f, "%ld %ld %.4g %.4g %.4g\n", x, y, (double)grid_value(v, shown, c, h, w, cols, x, y, 0),
                        (double)grid_value(v, shown, c, h, w, cols, x, y, 1),
                        (double)grid_value(v, shown, c, h, w, cols, x, y, 2));
            else
                fprintf(f, x ? " %.4g" : "%.4g", (double)grid_value(v, shown, c, h, w, cols, x, y, 0));
        }
        fputc('\n', f);
    }
    return ae_afile_commit(&af, err);
}

/* Tic labels at the centres of the tiles (every k-th from the first, at most 10), or none. */
static void tile_tics(FILE *f, const char *axis, const double *val, int n, int side)
{
    if (!val) {
        fprintf(f, "unset %stics\n", axis);
        return;
    }
    int every = (n + 9) / 10;
    fprintf(f, "set %stics scale 0 (", axis);
    for (int i = 0, first = 1; i < n; i++) {
        if (i % every) continue;
        fprintf(f, "%s\"%.2f\" %.1f", first ? "" : ", ", val[i], (double)i * (side + 1) + 0.5 * (side - 1));
        first = 0;
    }
    fputs(")\n", f);
}

static int write_gp(const ae_gp_paths *pp, int c, int h, int w, int rows, int cols, const ae_tiles *o,
                    ae_err *err)
{
    ae_afile af;
    int rc = ae_afile_open(&af, pp->gp, err);
    if (rc) return rc;
    FILE *f = af.f;
    long W = (long)cols * (w + 1) - 1, H = (long)rows * (h + 1) - 1, big = W > H ? W : H;
    long s = big >= 800 ? 1 : 800 / big > 4 ? 4 : 800 / big; /* whole screen pixels per image pixel */
    ae_gp_head_size(f, pp, o->title, 0, (int)(W * s + 160), (int)(H * s + 120));
    fputs("unset key\nunset colorbox\nunset grid\nset border 0\nset size ratio -1\n"
          "set palette gray\nset cbrange [0:1]\n", f);
    fprintf(f, "set xrange [-0.5:%.1f]\nset yrange [%.1f:-0.5]\n", (double)W - 0.5, (double)H - 0.5);
    tile_tics(f, "x", o->xval, cols, w);
    tile_tics(f, "y", o->yval, rows, h);
    if (o->xval && o->xlabel) ae_gp_label(f, "x", o->xlabel, "");
    if (o->yval && o->ylabel) ae_gp_label(f, "y", o->ylabel, "");
    if (c == 3)
        fprintf(f, "plot '%s.dat' using 1:2:($3*255):($4*255):($5*255) with rgbimage pixels notitle\n", pp->base);
    else
        fprintf(f, "plot '%s.dat' matrix with image pixels notitle\n", pp->base);
    fputs("set output\n", f);
    return ae_afile_commit(&af, err);
}

int ae_plot_tiles(const char *stem, const float *img, size_t n, int c, int h, int w, int rows, int cols,
                  const ae_tiles *o, ae_err *err)
{
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc) return rc;
    if (c != 1 && c != 3) return ae_errf(err, AE_EINPUT, "tiled figure '%s': %d channels (need 1 or 3)", stem, c);
    if (h < 1 || w < 1 || rows < 1 || cols < 1 || (n && !img))
        return ae_errf(err, AE_EINPUT, "tiled figure '%s': bad shape %dx%d, %dx%d tiles", stem, h, w, rows, cols);
    size_t shown = n < (size_t)rows * (size_t)cols ? n : (size_t)rows * (size_t)cols;
    size_t len = (size_t)c * (size_t)h * (size_t)w;
    float *range = malloc((shown ? shown : 1) * 2 * sizeof *range);
    float *v = range ? shown_values(img, shown, len, o->own_range, range) : NULL;
    if (!v) {
        free(range);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    rc = write_png(pp.png, v, shown, c, h, w, rows, cols, o->scale < 1 ? 1 : o->scale, err);
    if (!rc) rc = write_dat(&pp, v, range, shown, c, h, w, rows, cols, o, err);
    if (!rc) rc = write_gp(&pp, c, h, w, rows, cols, o, err);
    free(v);
    free(range);
    return rc;
}

/* Everything a run writes for people: atomic files, metrics.jsonl lines, gnuplot figures (PNG with
 * their .dat and .gp beside them), image grids as PNG (libpng), CSV tables, and the progress line. */
#ifndef AE_REPORT_H
#define AE_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "ae_clock.h"
#include "ae_error.h"

/* --- atomic files ---------------------------------------------------------------------------
 * ae_afile_open creates "<path>.tmp.<pid>" in the same folder; ae_afile_commit flushes, fsyncs,
 * closes and renames it over path (and fsyncs the folder); ae_afile_abort removes the temp file.
 * Every error (unwritable folder, disk full: fflush/fsync/fclose failures are checked) is AE_EIO
 * naming the path and strerror. */
typedef struct ae_afile {
    FILE *f;
    char path[4096];
    char tmp[4096];
} ae_afile;
int ae_afile_open(ae_afile *af, const char *path, ae_err *err);
int ae_afile_commit(ae_afile *af, ae_err *err);
void ae_afile_abort(ae_afile *af);
/* Aborts after a writer (libpng...) gave up: AE_EIO naming the path and, when a write to af->f
 * failed, strerror of it (call at once, errno intact: "No space left on device"), else `why`. */
int ae_afile_fail(ae_afile *af, const char *why, ae_err *err);
/* Whole-buffer convenience. */
int ae_write_file_atomic(const char *path, const void *data, size_t len, ae_err *err);
/* mkdir -p; AE_EIO when it cannot be created or is not a writable directory. */
int ae_mkdirs(const char *path, ae_err *err);
/* Joins dir and name into out ("dir/name"); returns out. */
const char *ae_path_join(char *out, size_t len, const char *dir, const char *name);

/* --- JSON lines ----------------------------------------------------------------------------- */
/* A tiny builder for one JSON object: ae_json_begin, then fields, then ae_json_end. Numbers are
 * printed with %.9g (non-finite as null); strings are escaped. */
typedef struct ae_json {
    char *buf;
    size_t len, cap;
    int n;
} ae_json;
void ae_json_begin(ae_json *j);
void ae_json_num(ae_json *j, const char *key, double v);
void ae_json_int(ae_json *j, const char *key, long long v);
void ae_json_str(ae_json *j, const char *key, const char *v);
void ae_json_end(ae_json *j);   /* closes the object, appends '\n'; j->buf holds the line */
void ae_json_free(ae_json *j);
/* Appends lines to a JSONL file atomically: rewrites the whole file (old content + line) through
 * a temp file, so a crash never leaves half a line. */
int ae_jsonl_append(const char *path, const char *line, ae_err *err);
/* Keeps the first `lines` lines of a JSONL file (a resumed run drops what came after its checkpoint),
 * rewritten atomically; a missing file is fine. */
int ae_jsonl_keep(const char *path, long lines, ae_err *err);

/* --- gnuplot figures -------------------------------------------------------------------------
 * Each writes <stem>.dat (whitespace columns with a '#' header), <stem>.gp (a self-contained
 * gnuplot script: pngcairo terminal, reads the .dat by its file name relative to the .gp folder,
 * writes <stem>.png), then runs `gnuplot <stem>.gp` in that folder to make <stem>.png.
 * If gnuplot is missing, the .dat and .gp are still written and AE_OK is returned with a warning
 * on stderr. All three files are written atomically. */
typedef struct ae_series {
    const char *title;
    size_t n;
    const double *x, *y;
    const double *lo, *hi; /* optional band (filledcurves) or NULL */
} ae_series;
int ae_plot_lines(const char *stem, const char *title, const char *xlabel, const char *ylabel,
                  const ae_series *s, size_t ns, int logy, ae_err *err);
/* Line figures in panels sharing the x axis (gnuplot multiplot, two columns): one title and y label
 * and its series per panel, colours in the order of each panel's series. One panel: ae_plot_lines. */
typedef struct ae_panel {
    const char *title, *ylabel;
    const ae_series *s;
    size_t ns;
} ae_panel;
int ae_plot_panels(const char *stem, const char *title, const char *xlabel, const ae_panel *p, size_t np,
                   ae_err *err);
/* Scatter of points coloured by an integer label (palette, legend per class when <= 10 classes);
 * dims = 2 or 3 (3 = splot with a fixed view). label may be NULL (one colour). */
int ae_plot_scatter(const char *stem, const char *title, const float *pts, size_t n, int dims,
                    const int *label, const char *const *axis_names, ae_err *err);
/* The same with the legend naming label value v class_names[v] (0 <= v < n_names, not NULL), else v. */
int ae_plot_scatter_named(const char *stem, const char *title, const float *pts, size_t n, int dims,
                          const int *label, const char *const *class_names, int n_names,
                          const char *const *axis_names, ae_err *err);
/* Bars with error whiskers: one bar per name, value v[i], whisker [lo[i], hi[i]] (may be NULL). */
int ae_plot_bars(const char *stem, const char *title, const char *ylabel, const char *const *names,
                 const double *v, const double *lo, const double *hi, size_t n, ae_err *err);

/* Two 2-D scatters of the same n points side by side (a model's codes and PCA's, say), a[i] and
 * b[i] (x, y pairs) coloured alike by label (may be NULL), one legend (<= 10 classes): a label
 * value v is named class_names[v] when 0 <= v < n_names (class_names may be NULL), else v.
 * panel[2]: the panels' titles; axes[4]: a's x and y, b's x and y axis names. 1300x600. */
int ae_plot_scatter_pair(const char *stem, const char *title, const float *a, const float *b, size_t n,
                         const int *label, const char *const *class_names, int n_names,
                         const char *const *panel, const char *const *axes, ae_err *err);

/* Existing PNG images (paths relative to the stem's folder) stacked in one figure `width` pixels
 * wide, one panel each with its label above, all at one scale (the widest image fills the panel
 * width; the canvas grows with the images' heights): every run's reconstruction grid, a denoising
 * run's three rows as large as the others' two. rows[i] (may be NULL, as may rows): image i's rows'
 * names, "a|b|c" from the top, written at their left. */
int ae_plot_image_stack(const char *stem, const char *title, const char *const *images, const char *const *labels,
                        const char *const *rows, size_t n, int width, ae_err *err);

/* --- image grids ------------------------------------------------------------------------------
 * Writes a grayscale (c=1) or RGB (c=3) PNG of rows x cols tiles; tile k is img + k*c*h*w (CHW
 * floats, clamped to [0,1]); tiles beyond n are black; `scale` enlarges each pixel (>= 1);
 * 1-pixel gray separators between tiles. Atomic. */
int ae_png_grid(const char *path, const float *img, size_t n, int c, int h, int w, int rows, int cols,
                int scale, ae_err *err);
/* Tiled image figures (decoder outputs over a latent grid, first-layer filters), written like the
 * gnuplot figures: <stem>.png is drawn here (libpng, pixel for pixel: `scale` x each tile pixel,
 * gray separators 1 + scale / 8 pixels wide, as ae_png_grid's), <stem>.dat holds the composed
 * image (one text row per pixel row of the unscaled grid: gray values, or r g b triples, in [0, 1];
 * separators 0.5; a '#' header gives the layout and each tile's range) and <stem>.gp redraws it
 * with gnuplot (`gnuplot <stem>.gp` in its folder: title, and tic labels from xval/yval). */
typedef struct ae_tiles {
    const char *title;
    int scale;                 /* pixel enlargement of the PNG (>= 1) */
    int own_range;             /* 1: each tile stretched from its own [min, max] to [0, 1] (weights);
                                  0: values clamped to [0, 1] (images) */
    const double *xval, *yval; /* optional: a value per tile column / row (the .gp's tic labels) */
    const char *xlabel, *ylabel;
} ae_tiles;
int ae_plot_tiles(const char *stem, const float *img, size_t n, int c, int h, int w, int rows, int cols,
                  const ae_tiles *o, ae_err *err);
/* n evenly spaced quantiles of N(0, 1): q[i] = Φ⁻¹((i + 1/2) / n) (gsl_cdf_ugaussian_Pinv),
 * ascending and symmetric about 0: the coordinates of a latent-manifold grid (Kingma & Welling
 * 2014, Fig. 4). */
void ae_gauss_grid(int n, double *q);
/* Reads back an 8-bit gray/RGB PNG (tests): *pix malloc'd, w,h,channels set. */
int ae_png_read(const char *path, unsigned char **pix, int *w, int *h, int *channels, ae_err *err);

/* --- CSV tables --------------------------------------------------------------------------- */
/* Writes n rows of d floats with a header of column names (NULL names = c0..c{d-1}) and an optional
 * extra integer column (label, named label_name) at the end. Atomic. */
int ae_csv_write(const char *path, const float *x, size_t n, size_t d, const char *const *names,
                 const int *label, const char *label_name, ae_err *err);

/* --- progress --------------------------------------------------------------------------------
 * On a terminal (isatty(stderr)) redraws one line: "epoch 3/20  batch 120/469  loss 0.2841
 * 15.2k samples/s  ETA 0:41" (samples/s of the epoch so far); otherwise prints a plain line at each epoch end only. Cheap to call
 * every batch: redraws at most 10 times a second. */
typedef struct ae_progress {
    int tty, enabled;
    long epochs, batches;
    double t_start, t_last_draw, t_epoch;
    double samples;     /* seen since start */
    double epoch_samples; /* seen in the current epoch (the redrawn line's samples/s) */
    int drawn;
    char label[160];    /* "" or the prefix of every line, e.g. "masked seed 2: " */
} ae_progress;
/* Every progress line begun after this call starts with "LABEL: " (NULL or "": no prefix, the
 * default). Process-wide: a --jobs worker process names its run so interleaved lines can be told
 * apart. */
void ae_progress_set_label(const char *label);
void ae_progress_init(ae_progress *p, long epochs, long batches_per_epoch, int enabled);
void ae_progress_batch(ae_progress *p, long epoch, long batch, double loss, size_t batch_samples);
/* Ends an epoch: the terminal line is finished with '\n'; extra is appended (e.g. "test_mse 0.21").
 * samples_per_s is the epoch's throughput as metrics.jsonl records it, so both show one figure. */
void ae_progress_epoch(ae_progress *p, long epoch, double loss, double samples_per_s, const char *extra);

#endif

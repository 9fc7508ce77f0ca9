/* gnuplot bar charts (mean with CI whiskers, one bar per run) and image stacks (one PNG per row),
 * written like the other figures: <stem>.dat, a restylable <stem>.gp, then <stem>.png. */
#include "ae_report.h"
#include "report_plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 32 /* characters of a run name shown under its bar (the .dat keeps it whole) */

/* Characters (not bytes) of UTF-8 text. */
static size_t text_chars(const char *s)
{
    size_t k = 0;
    for (; *s; s++) k += ((unsigned char)*s & 0xc0) != 0x80;
    return k;
}

/* name, or its first LABEL_MAX - 1 characters and "…" when longer. */
static void bar_label(char *dst, size_t cap, const char *name)
{
    size_t k = 0, i = 0;
    for (; name[i] && k < LABEL_MAX; i++) k += ((unsigned char)name[i] & 0xc0) != 0x80;
    if (text_chars(name) <= LABEL_MAX || cap < 8) {
        snprintf(dst, cap, "%s", name);
        return;
    }
    i = 0;
    for (k = 0; name[i]; i++) { /* the byte where character LABEL_MAX - 1 starts */
        if (((unsigned char)name[i] & 0xc0) != 0x80 && k++ == LABEL_MAX - 1) break;
    }
    snprintf(dst, cap, "%.*s…", (int)(i < cap - 4 ? i : cap - 4), name);
}

/* Tic labels under the bars: rotated by 45 degrees when they would not fit side by side, with
 * margins wide enough for them (measured: a character of these labels is ~1.1 of gnuplot's
 * character width, ~0.5 of its height). Label i ends under its bar, (i + 0.6) / (n + 0.2) into a
 * plot at least 60 characters wide, and reaches 0.71 of its length left of and below it. */
static void bar_tics(FILE *f, const size_t *chars, size_t n)
{
    size_t longest = 0;
    for (size_t i = 0; i < n; i++) longest = chars[i] > longest ? chars[i] : longest;
    if (longest * n <= 90) return;
    double left = 0;
    for (size_t i = 0; i < n; i++) {
        double reach = 0.8 * (double)chars[i] - 60.0 * ((double)i + 0.6) / ((double)n + 0.2);
        if (reach > left) left = reach;
    }
    fprintf(f, "set xtics rotate by 45 right\nset bmargin %d\n", (int)ceil(0.33 * (double)longest) + 2);
    if (left > 9) fprintf(f, "set lmargin %d\n", (int)ceil(left) + 2);
}

int ae_plot_bars(const char *stem, const char *title, const char *ylabel, const char *const *names,
                 const double *v, const double *lo, const double *hi, size_t n, ae_err *err)
{
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc) return rc;
    int whiskers = lo || hi;
    size_t usable = 0, *chars = calloc(n ? n : 1, sizeof *chars);
    if (!chars) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int negative = 0;
    ae_afile af;
    if ((rc = ae_afile_open(&af, pp.dat, err))) {
        free(chars);
        return rc;
    }
    fputs("# ", af.f);
    ae_gp_plain(af.f, title, 0);
    fputs(whiskers ? "\n# index \"name\" value low high \"label\"\n" : "\n# index \"name\" value \"label\"\n", af.f);
    for (size_t i = 0; i < n; i++) {
        char def[32], label[LABEL_MAX * 4 + 8];
        snprintf(def, sizeof def, "%zu", i + 1);
        const char *nm = names && names[i] ? names[i] : def;
        bar_label(label, sizeof label, nm);
        chars[i] = text_chars(label);
        fprintf(af.f, "%zu \"", i);
        ae_gp_plain(af.f, nm, '"');
        fprintf(af.f, "\" %.9g", v[i]);
        double l = lo ? lo[i] : v[i], h = hi ? hi[i] : v[i];
        if (whiskers) fprintf(af.f, " %.9g %.9g", l, h);
        fputs(" \"", af.f);
        ae_gp_plain(af.f, label, '"');
        fputs("\"\n", af.f);
        usable += isfinite(v[i]) != 0;
        negative |= v[i] < 0 || (whiskers && l < 0);
    }
    if ((rc = ae_afile_commit(&af, err))) {
        free(chars);
        return rc;
    }

    if ((rc = ae_afile_open(&af, pp.gp, err))) {
        free(chars);
        return rc;
    }
    FILE *f = af.f;
    ae_gp_head(f, &pp, title, 0);
    ae_gp_label(f, "y", ylabel, "");
    fputs("unset key\nset grid noxtics ytics\nset style fill solid 0.8 border lc rgb '#303030'\n"
          "set boxwidth 0.6\nset xtics noenhanced scale 0\n", f);
    bar_tics(f, chars, n);
    free(chars);
    fprintf(f, "set xrange [-0.6:%.1f]\n", n ? (double)n - 0.4 : 0.6);
    if (!n) fputs("unset xtics\n", f);
    if (!usable) fputs("set yrange [0:1]\n", f);
    else if (!negative) fputs("set yrange [0:*]\n", f);
    fprintf(f, "plot '%s.dat' using 1:3:xtic(%d) with boxes lc 1 notitle", pp.base, whiskers ? 6 : 4);
    if (whiskers) /* whisker and caps as vectors: yerrorbars leaves a blank disc around the point */
        fputs(", \\\n  '' using 1:4:(0):($5-$4) with vectors nohead lc rgb '#202020' lw 1.5 notitle, \\\n"
              "  '' using ($1-0.07):4:(0.14):(0) with vectors nohead lc rgb '#202020' lw 1.5 notitle, \\\n"
              "  '' using ($1-0.07):5:(0.14):(0) with vectors nohead lc rgb '#202020' lw 1.5 notitle", f);
    fputs("\nset output\n", f);
    if ((rc = ae_afile_commit(&af, err))) return rc;
    return ae_gp_run(&pp, stem, err);
}

/* A PNG's width and height from its IHDR chunk (0 when unreadable). */
static void png_size(const char *dir, const char *rel, long *w, long *h)
{
    char p[8400];
    unsigned char b[24];
    if (rel[0] == '/') snprintf(p, sizeof p, "%s", rel);
    else snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "rb");
    *w = *h = 0;
    if (f && fread(b, 1, 24, f) == 24 && !memcmp(b + 12, "IHDR", 4)) {
        *w = (long)b[16] << 24 | (long)b[17] << 16 | (long)b[18] << 8 | b[19];
        *h = (long)b[20] << 24 | (long)b[21] << 16 | (long)b[22] << 8 | b[23];
    }
    if (f) fclose(f);
}

/* One image's panel at exact screen fractions [l, r] x [b, t], pixel for pixel to the axes, and its
 * rows' names at the left (rows: "a|b|c", top row first; NULL: none). */
static void stack_panel(FILE *f, const char *label, const char *image, const char *rows, long iw, long ih, double l,
                        double r, double b, double t)
{
    fprintf(f, "unset label\nset lmargin at screen %.6f\nset rmargin at screen %.6f\nset bmargin at screen %.6f\n"
               "set tmargin at screen %.6f\nset xrange [-0.5:%ld.5]\nset yrange [-0.5:%ld.5]\n",
            l, r, b, t, iw > 0 ? iw - 1 : 0, ih > 0 ? ih - 1 : 0);
    int nrows = 0;
    for (const char *c = rows; c && *c; c++) nrows += *c == '|';
    nrows += rows && *rows;
    char name[128];
    for (int k = 0; rows && k < nrows; k++) {
        const char *c = rows;
        for (int q = 0; q < k; q++) c = strchr(c, '|') + 1;
        size_t len = strcspn(c, "|");
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), c);
        fputs("set label ", f);
        ae_gp_str(f, name);
        fprintf(f, " at screen %.6f, screen %.6f right noenhanced\n", l - 0.01, t - (t - b) * (k + 0.5) / nrows);
    }
    fputs("set title ", f);
    ae_gp_str(f, label);
    fputs(" noenhanced offset 0,-0.6\nplot ", f);
    ae_gp_str(f, image);
    fputs(" binary filetype=png with rgbimage\n", f);
}

int ae_plot_image_stack(const char *stem, const char *title, const char *const *images, const char *const *labels,
                        const char *const *rows, size_t n, int width, ae_err *err)
{
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc) return rc;
    ae_afile af;
    if ((rc = ae_afile_open(&af, pp.dat, err))) return rc;
    fputs("# \"label\" \"image\" \"rows (top first)\"\n", af.f);
    for (size_t i = 0; i < n; i++) {
        fputc('"', af.f);
        ae_gp_plain(af.f, labels[i], '"');
        fputs("\" \"", af.f);
        ae_gp_plain(af.f, images[i], '"');
        fputs("\" \"", af.f);
        ae_gp_plain(af.f, rows && rows[i] ? rows[i] : "", '"');
        fputs("\"\n", af.f);
    }
    if ((rc = ae_afile_commit(&af, err))) return rc;
    /* one scale for all: every image as wide as the widest one would be at `plot` pixels */
    long *iw = calloc(n ? n : 1, sizeof *iw), *ih = calloc(n ? n : 1, sizeof *ih), wmax = 1;
    if (!iw || !ih) {
        free(iw);
        free(ih);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        png_size(pp.dir, images[i], &iw[i], &ih[i]);
        if (iw[i] > wmax) wmax = iw[i];
    }
    const double left = 130, right = 20, head = 45, gap = 28, plot = width - left - right, sc = plot / (double)wmax;
    double total = head;
    for (size_t i = 0; i < n; i++) total += gap + (ih[i] > 0 ? (double)ih[i] * sc : 150);
    if ((rc = ae_afile_open(&af, pp.gp, err))) {
        free(iw);
        free(ih);
        return rc;
    }
    FILE *f = af.f;
    fputs("# ", f);
    ae_gp_plain(f, title, 0);
    fprintf(f, "\n# Written by aelab: the images listed in %s.dat, one row each, all at one scale. Run `gnuplot %s.gp` "
               "in this folder to redraw %s.png.\nif (!exists(\"outfile\")) outfile = '%s.png'\n",
            pp.base, pp.base, pp.base, pp.base);
    fprintf(f, "set terminal pngcairo size %d,%.0f enhanced font 'sans,10'\nset output outfile\n", width, ceil(total));
    fputs("set multiplot title ", f);
    ae_gp_str(f, title);
    fputs(" noenhanced font 'sans,13'\nunset border\nunset tics\nunset key\n", f);
    double y = total - head; /* pixels from the bottom to the current panel's top (its title above) */
    for (size_t i = 0; i < n; i++) {
        double h = ih[i] > 0 ? (double)ih[i] * sc : 150, w = iw[i] > 0 ? (double)iw[i] * sc : plot;
        double t = (y - gap) / total, b = fmax(0.0, (y - gap - h) / total);
        stack_panel(f, labels[i], images[i], rows ? rows[i] : NULL, iw[i], ih[i], left / width, (left + w) / width,
                    b, t);
        y -= gap + h;
    }
    fputs("unset multiplot\nset output\n", f);
    free(iw);
    free(ih);
    if ((rc = ae_afile_commit(&af, err))) return rc;
    return ae_gp_run(&pp, stem, err);
}

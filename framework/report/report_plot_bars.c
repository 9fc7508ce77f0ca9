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

int ae_plot_image_stack(const char *stem, const char *title, const char *const *images,
                        const char *const *labels, size_t n, int width, int row_height, ae_err *err)
{
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc) return rc;
    ae_afile af;
    if ((rc = ae_afile_open(&af, pp.dat, err))) return rc;
    fputs("# \"label\" \"image\"\n", af.f);
    for (size_t i = 0; i < n; i++) {
        fputc('"', af.f);
        ae_gp_plain(af.f, labels[i], '"');
        fputs("\" \"", af.f);
        ae_gp_plain(af.f, images[i], '"');
        fputs("\"\n", af.f);
    }
    if ((rc = ae_afile_commit(&af, err))) return rc;
    if ((rc = ae_afile_open(&af, pp.gp, err))) return rc;
    FILE *f = af.f;
    fputs("# ", f);
    ae_gp_plain(f, title, 0);
    fprintf(f, "\n# Written by aelab: the images listed in %s.dat, one row each. Run `gnuplot %s.gp` in "
               "this folder to redraw %s.png.\nif (!exists(\"outfile\")) outfile = '%s.png'\n",
            pp.base, pp.base, pp.base, pp.base);
    fprintf(f, "set terminal pngcairo size %d,%zu enhanced font 'sans,10'\nset output outfile\n", width,
            (size_t)row_height * (n ? n : 1) + 40);
    fputs("set multiplot title ", f);
    ae_gp_str(f, title);
    fprintf(f, " noenhanced font 'sans,13' layout %zu,1\n", n ? n : 1);
    fputs("unset border\nunset tics\nunset key\nset size ratio -1\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("set title ", f);
        ae_gp_str(f, labels[i]);
        fputs(" noenhanced offset 0,-0.5\nplot ", f);
        ae_gp_str(f, images[i]);
        fputs(" binary filetype=png with rgbimage\n", f);
    }
    fputs("unset multiplot\nset output\n", f);
    if ((rc = ae_afile_commit(&af, err))) return rc;
    return ae_gp_run(&pp, stem, err);
}

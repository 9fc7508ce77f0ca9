/* gnuplot figures: each writes <stem>.dat and a self-contained, restylable <stem>.gp, then runs
 * gnuplot in the stem's folder to draw <stem>.png (all three files appear atomically). */
#include "ae_report.h"
#include "report_plot_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CLASSES AE_GP_MAX_CLASSES

static const char *const COLORS[MAX_CLASSES] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

int ae_gp_split_stem(const char *stem, ae_gp_paths *pp, ae_err *err)
{
    size_t len = stem ? strlen(stem) : 0;
    if (!len || stem[len - 1] == '/') return ae_errf(err, AE_EINPUT, "bad figure name '%s'", stem ? stem : "");
    const char *slash = strrchr(stem, '/');
    pp->base = slash ? slash + 1 : stem;
    size_t dl = slash ? (size_t)(slash - stem) : 0;
    if (dl >= sizeof pp->dir || len + 5 >= sizeof pp->dat)
        return ae_errf(err, AE_EIO, "cannot write '%s.png': %s", stem, strerror(ENAMETOOLONG));
    if (!slash) strcpy(pp->dir, ".");
    else if (dl == 0) strcpy(pp->dir, "/");
    else {
        memcpy(pp->dir, stem, dl);
        pp->dir[dl] = '\0';
    }
    snprintf(pp->dat, sizeof pp->dat, "%s.dat", stem);
    snprintf(pp->gp, sizeof pp->gp, "%s.gp", stem);
    snprintf(pp->png, sizeof pp->png, "%s.png", stem);
    return AE_OK;
}

/* Writes s as a gnuplot single-quoted string ('' stands for '; line breaks become spaces). */
void ae_gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'') fputs("''", f);
        else fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
    }
    fputc('\'', f);
}

void ae_gp_class_keys(FILE *f, const int *cls, int ncls, const char *const *class_names, int n_names)
{
    for (int j = 0; j < ncls; j++) {
        char num[16];
        snprintf(num, sizeof num, "%d", cls[j]);
        int named = class_names && cls[j] >= 0 && cls[j] < n_names && class_names[cls[j]];
        fprintf(f, ", \\\n  keyentry with points pt 7 ps 1.2 lc %d title ", j + 1);
        ae_gp_str(f, named ? class_names[cls[j]] : num);
        fputs(" noenhanced", f);
    }
}

/* Writes s with control characters replaced, for '#' comments and quoted .dat fields. */
void ae_gp_plain(FILE *f, const char *s, char bad_quote)
{
    for (; s && *s; s++) {
        char c = (unsigned char)*s < 0x20 ? ' ' : *s;
        fputc(c == bad_quote ? '\'' : c, f);
    }
}

/* Common head of every script: how to redraw, output, fonts, colours, frame, grid, title. */
void ae_gp_head(FILE *f, const ae_gp_paths *pp, const char *title, int three_d)
{
    ae_gp_head_size(f, pp, title, three_d, 900, 600);
}

void ae_gp_head_size(FILE *f, const ae_gp_paths *pp, const char *title, int three_d, int width, int height)
{
    fputs("# ", f);
    ae_gp_plain(f, title && *title ? title : pp->base, 0);
    fprintf(f, "\n# Written by aelab. Restyle freely, then run `gnuplot %s.gp` in this folder to redraw"
               " %s.png.\n", pp->base, pp->base);
    fputs("if (!exists(\"outfile\")) outfile = ", f);
    char png[1100];
    snprintf(png, sizeof png, "%s.png", pp->base);
    ae_gp_str(f, png);
    fprintf(f, "\nset terminal pngcairo size %d,%d enhanced font 'sans,10'\n"
               "set output outfile\n"
               "set encoding utf8\n", width, height);
    for (int k = 0; k < MAX_CLASSES; k++)
        fprintf(f, "set linetype %d lc rgb '%s' lw 2 pt 7 ps 1\n", k + 1, COLORS[k]);
    fprintf(f, "set linetype cycle %d\n", MAX_CLASSES);
    if (three_d)
        fputs("set border 4095 lc rgb '#606060'\nset tics out scale 0.6\n"
              "set grid x y z back lt 1 lc rgb '#e6e6e6' lw 1\n", f);
    else
        fputs("set border 3 lc rgb '#404040'\nset tics nomirror out scale 0.6\n"
              "set grid back lt 1 lc rgb '#e6e6e6' lw 1\n", f);
    fputs("set title ", f);
    ae_gp_str(f, title);
    fputs(" noenhanced font 'sans,13'\n", f);
}

void ae_gp_label(FILE *f, const char *axis, const char *text, const char *extra)
{
    fprintf(f, "set %slabel ", axis);
    ae_gp_str(f, text);
    fprintf(f, " noenhanced%s\n", extra);
}

static void warn_no_gnuplot(const char *stem)
{
    static int warned;
    if (warned) return;
    warned = 1;
    fprintf(stderr, "aelab: warning: gnuplot is not on PATH: wrote %s.dat and %s.gp but no .png"
                    " (further figures will not be drawn either)\n", stem, stem);
}

/* Runs `gnuplot -e "outfile='<png tmp>'" <base>.gp` in the stem's folder, then moves the PNG into
 * place atomically. Exit status 127 from the child means gnuplot could not be found. */
/* gnuplot exits 0 after writing a PNG cut short by a full disk or a file size limit: an image
 * counts only when it ends with PNG's closing IEND chunk. Aborts af (and says why) otherwise. */
static int png_complete(ae_afile *af, const ae_gp_paths *pp, ae_err *err)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    struct stat st;
    struct statvfs vs;
    af->f = fopen(af->tmp, "rb");
    int empty = !af->f || fstat(fileno(af->f), &st) != 0 || st.st_size == 0;
    int whole = !empty && st.st_size >= 12 && fseek(af->f, -12, SEEK_END) == 0 &&
                fread(tail, 1, 12, af->f) == 12 && !memcmp(tail, iend, 12);
    if (whole) {
        fclose(af->f);
        af->f = fopen(af->tmp, "ab"); /* the commit flushes and syncs it */
        if (af->f) return AE_OK;
    }
    ae_afile_abort(af);
    if (empty) return ae_errf(err, AE_EIO, "gnuplot wrote no image to '%s' (script '%s')", pp->png, pp->gp);
    int full = statvfs(pp->dir, &vs) == 0 && vs.f_bavail == 0;
    return ae_errf(err, AE_EIO, "gnuplot wrote an incomplete image to '%s' (%s)", pp->png,
                   full ? strerror(ENOSPC) : "cut short: is the disk full or a file size limit set?");
}

/* Reads fd to its end, keeping the start of what it says (gnuplot's complaints) on one line in msg;
 * returns its length. */
static size_t drain_messages(int fd, char *msg, size_t cap)
{
    size_t mlen = 0;
    for (;;) {
        char buf[1024];
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        for (ssize_t i = 0; i < r && mlen + 1 < cap; i++) msg[mlen++] = buf[i] == '\n' || buf[i] == '\t' ? ' ' : buf[i];
    }
    while (mlen && msg[mlen - 1] == ' ') mlen--;
    msg[mlen] = '\0';
    return mlen;
}

int ae_gp_run(const ae_gp_paths *pp, const char *stem, ae_err *err)
{
    ae_afile af;
    int rc = ae_afile_open(&af, pp->png, err);
    if (rc) return rc;
    fclose(af.f);
    af.f = NULL;
    const char *tslash = strrchr(af.tmp, '/');
    const char *tbase = tslash ? tslash + 1 : af.tmp;
    char arg[2 * sizeof af.tmp + 16], gpname[1100];
    size_t k = 0;
    k += (size_t)snprintf(arg, sizeof arg, "outfile='");
    for (const char *s = tbase; *s && k + 4 < sizeof arg; s++) {
        if (*s == '\'') arg[k++] = '\'';
        arg[k++] = *s;
    }
    arg[k++] = '\'';
    arg[k] = '\0';
    snprintf(gpname, sizeof gpname, "%s.gp", pp->base);

    int pfd[2];
    if (pipe(pfd) != 0) {
        ae_afile_abort(&af);
        return ae_errf(err, AE_EIO, "cannot run gnuplot for '%s': %s", pp->png, strerror(errno));
    }
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        ae_afile_abort(&af);
        return ae_errf(err, AE_EIO, "cannot run gnuplot for '%s': %s", pp->png, strerror(e));
    }
    if (pid == 0) { /* child: only async-signal-safe calls until exec */
        char *const argv[] = {"gnuplot", "-e", arg, gpname, NULL};
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        dup2(pfd[1], 2);
        if (chdir(pp->dir) != 0) _exit(126);
        execvp("gnuplot", argv);
        _exit(errno == ENOENT ? 127 : 126);
    }
    close(pfd[1]);
    char msg[400];
    size_t mlen = drain_messages(pfd[0], msg, sizeof msg);
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            ae_afile_abort(&af);
            return ae_errf(err, AE_EIO, "cannot run gnuplot for '%s': %s", pp->png, strerror(errno));
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        ae_afile_abort(&af);
        warn_no_gnuplot(stem);
        return AE_OK;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ae_afile_abort(&af);
        const char *m = mlen ? msg : WIFEXITED(status) && WEXITSTATUS(status) == 126 ? "cannot start it" : "it failed";
        return ae_errf(err, AE_EIO, "gnuplot could not draw '%s' from '%s': %s", pp->png, pp->gp, m);
    }
    if (png_complete(&af, pp, err)) return err->code;
    return ae_afile_commit(&af, err);
}

static void minmax_pos(const double *v, size_t n, double *lo, double *hi)
{
    for (size_t t = 0; v && t < n; t++)
        if (isfinite(v[t]) && v[t] > 0) {
            if (v[t] < *lo) *lo = v[t];
            if (v[t] > *hi) *hi = v[t];
        }
}

/* Log y axis: labelled tics at 1-2-5 (or 1..9) times powers of ten when the data spans less than
 * four decades, else one per decade as 10^k. */
static void log_tics(FILE *f, const ae_series *s, size_t ns)
{
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < ns; i++) {
        minmax_pos(s[i].y, s[i].n, &lo, &hi);
        if (s[i].lo && s[i].hi) {
            minmax_pos(s[i].lo, s[i].n, &lo, &hi);
            minmax_pos(s[i].hi, s[i].n, &lo, &hi);
        }
    }
    fputs("set logscale y\n", f);
    if (!(hi > 0) || hi / lo >= 1e4) {
        fputs("set format y '10^{%L}'\n", f);
        return;
    }
    static const int steps[2][9] = {{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
    static const int nsteps[2] = {3, 9};
    int e0 = (int)floor(log10(lo)) - 1, e1 = (int)ceil(log10(hi)) + 1;
    for (int fine = 0; fine < 2; fine++) {
        int inside = 0;
        for (int e = e0; e <= e1; e++)
            for (int m = 0; m < nsteps[fine]; m++) {
                double t = steps[fine][m] * pow(10, e);
                inside += t >= lo && t <= hi;
            }
        if (inside < (fine ? 2 : 3)) continue;
        fputs("set format y '%g'\nset ytics (", f);
        for (int e = e0, k = 0; e <= e1; e++)
            for (int m = 0; m < nsteps[fine]; m++) fprintf(f, k++ ? ", %.9g" : "%.9g", steps[fine][m] * pow(10, e));
        fputs(")\n", f);
        return;
    }
    fputs("set format y '%g'\n", f); /* a narrow range: gnuplot's own tics */
}

/* x values that are all whole numbers (epochs): integer tics, every 1, 2, 5, 10, 20, ... so that
 * at most 10 are drawn (never 1.5); a single x value gets a range of one either side. */
void ae_gp_whole_x_tics(FILE *f, const ae_series *s, size_t ns)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < ns; i++)
        for (size_t t = 0; t < s[i].n; t++) {
            double x = s[i].x[t];
            if (!isfinite(x) || !isfinite(s[i].y[t])) continue;
            if (x != floor(x) || fabs(x) > 1e15) return;
            lo = fmin(lo, x);
            hi = fmax(hi, x);
        }
    if (!(lo <= hi)) return;
    double step = 1;
    for (int k = 0; (hi - lo) / step > 10; k++) step *= k % 3 == 1 ? 2.5 : 2; /* 1 2 5 10 20 50 ... */
    fprintf(f, "set xtics %.17g\nset mxtics 1\nset format x '%%.0f'\n", step);
    if (lo == hi) fprintf(f, "set xrange [%.17g:%.17g]\n", lo - 1, hi + 1);
}

int ae_plot_lines(const char *stem, const char *title, const char *xlabel, const char *ylabel,
                  const ae_series *s, size_t ns, int logy, ae_err *err)
{
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc) return rc;
    ae_afile af;
    if ((rc = ae_afile_open(&af, pp.dat, err))) return rc;
    fputs("# ", af.f);
    ae_gp_plain(af.f, title, 0);
    fputs("\n# one block per series (gnuplot index 0, 1, ...): x y [lo hi]\n", af.f);
    size_t usable = 0; /* points gnuplot can draw, over all series */
    for (size_t i = 0; i < ns; i++) {
        if (i) fputs("\n\n", af.f);
        fprintf(af.f, "# series %zu: ", i);
        ae_gp_plain(af.f, s[i].title, 0);
        fputc('\n', af.f);
        int band = s[i].lo && s[i].hi;
        for (size_t t = 0; t < s[i].n; t++) {
            fprintf(af.f, "%.9g %.9g", s[i].x[t], s[i].y[t]);
            if (band) fprintf(af.f, " %.9g %.9g", s[i].lo[t], s[i].hi[t]);
            fputc('\n', af.f);
            if (isfinite(s[i].x[t]) && isfinite(s[i].y[t]) && (!logy || s[i].y[t] > 0)) usable++;
        }
    }
    if ((rc = ae_afile_commit(&af, err))) return rc;

    if ((rc = ae_afile_open(&af, pp.gp, err))) return rc;
    FILE *f = af.f;
    ae_gp_head(f, &pp, title, 0);
    ae_gp_label(f, "x", xlabel, "");
    ae_gp_label(f, "y", ylabel, "");
    if (logy) log_tics(f, s, ns);
    if (usable) fputs("set autoscale xfix\nset autoscale yfix\n"
                      "set offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05\n", f);
    else fprintf(f, "set xrange [0:1]\nset yrange [%s:1]\n", logy ? "0.1" : "0");
    ae_gp_whole_x_tics(f, s, ns);
    fputs("set key below center horizontal samplen 3 spacing 1.2\n", f);
    fputs("plot", f);
    int first = 1;
    for (size_t i = 0; i < ns; i++) /* bands first, so no band hides a line */
        if (s[i].n && s[i].lo && s[i].hi) {
            fprintf(f, "%s \\\n  '%s.dat' index %zu using 1:3:4 with filledcurves lc %d fs transparent"
                       " solid 0.18 noborder notitle",
                    first ? "" : ",", pp.base, i, (int)(i % MAX_CLASSES) + 1);
            first = 0;
        }
    for (size_t i = 0; i < ns; i++) {
        if (s[i].n == 0) continue;
        int few = s[i].n <= 30; /* few points: mark them */
        fprintf(f, "%s \\\n  '%s.dat' index %zu using 1:2 with %s lc %d lw 2%s title ", first ? "" : ",",
                pp.base, i, few ? "linespoints" : "lines", (int)(i % MAX_CLASSES) + 1, few ? " pt 7 ps 0.6" : "");
        char def[32];
        snprintf(def, sizeof def, "series %zu", i + 1);
        ae_gp_str(f, s[i].title ? s[i].title : def);
        fputs(" noenhanced", f);
        first = 0;
    }
    if (first) fputs(" NaN notitle", f);
    fputs("\nset output\n", f);
    if ((rc = ae_afile_commit(&af, err))) return rc;
    return ae_gp_run(&pp, stem, err);
}

/* Distinct label values in ascending order; returns their count, or MAX_CLASSES + 1 if more. */
int ae_gp_find_classes(const int *label, size_t n, int *cls)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        int j = 0;
        while (j < k && cls[j] != label[i]) j++;
        if (j < k) continue;
        if (k == MAX_CLASSES) return MAX_CLASSES + 1;
        cls[k++] = label[i];
    }
    for (int a = 1; a < k; a++) /* insertion sort: at most 10 values */
        for (int b = a; b > 0 && cls[b - 1] > cls[b]; b--) {
            int t = cls[b];
            cls[b] = cls[b - 1];
            cls[b - 1] = t;
        }
    return k;
}

int ae_plot_scatter(const char *stem, const char *title, const float *pts, size_t n, int dims,
                    const int *label, const char *const *axis_names, ae_err *err)
{
    return ae_plot_scatter_named(stem, title, pts, n, dims, label, NULL, 0, axis_names, err);
}

int ae_plot_scatter_named(const char *stem, const char *title, const float *pts, size_t n, int dims,
                          const int *label, const char *const *class_names, int n_names,
                          const char *const *axis_names, ae_err *err)
{
    if (dims != 2 && dims != 3) return ae_errf(err, AE_EINPUT, "scatter plot '%s': dims must be 2 or 3, not %d",
                                               stem ? stem : "", dims);
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc) return rc;
    int cls[MAX_CLASSES];
    int ncls = label ? ae_gp_find_classes(label, n, cls) : 0;
    int by_class = label && ncls <= MAX_CLASSES;
    const char *defname[3] = {"dim 1", "dim 2", "dim 3"};
    const char *names[3];
    for (int d = 0; d < 3; d++) names[d] = axis_names && axis_names[d] ? axis_names[d] : defname[d];

    ae_afile af;
    if ((rc = ae_afile_open(&af, pp.dat, err))) return rc;
    fputs("# ", af.f);
    ae_gp_plain(af.f, title, 0);
    fputs("\n# columns:", af.f);
    for (int d = 0; d < dims; d++) {
        fputs(" [", af.f);
        ae_gp_plain(af.f, names[d], 0);
        fputc(']', af.f);
    }
    fputs(label ? (by_class ? " label colour_index\n" : " label\n") : "\n", af.f);
    size_t usable = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = pts + i * (size_t)dims;
        int fin = 1;
        for (int d = 0; d < dims; d++) {
            fprintf(af.f, d ? " %.9g" : "%.9g", (double)p[d]);
            fin &= isfinite(p[d]) != 0;
        }
        usable += (size_t)fin;
        if (label) fprintf(af.f, " %d", label[i]);
        if (by_class) {
            int j = 0;
            while (cls[j] != label[i]) j++;
            fprintf(af.f, " %d", j + 1);
        }
        fputc('\n', af.f);
    }
    if ((rc = ae_afile_commit(&af, err))) return rc;

    if ((rc = ae_afile_open(&af, pp.gp, err))) return rc;
    FILE *f = af.f;
    ae_gp_head(f, &pp, title, dims == 3);
    ae_gp_label(f, "x", names[0], "");
    ae_gp_label(f, "y", names[1], dims == 3 ? " rotate parallel" : "");
    if (dims == 3) {
        ae_gp_label(f, "z", names[2], " rotate parallel");
        fputs("set view 60,30\nset xyplane relative 0\n", f);
    }
    if (!usable) fputs(dims == 3 ? "set xrange [0:1]\nset yrange [0:1]\nset zrange [0:1]\n"
                                 : "set xrange [0:1]\nset yrange [0:1]\n", f);
    double ps = n <= 2000 ? 0.7 : 0.4;
    const char *cmd = dims == 3 ? "splot" : "plot";
    const char *xyz = dims == 3 ? "1:2:3" : "1:2";
    if (by_class) {
        fputs("set key outside right top vertical title 'label' samplen 1 spacing 1.1\n", f);
        fprintf(f, "%s '%s.dat' using %s:%d with points pt 7 ps %.1f lc variable notitle", cmd, pp.base,
                xyz, dims + 2, ps);
        ae_gp_class_keys(f, cls, ncls, class_names, n_names);
        fputc('\n', f);
    } else if (label) {
        fputs("unset key\nset cblabel 'label'\n"
              "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n", f);
        fprintf(f, "%s '%s.dat' using %s:%d with points pt 7 ps %.1f lc palette notitle\n", cmd, pp.base, xyz,
                dims + 1, ps);
    } else {
        fprintf(f, "unset key\n%s '%s.dat' using %s with points pt 7 ps %.1f lc 1 notitle\n", cmd, pp.base, xyz,
                ps);
    }
    fputs("set output\n", f);
    if ((rc = ae_afile_commit(&af, err))) return rc;
    return ae_gp_run(&pp, stem, err);
}

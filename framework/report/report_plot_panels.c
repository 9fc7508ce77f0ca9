/* Line figures in panels (gnuplot multiplot): a run's loss per epoch on the first, each term of a
 * several-term loss on its own; <stem>.dat (one block per series, panel after panel), a restylable
 * <stem>.gp, then <stem>.png. One panel is the plain line figure of ae_plot_lines. */
#include "ae_report.h"
#include "report_plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int write_dat(const ae_gp_paths *pp, const char *title, const ae_panel *p, size_t np, ae_err *err)
{
    ae_afile af;
    int rc = ae_afile_open(&af, pp->dat, err);
    if (rc) return rc;
    fputs("# ", af.f);
    ae_gp_plain(af.f, title, 0);
    fputs("\n# one block per series (gnuplot index 0, 1, ...), panel after panel: x y\n", af.f);
    size_t block = 0;
    for (size_t k = 0; k < np; k++)
        for (size_t i = 0; i < p[k].ns; i++, block++) {
            const ae_series *s = &p[k].s[i];
            if (block) fputs("\n\n", af.f);
            fprintf(af.f, "# series %zu (panel ", block);
            ae_gp_plain(af.f, p[k].title, 0);
            fputs("): ", af.f);
            ae_gp_plain(af.f, s->title, 0);
            fputc('\n', af.f);
            for (size_t t = 0; t < s->n; t++) fprintf(af.f, "%.9g %.9g\n", s->x[t], s->y[t]);
        }
    return ae_afile_commit(&af, err);
}

/* One panel's plot command over its blocks (from `block` on); colours follow the series' order. */
static void panel_plot(FILE *f, const ae_gp_paths *pp, const ae_panel *p, size_t block)
{
    size_t usable = 0;
    for (size_t i = 0; i < p->ns; i++)
        for (size_t t = 0; t < p->s[i].n; t++) usable += isfinite(p->s[i].x[t]) && isfinite(p->s[i].y[t]);
    fputs("set title ", f);
    ae_gp_str(f, p->title);
    fputs(" noenhanced font 'sans,11'\n", f);
    ae_gp_label(f, "y", p->ylabel, "");
    if (usable)
        fputs("set autoscale xfix\nset autoscale yfix\nset offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05\n", f);
    else fputs("set xrange [0:1]\nset yrange [0:1]\n", f);
    ae_gp_whole_x_tics(f, p->s, p->ns);
    fputs("plot", f);
    int first = 1;
    for (size_t i = 0; i < p->ns; i++) {
        if (!p->s[i].n) continue;
        int few = p->s[i].n <= 30;
        fprintf(f, "%s \\\n  '%s.dat' index %zu using 1:2 with %s lc %d lw 2%s title ", first ? "" : ",", pp->base,
                block + i, few ? "linespoints" : "lines", (int)(i % AE_GP_MAX_CLASSES) + 1, few ? " pt 7 ps 0.6" : "");
        ae_gp_str(f, p->s[i].title ? p->s[i].title : "");
        fputs(" noenhanced", f);
        first = 0;
    }
    fputs(first ? " NaN notitle\n" : "\n", f);
}

int ae_plot_panels(const char *stem, const char *title, const char *xlabel, const ae_panel *p, size_t np, ae_err *err)
{
    if (np == 1) return ae_plot_lines(stem, title, xlabel, p[0].ylabel, p[0].s, p[0].ns, 0, err);
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc || (rc = write_dat(&pp, title, p, np, err))) return rc;
    int cols = np <= 1 ? 1 : 2, rows = (int)((np + (size_t)cols - 1) / (size_t)cols);
    ae_afile af;
    if ((rc = ae_afile_open(&af, pp.gp, err))) return rc;
    FILE *f = af.f;
    ae_gp_head_size(f, &pp, title, 0, 1300, 60 + 380 * rows);
    ae_gp_label(f, "x", xlabel, "");
    fputs("set key top right samplen 3 spacing 1.1\nset multiplot layout ", f);
    fprintf(f, "%d,%d title ", rows, cols);
    ae_gp_str(f, title);
    fputs(" noenhanced font 'sans,13'\n", f);
    size_t block = 0;
    for (size_t k = 0; k < np; k++) {
        panel_plot(f, &pp, &p[k], block);
        block += p[k].ns;
    }
    fputs("unset multiplot\nset output\n", f);
    if ((rc = ae_afile_commit(&af, err))) return rc;
    return ae_gp_run(&pp, stem, err);
}

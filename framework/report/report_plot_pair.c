/* Two 2-D scatters of the same points side by side with one legend (a model's codes next to PCA's,
 * Hinton & Salakhutdinov 2006, Fig. 3): <stem>.dat, a restylable <stem>.gp, then <stem>.png. */
#include "ae_report.h"
#include "report_plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int write_dat(const ae_gp_paths *pp, const char *title, const float *a, const float *b, size_t n,
                     const int *label, const int *cls, int by_class, const char *const *axes, ae_err *err)
{
    ae_afile af;
    int rc = ae_afile_open(&af, pp->dat, err);
    if (rc) return rc;
    fputs("# ", af.f);
    ae_gp_plain(af.f, title, 0);
    fputs("\n# columns:", af.f);
    for (int d = 0; d < 4; d++) {
        fputs(" [", af.f);
        ae_gp_plain(af.f, axes[d], 0);
        fputc(']', af.f);
    }
    fputs(label ? (by_class ? " label colour_index\n" : " label\n") : "\n", af.f);
    for (size_t i = 0; i < n; i++) {
        fprintf(af.f, "%.9g %.9g %.9g %.9g", (double)a[2 * i], (double)a[2 * i + 1], (double)b[2 * i],
                (double)b[2 * i + 1]);
        if (label) fprintf(af.f, " %d", label[i]);
        if (by_class) {
            int j = 0;
            while (cls[j] != label[i]) j++;
            fprintf(af.f, " %d", j + 1);
        }
        fputc('\n', af.f);
    }
    return ae_afile_commit(&af, err);
}

/* One panel: its title, axis names, a fixed range when nothing can be drawn, the plot command. */
static void panel_plot(FILE *f, const ae_gp_paths *pp, const char *title, const char *xn, const char *yn,
                       int col, const float *p, size_t n, const int *label, int by_class, double ps)
{
    size_t usable = 0;
    for (size_t i = 0; i < n; i++) usable += isfinite(p[2 * i]) && isfinite(p[2 * i + 1]);
    fputs("set title ", f);
    ae_gp_str(f, title);
    fputs(" noenhanced font 'sans,11'\n", f);
    ae_gp_label(f, "x", xn, "");
    ae_gp_label(f, "y", yn, "");
    fputs(usable ? "set autoscale xy\nset offsets graph 0.02, graph 0.02, graph 0.02, graph 0.02\n"
                 : "set xrange [0:1]\nset yrange [0:1]\n", f);
    if (by_class)
        fprintf(f, "plot '%s.dat' using %d:%d:6 with points pt 7 ps %.1f lc variable notitle", pp->base, col,
                col + 1, ps);
    else if (label)
        fprintf(f, "plot '%s.dat' using %d:%d:5 with points pt 7 ps %.1f lc palette notitle", pp->base, col,
                col + 1, ps);
    else
        fprintf(f, "plot '%s.dat' using %d:%d with points pt 7 ps %.1f lc 1 notitle", pp->base, col, col + 1, ps);
}

int ae_plot_scatter_pair(const char *stem, const char *title, const float *a, const float *b, size_t n,
                         const int *label, const char *const *class_names, int n_names,
                         const char *const *panel, const char *const *axes, ae_err *err)
{
    ae_gp_paths pp;
    int rc = ae_gp_split_stem(stem, &pp, err);
    if (rc) return rc;
    int cls[AE_GP_MAX_CLASSES];
    int ncls = label ? ae_gp_find_classes(label, n, cls) : 0;
    int by_class = label && ncls <= AE_GP_MAX_CLASSES;
    if ((rc = write_dat(&pp, title, a, b, n, label, cls, by_class, axes, err))) return rc;

    ae_afile af;
    if ((rc = ae_afile_open(&af, pp.gp, err))) return rc;
    FILE *f = af.f;
    ae_gp_head_size(f, &pp, title, 0, 1300, 600);
    fputs("unset title\nset size noratio\n", f);
    if (by_class) fputs("unset key\n", f); /* set for the right panel only: one legend */
    else if (label) fputs("unset key\nset palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', "
                          "4 '#fde725')\nunset colorbox\n", f);
    else fputs("unset key\n", f);
    fputs("set multiplot layout 1,2 title ", f);
    ae_gp_str(f, title);
    fputs(" noenhanced font 'sans,13' margins 0.06, 0.85, 0.1, 0.86 spacing 0.07, 0.1\n", f);
    double ps = n <= 2000 ? 0.7 : 0.4;
    panel_plot(f, &pp, panel[0], axes[0], axes[1], 1, a, n, label, by_class, ps);
    fputc('\n', f);
    if (by_class) fputs("set key at screen 0.87, screen 0.86 left top vertical title 'label' samplen 1 "
                        "spacing 1.1 noenhanced\n", f);
    panel_plot(f, &pp, panel[1], axes[2], axes[3], 3, b, n, label, by_class, ps);
    if (by_class) ae_gp_class_keys(f, cls, ncls, class_names, n_names);
    fputs("\nunset multiplot\nset output\n", f);
    if ((rc = ae_afile_commit(&af, err))) return rc;
    return ae_gp_run(&pp, stem, err);
}

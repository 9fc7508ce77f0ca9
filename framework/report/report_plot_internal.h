/* Private to the gnuplot figures (report_plot*.c): figure paths, script-writing helpers and the
 * gnuplot runner shared by the line/scatter and the bar/image-stack figures. */
#ifndef AE_REPORT_PLOT_INTERNAL_H
#define AE_REPORT_PLOT_INTERNAL_H

#include <stdio.h>

#include "ae_error.h"

#define AE_GP_MAX_CLASSES 10 /* up to this many labels get their own colour and legend entry */

typedef struct ae_gp_paths {
    char dir[4096];
    const char *base; /* file name of the stem, inside dir */
    char dat[4096], gp[4096], png[4096];
} ae_gp_paths;

/* stem "dir/name" -> dir, base and the .dat/.gp/.png paths. */
int ae_gp_split_stem(const char *stem, ae_gp_paths *pp, ae_err *err);
/* s as a gnuplot single-quoted string ('' stands for '; line breaks become spaces). */
void ae_gp_str(FILE *f, const char *s);
/* s with control characters replaced (bad_quote becomes '), for comments and quoted .dat fields. */
void ae_gp_plain(FILE *f, const char *s, char bad_quote);
/* Common head of every script: how to redraw, output, fonts, colours, frame, grid, title; the
 * canvas is 900x600 (ae_gp_head) or width x height pixels. */
void ae_gp_head(FILE *f, const ae_gp_paths *pp, const char *title, int three_d);
void ae_gp_head_size(FILE *f, const ae_gp_paths *pp, const char *title, int three_d, int width, int height);
void ae_gp_label(FILE *f, const char *axis, const char *text, const char *extra);
/* One legend entry per class of cls[0..ncls) (colour j + 1), titled with class_names[class] when the
 * data set names it (n_names of them; NULL: none), else the class number; each entry begins with a
 * comma and a line continuation. */
void ae_gp_class_keys(FILE *f, const int *cls, int ncls, const char *const *class_names, int n_names);
/* Distinct values of label[0..n) ascending into cls (AE_GP_MAX_CLASSES slots); returns their
 * count, or AE_GP_MAX_CLASSES + 1 when there are more. */
int ae_gp_find_classes(const int *label, size_t n, int *cls);
/* x values that are all whole numbers (epochs): integer tics, at most 10 of them. */
struct ae_series;
void ae_gp_whole_x_tics(FILE *f, const struct ae_series *s, size_t ns);
/* Runs gnuplot on <stem>.gp in its folder and moves <stem>.png into place atomically; a missing
 * gnuplot is a warning (AE_OK). */
int ae_gp_run(const ae_gp_paths *pp, const char *stem, ae_err *err);

#endif

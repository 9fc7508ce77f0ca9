/* Check suite for the gnuplot figures: loss curves (integer epoch tics), 2-D/3-D scatters, bar
 * charts (labels that fit the picture), a missing or failing gnuplot. */
#include "ae_report.h"
#include "ae_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_fixture.h"

/* --- figures ---------------------------------------------------------------------------------- */

/* The stem's .dat, .gp and a real, non-trivial .png exist, and no temp file is left. */
static void check_figure(const char *stem)
{
    char p[4096];
    snprintf(p, sizeof p, "%s.dat", stem);
    ck_assert_msg(exists(p), "%s missing", p);
    snprintf(p, sizeof p, "%s.gp", stem);
    ck_assert_msg(exists(p), "%s missing", p);
    snprintf(p, sizeof p, "%s.png", stem);
    size_t len = 0;
    char *s = ae_test_slurp(p, &len);
    ck_assert_msg(s != NULL, "%s missing", p);
    ck_assert_int_eq(memcmp(s, "\x89PNG\r\n\x1a\n", 8), 0);
    ck_assert_uint_gt(len, 5000);
    free(s);
    unsigned char *pix;
    int w, h, c;
    ae_err err = {0};
    ck_assert_int_eq(ae_png_read(p, &pix, &w, &h, &c, &err), AE_OK);
    ck_assert_int_eq(w, 900);
    ck_assert_int_eq(h, 600);
    free(pix);
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
}

static double gauss(unsigned *state)
{
    double u1 = ((*state = *state * 1103515245u + 12345u) >> 8 & 0xffffff) / 16777216.0 + 1e-9;
    double u2 = ((*state = *state * 1103515245u + 12345u) >> 8 & 0xffffff) / 16777216.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

START_TEST(plot_loss_curve)
{
    enum { E = 20 };
    double x[E], tr[E], te[E], lo[E], hi[E];
    for (int i = 0; i < E; i++) {
        x[i] = i + 1;
        tr[i] = 0.02 + 0.25 * exp(-0.25 * i);
        te[i] = 0.03 + 0.24 * exp(-0.22 * i);
        lo[i] = te[i] * 0.9;
        hi[i] = te[i] * 1.1;
    }
    ae_series s[2] = {{"train_loss", E, x, tr, NULL, NULL}, {"test MSE (± 10%)", E, x, te, lo, hi}};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/loss", tmp);
    ck_assert_int_eq(ae_plot_lines(stem, "Reconstruction loss, O'Brien's run", "epoch", "MSE", s, 2, 1, &err), AE_OK);
    check_figure(stem);
    check_has(in_tmp("loss.gp"), "set terminal pngcairo size 900,600 enhanced font 'sans,10'");
    check_has(in_tmp("loss.gp"), "'loss.png'");
    check_has(in_tmp("loss.gp"), "'loss.dat' index 1");
    check_has(in_tmp("loss.gp"), "O''Brien''s");
    check_has(in_tmp("loss.gp"), "set logscale y");
    check_has(in_tmp("loss.dat"), "\n1 0.27\n");
}
END_TEST

START_TEST(plot_lines_degenerate)
{
    double x[2] = {1, 2}, y[2] = {NAN, NAN};
    ae_series s[2] = {{"empty", 0, NULL, NULL, NULL, NULL}, {"nan", 2, x, y, NULL, NULL}};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/degenerate", tmp);
    ck_assert_int_eq(ae_plot_lines(stem, "nothing to draw", "x", "y", s, 2, 1, &err), AE_OK);
    ck_assert(exists(in_tmp("degenerate.png")));
    ck_assert_int_eq(ae_plot_lines(stem, "no series", "x", "y", NULL, 0, 0, &err), AE_OK);
    ck_assert_int_eq(ae_plot_scatter(stem, "no points", NULL, 0, 3, NULL, NULL, &err), AE_OK);
    ck_assert_int_eq(ae_plot_bars(stem, "no bars", "y", NULL, NULL, NULL, NULL, 0, &err), AE_OK);
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
    ck_assert_int_eq(ae_plot_scatter(stem, "bad", NULL, 0, 4, NULL, NULL, &err), AE_EINPUT);
}
END_TEST

START_TEST(plot_scatter_2d_3d)
{
    enum { N = 3000 };
    float *pts = malloc(sizeof(float) * 3 * N);
    int *lab = malloc(sizeof(int) * N), *many = malloc(sizeof(int) * N);
    unsigned st = 7;
    for (int i = 0; i < N; i++) {
        lab[i] = i % 2 ? 7 : 3;
        many[i] = i % 12;
        double c = lab[i] == 7 ? 1.5 : -1.5;
        pts[3 * i] = (float)(c + 0.6 * gauss(&st));
        pts[3 * i + 1] = (float)(0.5 * c + 0.8 * gauss(&st));
        pts[3 * i + 2] = (float)(-0.4 * c + 0.7 * gauss(&st));
    }
    ae_err err = {0};
    const char *names[3] = {"z_1", "z_2", "z_3"};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/latent3d", tmp);
    ck_assert_int_eq(ae_plot_scatter(stem, "Latent space (test set)", pts, N, 3, lab, names, &err), AE_OK);
    check_figure(stem);
    check_has(in_tmp("latent3d.gp"), "splot 'latent3d.dat' using 1:2:3:5");
    check_has(in_tmp("latent3d.gp"), "set view 60,30");
    check_has(in_tmp("latent3d.gp"), "title '3'");
    check_has(in_tmp("latent3d.gp"), "title '7'");
    char *dat = ae_test_slurp(in_tmp("latent3d.dat"), NULL);
    int lines = 0;
    for (char *q = dat; *q; q++) lines += *q == '\n';
    ck_assert_int_eq(lines, N + 2); /* every point, plus two comment lines */
    free(dat);

    /* 2-D points are read with stride dims */
    float p2[2 * N];
    for (int i = 0; i < N; i++) p2[2 * i] = pts[3 * i], p2[2 * i + 1] = pts[3 * i + 1];
    snprintf(stem, sizeof stem, "%s/latent2d", tmp);
    ck_assert_int_eq(ae_plot_scatter(stem, "Latent space 2-D", p2, N, 2, lab, NULL, &err), AE_OK);
    check_figure(stem);
    /* named classes: the legend gives a value's name, a value past the names its number */
    static const char *const five[5] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"};
    snprintf(stem, sizeof stem, "%s/latent_named", tmp);
    ck_assert_int_eq(ae_plot_scatter_named(stem, "named", p2, N, 2, lab, five, 5, NULL, &err), AE_OK);
    check_figure(stem);
    check_has(in_tmp("latent_named.gp"), "title 'Dress' noenhanced");
    check_has(in_tmp("latent_named.gp"), "title '7' noenhanced");
    snprintf(stem, sizeof stem, "%s/latent_many", tmp);
    ck_assert_int_eq(ae_plot_scatter(stem, "12 classes", p2, N, 2, many, NULL, &err), AE_OK);
    check_figure(stem);
    check_has(in_tmp("latent_many.gp"), "lc palette");
    snprintf(stem, sizeof stem, "%s/latent_plain", tmp);
    ck_assert_int_eq(ae_plot_scatter(stem, "unlabelled", p2, 50, 2, NULL, NULL, &err), AE_OK);
    check_figure(stem);
    free(pts);
    free(lab);
    free(many);
}
END_TEST

START_TEST(plot_bars_whiskers)
{
    const char *names[4] = {"PCA", "dense_ae", "conv AE", "\"VAE\""};
    double v[4] = {0.031, 0.022, 0.0145, 0.019}, lo[4] = {0.029, 0.02, 0.013, 0.016},
           hi[4] = {0.033, 0.025, 0.016, 0.022};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/bars", tmp);
    ck_assert_int_eq(ae_plot_bars(stem, "Test reconstruction MSE (mean, 95% CI over 5 seeds)", "MSE", names, v,
                                  lo, hi, 4, &err), AE_OK);
    check_figure(stem);
    check_has(in_tmp("bars.dat"), "1 \"dense_ae\" 0.022 0.02 0.025 \"dense_ae\"\n");
    check_has(in_tmp("bars.dat"), "3 \"'VAE'\" 0.019");

    /* a folder name with a space and a quote, no whiskers */
    char dir[2048];
    snprintf(dir, sizeof dir, "%.2000s/my run's", tmp);
    ck_assert_int_eq(ae_mkdirs(dir, &err), AE_OK);
    snprintf(stem, sizeof stem, "%s/bars plain", dir);
    ck_assert_int_eq(ae_plot_bars(stem, "plain", "MSE", names, v, NULL, NULL, 4, &err), AE_OK);
    snprintf(stem, sizeof stem, "%s/bars plain.png", dir);
    ck_assert(exists(stem));
}
END_TEST

START_TEST(plot_gnuplot_missing_or_failing)
{
    saved_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"); /* teardown restores it */
    setenv("PATH", "/nonexistent-aelab", 1);
    double x[3] = {1, 2, 3}, y[3] = {3, 2, 1};
    ae_series s = {"y", 3, x, y, NULL, NULL};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/nogp", tmp);
    capture_begin();
    int rc1 = ae_plot_lines(stem, "t", "x", "y", &s, 1, 0, &err);
    int rc2 = ae_plot_lines(stem, "t", "x", "y", &s, 1, 0, &err);
    char *out = capture_end();
    ck_assert_int_eq(rc1, AE_OK);
    ck_assert_int_eq(rc2, AE_OK);
    ck_assert(exists(in_tmp("nogp.dat")));
    ck_assert(exists(in_tmp("nogp.gp")));
    ck_assert(!exists(in_tmp("nogp.png")));
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
    char *w = strstr(out, "gnuplot");
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_null(strstr(strchr(w, '\n'), "gnuplot")); /* warned once */
    free(out);

    /* a gnuplot that fails, and one that draws nothing: AE_EIO with its message, no temp file */
    char bin[2048], script[4096];
    snprintf(bin, sizeof bin, "%.2000s/bin", tmp);
    ck_assert_int_eq(ae_mkdirs(bin, &err), AE_OK);
    setenv("PATH", bin, 1);
    const char *fakes[2] = {"#!/bin/sh\necho 'line 3: boom' >&2\nexit 1\n", "#!/bin/sh\nexit 0\n"};
    const char *want[2] = {"line 3: boom", "no image"};
    for (int i = 0; i < 2; i++) {
        ae_err_clear(&err);
        snprintf(script, sizeof script, "%s/gnuplot", bin);
        ck_assert_int_eq(ae_write_file_atomic(script, fakes[i], strlen(fakes[i]), &err), AE_OK);
        chmod(script, 0755);
        rc1 = ae_plot_lines(stem, "t", "x", "y", &s, 1, 0, &err);
        ck_assert_int_eq(rc1, AE_EIO);
        ck_assert_msg(strstr(err.msg, want[i]) && strstr(err.msg, "nogp.png"), "got '%s'", err.msg);
        ck_assert(!exists(in_tmp("nogp.png")));
        ck_assert_int_eq(count_in_tmp(".tmp."), 0);
    }
}
END_TEST

/* The file p does not contain needle. */
static void check_lacks(const char *p, const char *needle)
{
    char *s = ae_test_slurp(p, NULL);
    ck_assert_msg(s && !strstr(s, needle), "'%s' in %s", needle, p);
    free(s);
}

/* Epochs on the x axis: whole-number tics (never 1.5), at most about 10 of them. */
START_TEST(plot_epoch_tics)
{
    double x[47], y[47];
    for (int i = 0; i < 47; i++) x[i] = i + 1, y[i] = 1.0 / (i + 1);
    ae_series s = {"train loss", 3, x, y, NULL, NULL};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/e3", tmp);
    ck_assert_int_eq(ae_plot_lines(stem, "3 epochs", "epoch", "loss", &s, 1, 0, &err), AE_OK);
    check_figure(stem);
    check_has(in_tmp("e3.gp"), "\nset xtics 1\n");
    check_has(in_tmp("e3.gp"), "\nset format x '%.0f'\n");
    s.n = 47;
    snprintf(stem, sizeof stem, "%s/e47", tmp);
    ck_assert_int_eq(ae_plot_lines(stem, "47 epochs", "epoch", "loss", &s, 1, 1, &err), AE_OK);
    check_has(in_tmp("e47.gp"), "\nset xtics 5\n");
    s.n = 1; /* one epoch: the range 0..2, a tic at 1 */
    snprintf(stem, sizeof stem, "%s/e1", tmp);
    ck_assert_int_eq(ae_plot_lines(stem, "1 epoch", "epoch", "loss", &s, 1, 0, &err), AE_OK);
    check_figure(stem);
    check_has(in_tmp("e1.gp"), "\nset xtics 1\n");
    check_has(in_tmp("e1.gp"), "\nset xrange [0:2]\n");
    double xf[3] = {0.5, 1.25, 2}; /* not whole numbers: gnuplot's own tics */
    ae_series sf = {"f", 3, xf, y, NULL, NULL};
    snprintf(stem, sizeof stem, "%s/frac", tmp);
    ck_assert_int_eq(ae_plot_lines(stem, "fractions", "x", "y", &sf, 1, 0, &err), AE_OK);
    check_lacks(in_tmp("frac.gp"), "set xtics");
}
END_TEST

/* The picture's outer columns and last rows are background: no tic label runs off the edge. */
static void check_margins_blank(const char *png)
{
    unsigned char *px;
    int w, h, c;
    ae_err err = {0};
    ck_assert_int_eq(ae_png_read(png, &px, &w, &h, &c, &err), AE_OK);
    int dark = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (x > 1 && y < h - 2) continue;
            for (int k = 0; k < c && k < 3; k++) dark += px[((size_t)y * w + x) * c + k] < 200;
        }
    free(px);
    ck_assert_msg(dark == 0, "%s: %d dark pixel values on the left or bottom edge (a label is cut)", png, dark);
}

START_TEST(plot_bars_long_names)
{
    enum { N = 12 };
    char buf[N][80];
    const char *names[N];
    double v[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "run_%02d_denoising_gaussian_sigma_0.%d_lr_0.003_beta_4", i, i);
        names[i] = buf[i];
        v[i] = 0.01 + 0.001 * i;
    }
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/many", tmp);
    ck_assert_int_eq(ae_plot_bars(stem, "twelve long names", "MSE", names, v, NULL, NULL, N, &err), AE_OK);
    check_figure(stem);
    check_margins_blank(in_tmp("many.png"));
    /* the .dat keeps the whole name; the tic label is shortened */
    check_has(in_tmp("many.dat"), "0 \"run_00_denoising_gaussian_sigma_0.0_lr_0.003_beta_4\" 0.01 "
                                  "\"run_00_denoising_gaussian_sigma…\"\n");
    check_has(in_tmp("many.gp"), "xtic(4)");

    const char *two[2] = {"a_run_name_that_is_way_too_long_to_ever_fit_under_one_bar_of_the_chart_really", "b"};
    snprintf(stem, sizeof stem, "%s/two", tmp);
    ck_assert_int_eq(ae_plot_bars(stem, "two", "MSE", two, v, v, v, 2, &err), AE_OK);
    check_margins_blank(in_tmp("two.png"));
    check_has(in_tmp("two.gp"), "xtic(6)");
}
END_TEST

/* The margins "set Xmargin at screen V" of the k-th panel of a stack's script. */
static double margin(const char *gp, const char *which, int k)
{
    char key[64];
    snprintf(key, sizeof key, "set %smargin at screen ", which);
    const char *q = gp;
    for (int i = 0; i <= k; i++) {
        q = strstr(q, key);
        ck_assert_ptr_nonnull(q);
        q += strlen(key);
    }
    return strtod(q, NULL);
}

/* An image stack shows every image at one scale: a 3-row grid (a denoising run's) is as wide as a
 * 2-row one and 3/2 as tall, and its rows are named at the left. */
START_TEST(plot_image_stack_one_scale)
{
    enum { T = 8, COLS = 4 };
    float tiles[3 * COLS * T * T];
    for (size_t i = 0; i < sizeof tiles / sizeof *tiles; i++) tiles[i] = (float)(i % 7) / 6.0f;
    ae_err err = {0};
    ck_assert_int_eq(ae_png_grid(in_tmp("two.png"), tiles, 2 * COLS, 1, T, T, 2, COLS, 3, &err), AE_OK);
    ck_assert_int_eq(ae_png_grid(in_tmp("three.png"), tiles, 3 * COLS, 1, T, T, 3, COLS, 3, &err), AE_OK);
    const char *img[2] = {"two.png", "three.png"}, *lab[2] = {"plain", "denoising"};
    const char *rows[2] = {"input|reconstruction", "input|noisy input|reconstruction"};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/stack", tmp);
    ck_assert_int_eq(ae_plot_image_stack(stem, "stack", img, lab, rows, 2, 860, &err), AE_OK);
    char *gp = ae_test_slurp(in_tmp("stack.gp"), NULL);
    double w0 = margin(gp, "r", 0) - margin(gp, "l", 0), w1 = margin(gp, "r", 1) - margin(gp, "l", 1);
    double h0 = margin(gp, "t", 0) - margin(gp, "b", 0), h1 = margin(gp, "t", 1) - margin(gp, "b", 1);
    /* image heights 2*(3*8+1)-1 = 49 and 74 pixels, the same width: the margins are printed with 6 decimals */
    ck_assert_double_eq_tol(w0, w1, 2e-6);
    ck_assert_double_eq_tol(h1 / h0, 74.0 / 49.0, 1e-4);
    ck_assert_ptr_nonnull(strstr(gp, "set label 'noisy input' at screen"));
    ck_assert_ptr_nonnull(strstr(gp, "set title 'denoising'"));
    free(gp);
    unsigned char *pix;
    int w, h, c;
    ck_assert_int_eq(ae_png_read(in_tmp("stack.png"), &pix, &w, &h, &c, &err), AE_OK);
    ck_assert_int_eq(w, 860);
    free(pix);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("figures");
    TCase *tc = tcase_create("figures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plot_loss_curve);
    tcase_add_test(tc, plot_lines_degenerate);
    tcase_add_test(tc, plot_scatter_2d_3d);
    tcase_add_test(tc, plot_bars_whiskers);
    tcase_add_test(tc, plot_gnuplot_missing_or_failing);
    tcase_add_test(tc, plot_epoch_tics);
    tcase_add_test(tc, plot_bars_long_names);
    tcase_add_test(tc, plot_image_stack_one_scale);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}

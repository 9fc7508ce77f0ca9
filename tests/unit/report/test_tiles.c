/* Check suite for the tiled image figures (ae_plot_tiles: pixel placement, own-range scaling, RGB,
 * the .dat/.gp beside), the N(0, 1) quantile grid of the latent manifold, and the two-panel
 * scatter (ae_plot_scatter_pair: one legend, class names). */
#include "ae_report.h"
#include "ae_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fixture.h"

/* The byte ae_png_grid writes for a value in [0, 1]. */
static int byte_of(float v) { return (int)lrintf(v * 255.0f); }

START_TEST(gauss_grid_quantiles)
{
    double q[20];
    ae_gauss_grid(4, q); /* Φ⁻¹(1/8), Φ⁻¹(3/8), ... (reference values to 16 digits) */
    const double want4[4] = {-1.150349380376008, -0.3186393639643752, 0.3186393639643752, 1.150349380376008};
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(q[i], want4[i], 1e-12);
    ae_gauss_grid(20, q);
    ck_assert_double_eq_tol(q[0], -1.959963984540054, 1e-12); /* Φ⁻¹(0.025) */
    ck_assert_double_eq_tol(q[19], 1.959963984540054, 1e-12);
    for (int i = 0; i < 20; i++) ck_assert_double_eq_tol(q[i], -q[19 - i], 1e-12);
    for (int i = 1; i < 20; i++) ck_assert(q[i] > q[i - 1]);
    ae_gauss_grid(1, q);
    ck_assert_double_eq_tol(q[0], 0.0, 1e-12);
}
END_TEST

/* 5 gray tiles of 2x3 in a 2x3 grid at scale 2: every pixel where it belongs, the sixth tile black,
 * 1-pixel separators of 128; the .dat holds the unscaled 11x5 composition. */
START_TEST(tiles_gray_placement)
{
    enum { N = 5, H = 2, W = 3, ROWS = 2, COLS = 3, S = 2 };
    float img[N * H * W];
    for (int i = 0; i < N * H * W; i++) img[i] = (float)i / (N * H * W - 1);
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/grid", tmp);
    ae_tiles o = {"five tiles", S, 0, NULL, NULL, NULL, NULL};
    ck_assert_int_eq(ae_plot_tiles(stem, img, N, 1, H, W, ROWS, COLS, &o, &err), AE_OK);
    unsigned char *px;
    int pw, ph, c;
    ck_assert_int_eq(ae_png_read(in_tmp("grid.png"), &px, &pw, &ph, &c, &err), AE_OK);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(pw, COLS * (W * S + 1) - 1);
    ck_assert_int_eq(ph, ROWS * (H * S + 1) - 1);
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int tx = x / (W * S + 1), ty = y / (H * S + 1), xi = x % (W * S + 1), yi = y % (H * S + 1);
            int k = ty * COLS + tx, want;
            if (xi == W * S || yi == H * S) want = 128;
            else if (k >= N) want = 0;
            else want = byte_of(img[(k * H + yi / S) * W + xi / S]);
            ck_assert_msg(px[y * pw + x] == want, "pixel (%d, %d): %d, want %d", x, y, px[y * pw + x], want);
        }
    free(px);
    char *dat = ae_test_slurp(in_tmp("grid.dat"), NULL);
    ck_assert_ptr_nonnull(dat);
    ck_assert_ptr_nonnull(strstr(dat, "# 2 x 3 tiles of 2 x 3 pixels (gray)"));
    char want[128];
    snprintf(want, sizeof want, "# tile 4 (row 1, col 1): lo %.9g hi 1\n", (double)img[24]);
    ck_assert_ptr_nonnull(strstr(dat, want));
    /* matrix rows: 5 lines of 11 values; row 0 = tiles 0-2's first pixel rows with separators */
    ck_assert_ptr_nonnull(strstr(dat, "\n0 0.03448 0.06897 0.5 0.2069 0.2414 0.2759 0.5 0.4138 0.4483 0.4828\n"));
    ck_assert_ptr_nonnull(strstr(dat, "\n0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5\n"));
    ck_assert_ptr_nonnull(strstr(dat, "\n0.7241 0.7586 0.7931 0.5 0.931 0.9655 1 0.5 0 0 0\n"));
    int lines = 0;
    for (char *s = dat; *s; s++) lines += *s == '\n' && s[1] && s[1] != '#';
    ck_assert_int_eq(lines, ROWS * (H + 1) - 1);
    free(dat);
    check_has(in_tmp("grid.gp"), "plot 'grid.dat' matrix with image pixels notitle");
    check_has(in_tmp("grid.gp"), "set yrange [4.5:-0.5]");
    check_has(in_tmp("grid.gp"), "unset xtics");
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
}
END_TEST

/* Own range: each tile's minimum is 0 and its maximum 255, a flat tile mid gray, NaN black; the
 * value axis tics sit at tile centres. */
START_TEST(tiles_own_range)
{
    float img[3 * 4] = {-2, 0, 1, 2, /* tile 0: -2..2 */ 5, 5, 5, 5, /* flat */ 1, NAN, 5, 3};
    const double xv[3] = {-1.5, 0, 1.5}, yv[1] = {0.25};
    ae_tiles o = {"filters", 1, 1, xv, yv, "z1", "z2"};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/w", tmp);
    ck_assert_int_eq(ae_plot_tiles(stem, img, 3, 1, 2, 2, 1, 3, &o, &err), AE_OK);
    unsigned char *px;
    int pw, ph, c;
    ck_assert_int_eq(ae_png_read(in_tmp("w.png"), &px, &pw, &ph, &c, &err), AE_OK);
    ck_assert_int_eq(pw, 8);
    ck_assert_int_eq(ph, 2);
    const int row0[8] = {0, byte_of(0.5f), 128, 128, 128, 128, 0, 0};
    const int row1[8] = {byte_of(0.75f), 255, 128, 128, 128, 128, 255, byte_of(0.5f)};
    for (int x = 0; x < 8; x++) {
        ck_assert_msg(px[x] == row0[x], "row 0 x %d: %d want %d", x, px[x], row0[x]);
        ck_assert_msg(px[pw + x] == row1[x], "row 1 x %d: %d want %d", x, px[pw + x], row1[x]);
    }
    free(px);
    check_has(in_tmp("w.dat"), "# tile 0 (row 0, col 0): lo -2 hi 2\n");
    check_has(in_tmp("w.dat"), "# tile 2 (row 0, col 2): lo 1 hi 5\n");
    check_has(in_tmp("w.dat"), "# column 2: 1.5\n");
    check_has(in_tmp("w.gp"), "set xtics scale 0 (\"-1.50\" 0.5, \"0.00\" 3.5, \"1.50\" 6.5)");
    check_has(in_tmp("w.gp"), "set ytics scale 0 (\"0.25\" 0.5)");
    check_has(in_tmp("w.gp"), "set xlabel 'z1'");
}
END_TEST

/* RGB tiles: channels land in their own bytes; the .dat holds x y r g b; gnuplot redraws the .gp. */
START_TEST(tiles_rgb_and_gnuplot)
{
    float img[2 * 3 * 1 * 2] = {1, 0, /* R */ 0, 0.5f, /* G */ 0, 1, /* B */ /* tile 1 */ 0.2f, 0.2f, 0.4f, 0.4f,
                                0.6f, 0.6f};
    ae_tiles o = {"rgb", 3, 0, NULL, NULL, NULL, NULL};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/rgb", tmp);
    ck_assert_int_eq(ae_plot_tiles(stem, img, 2, 3, 1, 2, 1, 2, &o, &err), AE_OK);
    unsigned char *px;
    int pw, ph, c;
    ck_assert_int_eq(ae_png_read(in_tmp("rgb.png"), &px, &pw, &ph, &c, &err), AE_OK);
    ck_assert_int_eq(c, 3);
    ck_assert_int_eq(pw, 2 * (2 * 3 + 1) - 1);
    ck_assert_int_eq(ph, 3);
    const unsigned char *p0 = px, *p1 = px + 3 * 3, *p2 = px + 7 * 3;
    ck_assert(p0[0] == 255 && p0[1] == 0 && p0[2] == 0);
    ck_assert(p1[0] == 0 && p1[1] == 128 && p1[2] == 255);
    ck_assert(p2[0] == 51 && p2[1] == 102 && p2[2] == 153);
    free(px);
    check_has(in_tmp("rgb.dat"), "\n0 0 1 0 0\n1 0 0 0.5 1\n2 0 0.5 0.5 0.5\n3 0 0.2 0.4 0.6\n");
    check_has(in_tmp("rgb.gp"), "with rgbimage pixels notitle");
    /* the script draws: run it as a user would (into another file) */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot -e \"outfile='redrawn.png'\" rgb.gp 2>&1", tmp);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(ae_png_read(in_tmp("redrawn.png"), &px, &pw, &ph, &c, &err), AE_OK);
    ck_assert_int_gt(pw, 160);
    free(px);
}
END_TEST

/* Large tiles (small kernels at scale 16) get separators 1 + 16/8 = 3 pixels wide. */
START_TEST(tiles_wide_separators)
{
    float v[2] = {0.0f, 1.0f};
    ae_tiles o = {"kernels", 16, 0, NULL, NULL, NULL, NULL};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/k", tmp);
    ck_assert_int_eq(ae_plot_tiles(stem, v, 2, 1, 1, 1, 1, 2, &o, &err), AE_OK);
    unsigned char *px;
    int pw, ph, c;
    ck_assert_int_eq(ae_png_read(in_tmp("k.png"), &px, &pw, &ph, &c, &err), AE_OK);
    ck_assert_int_eq(pw, 2 * 16 + 3);
    ck_assert_int_eq(ph, 16);
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int want = x < 16 ? 0 : x < 19 ? 128 : 255;
            ck_assert_msg(px[y * pw + x] == want, "(%d, %d): %d want %d", x, y, px[y * pw + x], want);
        }
    free(px);
    check_has(in_tmp("k.dat"), "# matrix: one line per pixel row\n0 0.5 1\n");
}
END_TEST

START_TEST(tiles_bad_shape)
{
    float v[4] = {0};
    ae_tiles o = {"x", 1, 0, NULL, NULL, NULL, NULL};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/bad", tmp);
    ck_assert_int_eq(ae_plot_tiles(stem, v, 1, 2, 1, 2, 1, 1, &o, &err), AE_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "2 channels"));
    ck_assert_int_eq(ae_plot_tiles(stem, v, 1, 1, 0, 2, 1, 1, &o, &err), AE_EINPUT);
    ck_assert_int_eq(count_in_tmp("bad"), 0);
}
END_TEST

/* Two panels, one legend: class names where given, the number otherwise; 1300x600. */
START_TEST(scatter_pair_names)
{
    enum { N = 300 };
    float a[2 * N], b[2 * N];
    int lab[N];
    for (int i = 0; i < N; i++) {
        lab[i] = i % 3;
        a[2 * i] = (float)lab[i] + 0.25f * (float)(i % 4);
        a[2 * i + 1] = (float)(i % 8) * 0.5f;
        b[2 * i] = -a[2 * i + 1];
        b[2 * i + 1] = a[2 * i] * 2;
    }
    const char *names[2] = {"T-shirt/top", "O'Neill"};
    const char *panel[2] = {"codes", "PCA-2"}, *axes[4] = {"z1", "z2", "PC1", "PC2"};
    ae_err err = {0};
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/pair", tmp);
    ck_assert_int_eq(ae_plot_scatter_pair(stem, "codes vs PCA", a, b, N, lab, names, 2, panel, axes, &err), AE_OK);
    unsigned char *px;
    int pw, ph, c;
    ck_assert_int_eq(ae_png_read(in_tmp("pair.png"), &px, &pw, &ph, &c, &err), AE_OK);
    ck_assert_int_eq(pw, 1300);
    ck_assert_int_eq(ph, 600);
    free(px);
    check_has(in_tmp("pair.dat"), "# columns: [z1] [z2] [PC1] [PC2] label colour_index\n");
    check_has(in_tmp("pair.dat"), "\n1.25 0.5 -0.5 2.5 1 2\n");
    check_has(in_tmp("pair.gp"), "title 'T-shirt/top'");
    check_has(in_tmp("pair.gp"), "title 'O''Neill'");
    check_has(in_tmp("pair.gp"), "lc 3 title '2'");
    check_has(in_tmp("pair.gp"), "using 3:4:6 with points");
    char *gp = ae_test_slurp(in_tmp("pair.gp"), NULL);
    char *k1 = strstr(gp, "set key at"); /* one legend: set once, after the first panel */
    ck_assert_ptr_nonnull(k1);
    ck_assert_ptr_null(strstr(k1 + 1, "set key at"));
    ck_assert(strstr(gp, "using 1:2:6") < k1);
    free(gp);

    snprintf(stem, sizeof stem, "%s/plain", tmp); /* no labels: one colour, no legend */
    ck_assert_int_eq(ae_plot_scatter_pair(stem, "plain", a, b, N, NULL, NULL, 0, panel, axes, &err), AE_OK);
    check_has(in_tmp("plain.gp"), "using 3:4 with points pt 7 ps 0.7 lc 1 notitle");
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tiles");
    TCase *tc = tcase_create("tiles");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, gauss_grid_quantiles);
    tcase_add_test(tc, tiles_gray_placement);
    tcase_add_test(tc, tiles_own_range);
    tcase_add_test(tc, tiles_rgb_and_gnuplot);
    tcase_add_test(tc, tiles_wide_separators);
    tcase_add_test(tc, tiles_bad_shape);
    tcase_add_test(tc, scatter_pair_names);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}

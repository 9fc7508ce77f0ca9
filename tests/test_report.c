/* Tests for the report unit: atomic files, JSON lines, gnuplot figures, PNG grids, CSV, progress. */
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

static char *tmp;       /* fresh folder per test */
static char path[4096]; /* scratch path */
static char *saved_path; /* PATH while a test changes it */

static const char *in_tmp(const char *name) { return ae_path_join(path, sizeof path, tmp, name); }

static void rm_rf(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[4096];
            rm_rf(ae_path_join(sub, sizeof sub, p, e->d_name));
        }
        if (d) closedir(d);
        rmdir(p);
    } else {
        unlink(p);
    }
}

static void setup(void)
{
    tmp = ae_test_tmpdir();
    ck_assert_ptr_nonnull(tmp);
}

/* AE_TEST_KEEP=1 keeps the folders (to look at the figures). */
static void teardown(void)
{
    if (saved_path) setenv("PATH", saved_path, 1);
    free(saved_path);
    saved_path = NULL;
    if (getenv("AE_TEST_KEEP")) fprintf(stderr, "kept %s\n", tmp);
    else rm_rf(tmp);
    free(tmp);
}

static char *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    char *b = malloc(1 << 20);
    size_t n = fread(b, 1, (1 << 20) - 1, f);
    fclose(f);
    b[n] = '\0';
    if (len) *len = n;
    return b;
}

/* The file p holds exactly want. */
static void check_file(const char *p, const char *want)
{
    char *s = slurp(p, NULL);
    ck_assert_msg(s != NULL, "%s missing", p);
    ck_assert_str_eq(s, want);
    free(s);
}

/* The file p contains needle. */
static void check_has(const char *p, const char *needle)
{
    char *s = slurp(p, NULL);
    ck_assert_msg(s && strstr(s, needle), "'%s' not in %s", needle, p);
    free(s);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Number of entries in tmp whose name contains needle. */
static int count_in_tmp(const char *needle)
{
    DIR *d = opendir(tmp);
    int k = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) k += strstr(e->d_name, needle) != NULL;
    if (d) closedir(d);
    return k;
}

/* stderr capture into a file */
static int saved_fd = -1;
static char cap_path[4096];

static void capture_begin(void)
{
    fflush(stderr);
    ae_path_join(cap_path, sizeof cap_path, tmp, "stderr.txt");
    saved_fd = dup(2);
    int fd = open(cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    char *s = slurp(cap_path, NULL);
    unlink(cap_path);
    return s;
}

/* --- atomic files ----------------------------------------------------------------------------- */

START_TEST(atomic_write_and_overwrite)
{
    ae_err err = {0};
    const char *p = in_tmp("a.txt");
    ck_assert_int_eq(ae_write_file_atomic(p, "hello\n", 6, &err), AE_OK);
    check_file(p, "hello\n");
    ck_assert_int_eq(ae_write_file_atomic(p, "bye", 3, &err), AE_OK);
    check_file(p, "bye");
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);

    ae_afile af;
    ck_assert_int_eq(ae_afile_open(&af, p, &err), AE_OK);
    fputs("partial", af.f);
    ae_afile_abort(&af);
    check_file(p, "bye"); /* abort leaves the old file alone */
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
}
END_TEST

START_TEST(atomic_write_bad_folder)
{
    ae_err err = {0};
    const char *p = in_tmp("missing/a.txt");
    ck_assert_int_eq(ae_write_file_atomic(p, "x", 1, &err), AE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));

    ae_err_clear(&err);
    ck_assert_int_eq(ae_write_file_atomic(in_tmp("f"), "x", 1, &err), AE_OK);
    char p2[4096];
    snprintf(p2, sizeof p2, "%s/f/a.txt", tmp); /* a file where a folder should be */
    ck_assert_int_eq(ae_write_file_atomic(p2, "x", 1, &err), AE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, p2));
}
END_TEST

START_TEST(commit_disk_full)
{
    ae_err err = {0};
    const char *p = in_tmp("full.txt");
    ae_afile af;
    ck_assert_int_eq(ae_afile_open(&af, p, &err), AE_OK);
    fclose(af.f);
    af.f = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(af.f);
    fputs("some data that cannot be written", af.f);
    ck_assert_int_eq(ae_afile_commit(&af, &err), AE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    ck_assert_ptr_nonnull(strstr(err.msg, "No space left"));
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
    ck_assert(!exists(p));
}
END_TEST

START_TEST(mkdirs_nested)
{
    ae_err err = {0};
    char p[4096];
    snprintf(p, sizeof p, "%s/a/b//c/", tmp);
    ck_assert_int_eq(ae_mkdirs(p, &err), AE_OK);
    snprintf(p, sizeof p, "%s/a/b/c", tmp);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(ae_mkdirs(p, &err), AE_OK); /* exists already */

    ck_assert_int_eq(ae_write_file_atomic(in_tmp("a/file"), "x", 1, &err), AE_OK);
    snprintf(p, sizeof p, "%s/a/file/d", tmp);
    ck_assert_int_eq(ae_mkdirs(p, &err), AE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    ck_assert_ptr_nonnull(strstr(err.msg, "not a folder"));
}
END_TEST

START_TEST(path_join)
{
    char b[64];
    ck_assert_str_eq(ae_path_join(b, sizeof b, "runs/x", "m.json"), "runs/x/m.json");
    ck_assert_str_eq(ae_path_join(b, sizeof b, "runs/", "m.json"), "runs/m.json");
    ck_assert_str_eq(ae_path_join(b, sizeof b, "", "m.json"), "m.json");
    ck_assert_str_eq(ae_path_join(b, 6, "runs", "m.json"), "runs/");
}
END_TEST

/* --- JSON ------------------------------------------------------------------------------------- */

START_TEST(json_fields)
{
    ae_json j;
    ae_json_begin(&j);
    ae_json_int(&j, "epoch", 3);
    ae_json_num(&j, "loss", 0.1);
    ae_json_num(&j, "big", INFINITY);
    ae_json_num(&j, "nan", NAN);
    ae_json_num(&j, "third", 1.0 / 3);
    ae_json_str(&j, "s", "a\"b\\c\n\t\x01 é");
    ae_json_str(&j, "q\"k", NULL);
    ae_json_end(&j);
    ck_assert_str_eq(j.buf, "{\"epoch\":3,\"loss\":0.1,\"big\":null,\"nan\":null,\"third\":0.333333333,"
                            "\"s\":\"a\\\"b\\\\c\\n\\t\\u0001 é\",\"q\\\"k\":null}\n");
    ae_json_free(&j);
    ck_assert_ptr_null(j.buf);

    ae_json_begin(&j);
    ae_json_end(&j);
    ck_assert_str_eq(j.buf, "{}\n");
    ae_json_free(&j);
}
END_TEST

START_TEST(jsonl_append_twice)
{
    ae_err err = {0};
    const char *p = in_tmp("metrics.jsonl");
    ck_assert_int_eq(ae_jsonl_append(p, "{\"a\":1}\n", &err), AE_OK);
    ck_assert_int_eq(ae_jsonl_append(p, "{\"a\":2}", &err), AE_OK); /* newline added */
    check_file(p, "{\"a\":1}\n{\"a\":2}\n");
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
    ck_assert_int_eq(ae_jsonl_append(in_tmp("no/such.jsonl"), "{}", &err), AE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "no/such.jsonl"));
}
END_TEST

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
    char *s = slurp(p, &len);
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
    char *dat = slurp(in_tmp("latent3d.dat"), NULL);
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
    check_has(in_tmp("bars.dat"), "1 \"dense_ae\" 0.022 0.02 0.025\n");
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

/* --- PNG grids -------------------------------------------------------------------------------- */

START_TEST(png_grid_gray_round_trip)
{
    /* 3 tiles of 2x3 in a 2x2 grid, scale 2: 13 x 9 pixels, the 4th tile black */
    float img[3 * 6] = {0.0f, 0.2f, 1.5f, -0.2f, 1.0f, 0.5f, /* tile 0 */
                        1, 1, 1, 1, 1, 1,                     /* tile 1 */
                        0.6f, 0, 0, 0, 0, NAN};               /* tile 2 */
    ae_err err = {0};
    const char *p = in_tmp("grid.png");
    ck_assert_int_eq(ae_png_grid(p, img, 3, 1, 2, 3, 2, 2, 2, &err), AE_OK);
    unsigned char *px;
    int w, h, c;
    ck_assert_int_eq(ae_png_read(p, &px, &w, &h, &c, &err), AE_OK);
    ck_assert_int_eq(w, 2 * 3 * 2 + 1);
    ck_assert_int_eq(h, 2 * 2 * 2 + 1);
    ck_assert_int_eq(c, 1);
#define AT(x, y) px[(y) * w + (x)]
    ck_assert_int_eq(AT(0, 0), 0);
    ck_assert_int_eq(AT(2, 1), 51);  /* 0.2, scaled 2x */
    ck_assert_int_eq(AT(5, 0), 255); /* 1.5 clamped */
    ck_assert_int_eq(AT(1, 2), 0);   /* -0.2 clamped */
    ck_assert_int_eq(AT(3, 3), 255);
    ck_assert_int_eq(AT(6, 0), 128); /* column separator */
    ck_assert_int_eq(AT(0, 4), 128); /* row separator */
    ck_assert_int_eq(AT(7, 0), 255); /* tile 1 */
    ck_assert_int_eq(AT(0, 5), 153); /* tile 2: 0.6 */
    ck_assert_int_eq(AT(5, 8), 0);   /* NaN -> 0 */
    ck_assert_int_eq(AT(12, 8), 0);  /* missing tile 3 is black */
    ck_assert_int_eq(AT(6, 8), 128);
#undef AT
    free(px);
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
}
END_TEST

START_TEST(png_grid_rgb_and_errors)
{
    float img[2 * 3] = {1, 0.2f, 0, 0, 0, 1}; /* two 1x1 RGB tiles, CHW */
    ae_err err = {0};
    const char *p = in_tmp("rgb.png");
    ck_assert_int_eq(ae_png_grid(p, img, 2, 3, 1, 1, 1, 2, 1, &err), AE_OK);
    unsigned char *px;
    int w, h, c;
    ck_assert_int_eq(ae_png_read(p, &px, &w, &h, &c, &err), AE_OK);
    ck_assert_int_eq(w, 3);
    ck_assert_int_eq(h, 1);
    ck_assert_int_eq(c, 3);
    unsigned char want[9] = {255, 51, 0, 128, 128, 128, 0, 0, 255};
    ck_assert_int_eq(memcmp(px, want, 9), 0);
    free(px);

    ck_assert_int_eq(ae_png_grid(in_tmp("x/y.png"), img, 2, 3, 1, 1, 1, 2, 1, &err), AE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "x/y.png"));
    ae_err_clear(&err);
    ck_assert_int_eq(ae_png_grid(p, img, 2, 2, 1, 1, 1, 2, 1, &err), AE_EINPUT);
    ae_err_clear(&err);
    ck_assert_int_eq(ae_png_grid(p, img, 2, 3, 1, 1, 1, 2, 0, &err), AE_EINPUT);
    ae_err_clear(&err);
    const char *bad = in_tmp("bad.png");
    ck_assert_int_eq(ae_write_file_atomic(bad, "\x89PNG\r\n\x1a\nnonsense", 16, &err), AE_OK);
    px = (unsigned char *)1;
    ck_assert_int_eq(ae_png_read(bad, &px, &w, &h, &c, &err), AE_EINPUT);
    ck_assert_ptr_null(px);
    ck_assert_ptr_nonnull(strstr(err.msg, bad));
    ae_err_clear(&err);
    ck_assert_int_eq(ae_png_read(in_tmp("none.png"), &px, &w, &h, &c, &err), AE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "none.png"));
}
END_TEST

/* A 4x4 grid of 28x28 synthetic "digits" (rings and bars), scale 3, to look at. */
START_TEST(png_grid_demo)
{
    enum { N = 16, S = 28 };
    float *img = calloc((size_t)N * S * S, sizeof(float));
    for (int k = 0; k < N; k++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                double dx = x - 13.5, dy = y - 13.5, r = sqrt(dx * dx + dy * dy);
                double v = k % 2 ? exp(-pow(r - 4 - k / 3.0, 2) / 2.5) : exp(-pow(dx - (k - 8) / 2.0, 2) / 3) * (fabs(dy) < 9);
                img[(size_t)k * S * S + (size_t)y * S + (size_t)x] = (float)v;
            }
    ae_err err = {0};
    const char *p = in_tmp("grid4x4.png");
    ck_assert_int_eq(ae_png_grid(p, img, N, 1, S, S, 4, 4, 3, &err), AE_OK);
    unsigned char *px;
    int w, h, c;
    ck_assert_int_eq(ae_png_read(p, &px, &w, &h, &c, &err), AE_OK);
    ck_assert_int_eq(w, 4 * S * 3 + 3);
    ck_assert_int_eq(h, 4 * S * 3 + 3);
    free(px);
    free(img);
}
END_TEST

/* --- CSV -------------------------------------------------------------------------------------- */

START_TEST(csv_content)
{
    float x[4] = {1.5f, -2, 0.1f, 3e-8f};
    int lab[2] = {7, -1};
    const char *names[2] = {"z,1", "z2"};
    ae_err err = {0};
    const char *p = in_tmp("codes.csv");
    ck_assert_int_eq(ae_csv_write(p, x, 2, 2, names, lab, "digit", &err), AE_OK);
    check_file(p, "\"z,1\",z2,digit\n1.5,-2,7\n0.100000001,2.99999989e-08,-1\n");
    ck_assert_int_eq(ae_csv_write(p, x, 2, 2, NULL, NULL, NULL, &err), AE_OK);
    check_file(p, "c0,c1\n1.5,-2\n0.100000001,2.99999989e-08\n");
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
}
END_TEST

/* --- progress --------------------------------------------------------------------------------- */

START_TEST(progress_disabled_silent)
{
    ae_progress p;
    capture_begin();
    ae_progress_init(&p, 2, 3, 0);
    p.tty = 1;
    p.t_last_draw -= 1;
    ae_progress_batch(&p, 1, 1, 0.5, 100);
    ae_progress_epoch(&p, 1, 0.5, 100.0, "x 1");
    char *out = capture_end();
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(progress_plain_and_tty)
{
    ae_progress p;
    capture_begin();
    ae_progress_init(&p, 5, 10, 1);
    ck_assert_int_eq(p.tty, 0); /* stderr is a file now */
    for (int b = 1; b <= 10; b++) ae_progress_batch(&p, 2, b, 0.3, 128);
    usleep(20000);
    ae_progress_epoch(&p, 2, 0.28412, 1234.0, "test_mse 0.21"); /* the epoch record's samples/s */
    ae_progress_epoch(&p, 3, 0.25, 987.0, NULL);
    char *out = capture_end();
    ck_assert_double_eq(p.samples, 1280);
    char rate[32];
    double secs = -1;
    int pos = 0;
    ck_assert_msg(sscanf(out, "epoch 2/5  loss 0.28412  %31s samples/s  %lf s  %n", rate, &secs, &pos) == 2 && pos,
                  "got '%s'", out);
    ck_assert_double_ge(secs, 0.0);
    ck_assert_double_lt(secs, 5.0);
    ck_assert_str_eq(rate, "1.2k"); /* the figure passed (metrics.jsonl's), not a running average */
    ck_assert_int_eq(strncmp(out + pos, "test_mse 0.21\nepoch 3/5  loss 0.25  987 samples/s  ", 51), 0);
    ck_assert_ptr_null(strchr(out, '\r'));
    ck_assert_int_eq(out[strlen(out) - 2], 's'); /* no extra: ends with " s\n" */
    free(out);

    capture_begin(); /* the terminal form, forced */
    ae_progress_init(&p, 4, 10, 1);
    p.tty = 1;
    p.t_start -= 200.0; /* 200 s for 10 of 40 batches: 600 s to go */
    p.t_epoch -= 100.0; /* this epoch's 100000 samples in 100 s: 1000 samples/s (not 500 since start) */
    p.t_last_draw -= 1;
    ae_progress_batch(&p, 1, 10, 0.5, 100000);
    ae_progress_batch(&p, 1, 10, 0.5, 0); /* within 0.1 s: not redrawn */
    ae_progress_epoch(&p, 1, 0.5, 1500.0, "v 1");
    out = capture_end();
    const char *want = "\r\033[Kepoch 1/4  batch 10/10  loss 0.5  1000 samples/s  ETA 10:00"
                       "\r\033[Kepoch 1/4  loss 0.5  1.5k samples/s  ";
    ck_assert_msg(!strncmp(out, want, strlen(want)), "got '%s'", out);
    ck_assert_ptr_nonnull(strstr(out, "  v 1\n"));
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, atomic_write_and_overwrite);
    tcase_add_test(tc, atomic_write_bad_folder);
    tcase_add_test(tc, commit_disk_full);
    tcase_add_test(tc, mkdirs_nested);
    tcase_add_test(tc, path_join);
    tcase_add_test(tc, json_fields);
    tcase_add_test(tc, jsonl_append_twice);
    tcase_add_test(tc, plot_loss_curve);
    tcase_add_test(tc, plot_lines_degenerate);
    tcase_add_test(tc, plot_scatter_2d_3d);
    tcase_add_test(tc, plot_bars_whiskers);
    tcase_add_test(tc, plot_gnuplot_missing_or_failing);
    tcase_add_test(tc, png_grid_gray_round_trip);
    tcase_add_test(tc, png_grid_rgb_and_errors);
    tcase_add_test(tc, png_grid_demo);
    tcase_add_test(tc, csv_content);
    tcase_add_test(tc, progress_disabled_silent);
    tcase_add_test(tc, progress_plain_and_tty);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}

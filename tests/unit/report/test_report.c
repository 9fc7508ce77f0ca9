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

#include "report_fixture.h"

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

/* A real "disk full" through every writer: the temp file each one opens ("<path>.tmp.<pid>") is a
 * symlink to /dev/full, so every write(2) fails with ENOSPC. The message must say so, not "Write
 * Error" or "Input/output error", and nothing may be left behind. */
static const char *full_temp(const char *name)
{
    static char p[4200];
    char tp[4300];
    ae_path_join(p, sizeof p, tmp, name);
    snprintf(tp, sizeof tp, "%s.tmp.%ld", p, (long)getpid());
    ck_assert_int_eq(symlink("/dev/full", tp), 0);
    return p;
}

static void assert_enospc(int rc, const ae_err *err, const char *p)
{
    ck_assert_int_eq(rc, AE_EIO);
    ck_assert_msg(strstr(err->msg, "No space left on device") && strstr(err->msg, p), "got '%s'", err->msg);
    ck_assert_int_eq(count_in_tmp(".tmp."), 0);
    ck_assert(!exists(p));
}

START_TEST(writers_disk_full)
{
    ae_err err = {0};
    static char big[1 << 16]; /* larger than any stdio buffer: fwrite itself fails */
    memset(big, 'x', sizeof big);
    const char *p = full_temp("small.txt");
    assert_enospc(ae_write_file_atomic(p, "tiny", 4, &err), &err, p);
    err = (ae_err){0};
    p = full_temp("big.txt");
    assert_enospc(ae_write_file_atomic(p, big, sizeof big, &err), &err, p);
    err = (ae_err){0};
    p = full_temp("metrics.jsonl");
    assert_enospc(ae_jsonl_append(p, "{\"epoch\":1}\n", &err), &err, p);
    enum { N = 4000, D = 16 };
    float *x = malloc(N * D * sizeof *x);
    ck_assert_ptr_nonnull(x);
    unsigned s = 1;
    for (int i = 0; i < N * D; i++) x[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 0xff) / 255.0f;
    err = (ae_err){0};
    p = full_temp("codes.csv");
    assert_enospc(ae_csv_write(p, x, N, D, NULL, NULL, NULL, &err), &err, p);
    err = (ae_err){0};
    p = full_temp("grid.png"); /* 4000 tiles of 4x4 noise: far more than a stdio buffer */
    assert_enospc(ae_png_grid(p, x, N, 1, 4, 4, 40, 100, 1, &err), &err, p);
    free(x);
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
    tcase_add_test(tc, writers_disk_full);
    tcase_add_test(tc, mkdirs_nested);
    tcase_add_test(tc, path_join);
    tcase_add_test(tc, json_fields);
    tcase_add_test(tc, jsonl_append_twice);
    tcase_add_test(tc, png_grid_gray_round_trip);
    tcase_add_test(tc, png_grid_rgb_and_errors);
    tcase_add_test(tc, png_grid_demo);
    tcase_add_test(tc, csv_content);
    tcase_add_test(tc, progress_disabled_silent);
    tcase_add_test(tc, progress_plain_and_tty);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}

/* Shared by the report suites (test_report.c, test_figures.c): a fresh folder per test (kept with
 * AE_TEST_KEEP=1), file checks, and stderr captured into a file. */
#ifndef REPORT_FIXTURE_H
#define REPORT_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ae_report.h"
#include "ae_test.h"

static char *tmp;       /* fresh folder per test */
static char path[4096]; /* scratch path */
static char *saved_path; /* PATH while a test changes it */

static inline const char *in_tmp(const char *name) { return ae_path_join(path, sizeof path, tmp, name); }

static inline void setup(void)
{
    tmp = ae_test_tmpdir();
    ck_assert_ptr_nonnull(tmp);
}

/* AE_TEST_KEEP=1 keeps the folders (to look at the figures). */
static inline void teardown(void)
{
    if (saved_path) setenv("PATH", saved_path, 1);
    free(saved_path);
    saved_path = NULL;
    if (getenv("AE_TEST_KEEP")) fprintf(stderr, "kept %s\n", tmp);
    else ae_test_rm_rf(tmp);
    free(tmp);
}

/* The file p holds exactly want. */
static inline void check_file(const char *p, const char *want)
{
    char *s = ae_test_slurp(p, NULL);
    ck_assert_msg(s != NULL, "%s missing", p);
    ck_assert_str_eq(s, want);
    free(s);
}

/* The file p contains needle. */
static inline void check_has(const char *p, const char *needle)
{
    char *s = ae_test_slurp(p, NULL);
    ck_assert_msg(s && strstr(s, needle), "'%s' not in %s", needle, p);
    free(s);
}

static inline int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Number of entries in tmp whose name contains needle. */
static inline int count_in_tmp(const char *needle)
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

static inline void capture_begin(void)
{
    fflush(stderr);
    ae_path_join(cap_path, sizeof cap_path, tmp, "stderr.txt");
    saved_fd = dup(2);
    int fd = open(cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
}

static inline char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    char *s = ae_test_slurp(cap_path, NULL);
    unlink(cap_path);
    return s;
}

#endif

/* Shared fixture of the data suites (test_data.c, test_data_idx.c): a fresh temp folder per test,
 * error assertions and file writers. Included by those two files only. */
#ifndef DATA_FIXTURE_H
#define DATA_FIXTURE_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ae_data.h"
#include "ae_test.h"

static char *dir; /* fresh temp dir per test, removed afterwards */

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        rm_rf(sub);
    }
    if (d) closedir(d), rmdir(path);
    else unlink(path);
}
static void setup(void)
{
    dir = ae_test_tmpdir();
    ck_assert_ptr_nonnull(dir);
}
static void teardown(void) { rm_rf(dir); free(dir); }

/* Asserts rc and e->code equal code and the message holds every substring (NULL-terminated);
 * then clears e for the next call. */
static void expect_err(int rc, ae_err *e, int code, ...)
{
    ck_assert_int_eq(rc, code);
    ck_assert_int_eq(e->code, code);
    va_list ap;
    va_start(ap, code);
    for (const char *s; (s = va_arg(ap, const char *));)
        ck_assert_msg(strstr(e->msg, s), "message '%s' lacks '%s'", e->msg, s);
    va_end(ap);
    ae_err_clear(e);
}

/* Writes data (gzipped when gz) to in/name; the path stays valid for the next 15 calls. */
static const char *write_in(const char *in, const char *name, const void *data, size_t len, int gz)
{
    static char pool[16][4200];
    static int next;
    char *p = pool[next++ % 16];
    snprintf(p, sizeof pool[0], "%s/%s", in, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        fclose(f);
    }
    return p;
}
#define write_file(name, data, len, gz) write_in(dir, name, data, len, gz)

#endif

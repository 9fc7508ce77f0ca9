/* CSV tables of float rows (e.g. latent codes) with a header and an optional integer label column. */
#include "ae_report.h"

#include <stdio.h>
#include <string.h>

/* Writes a header field, quoted as RFC 4180 asks when it holds a comma, quote or line break. */
static void field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int ae_csv_write(const char *path, const float *x, size_t n, size_t d, const char *const *names,
                 const int *label, const char *label_name, ae_err *err)
{
    ae_afile af;
    int rc = ae_afile_open(&af, path, err);
    if (rc) return rc;
    FILE *f = af.f;
    for (size_t j = 0; j < d; j++) {
        if (j) fputc(',', f);
        if (names && names[j]) {
            field(f, names[j]);
        } else {
            fprintf(f, "c%zu", j);
        }
    }
    if (label) {
        if (d) fputc(',', f);
        field(f, label_name ? label_name : "label");
    }
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * d;
        for (size_t j = 0; j < d; j++) fprintf(f, j ? ",%.9g" : "%.9g", (double)row[j]);
        if (label) fprintf(f, d ? ",%d" : "%d", label[i]);
        fputc('\n', f);
    }
    return ae_afile_commit(&af, err);
}

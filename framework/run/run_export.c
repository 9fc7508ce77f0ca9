/* Parameter files for other frameworks: safetensors (one file, JSON header) and NumPy .npy (one file
 * per tensor, format 1.0), under PyTorch-style names; the stored layouts are PyTorch's already. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_export.h"
#include "ae_report.h"

int ae_export_name(const char *name, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (c == ']') continue; /* "[N]" -> ".N" */
        if (c == '[') c = '.';
        if (o + 1 >= len) return -1;
        out[o++] = c;
    }
    if (!len) return -1;
    out[o] = '\0';
    return 0;
}

/* A JSON string literal of s (quotes, backslashes and control characters escaped). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* The safetensors JSON header, padded with spaces to a multiple of 8 bytes (malloc'd, *len). */
static char *st_header(const ae_params *ps, const char *config_yaml, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    fputs("{\"__metadata__\":{\"format\":\"pt\",\"producer\":", f);
    json_string(f, "aelab " AELAB_VERSION);
    fputs(",\"config\":", f);
    json_string(f, config_yaml ? config_yaml : "");
    fputc('}', f);
    size_t off = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const ae_param_info *p = &ps->p[i];
        char name[128];
        ae_export_name(p->name, name, sizeof name);
        fputc(',', f);
        json_string(f, name);
        fputs(":{\"dtype\":\"F32\",\"shape\":[", f);
        for (int d = 0; d < p->shape.nd; d++) fprintf(f, "%s%lld", d ? "," : "", (long long)p->shape.d[d]);
        fprintf(f, "],\"data_offsets\":[%zu,%zu]}", off, off + p->n * sizeof(float));
        off += p->n * sizeof(float);
    }
    fputc('}', f);
    while (ftell(f) % 8) fputc(' ', f); /* the data starts 8-byte aligned (as the reference writer pads) */
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Little-endian float32 values (the host's order on x86-64 and arm64: written as they are). */
static int put_floats(FILE *f, const float *x, size_t n)
{
    return n == 0 || fwrite(x, sizeof *x, n, f) == n;
}

int ae_export_safetensors(const ae_params *ps, const char *config_yaml, const char *path, ae_err *err)
{
    size_t hl = 0;
    char *h = st_header(ps, config_yaml, &hl);
    if (!h) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_afile af;
    if (ae_afile_open(&af, path, err)) {
        free(h);
        return err->code;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    int ok = fwrite(len8, 1, 8, af.f) == 8 && fwrite(h, 1, hl, af.f) == hl;
    for (size_t i = 0; ok && i < ps->n; i++) ok = put_floats(af.f, ps->val + ps->p[i].off, ps->p[i].n);
    free(h);
    return ok ? ae_afile_commit(&af, err) : ae_afile_fail(&af, "write failed", err);
}

int ae_npy_write(const char *path, const float *x, int nd, const int64_t *shape, ae_err *err)
{
    char dict[256];
    size_t used = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int d = 0; d < nd && used < sizeof dict; d++) {
        used += (size_t)snprintf(dict + used, sizeof dict - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
        count *= (size_t)shape[d];
    }
    if (used < sizeof dict) used += (size_t)snprintf(dict + used, sizeof dict - used, nd == 1 ? ",), }" : "), }");
    if (used >= sizeof dict - 64) return ae_errf(err, AE_EINTERNAL, "%s: npy shape too long", path);
    /* magic (6) + version (2) + header length (2) + dict + spaces + '\n': a multiple of 64 */
    size_t total = (10 + used + 1 + 63) / 64 * 64, hlen = total - 10;
    memset(dict + used, ' ', hlen - 1 - used);
    dict[hlen - 1] = '\n';
    ae_afile af;
    if (ae_afile_open(&af, path, err)) return err->code;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, af.f) == 10 && fwrite(dict, 1, hlen, af.f) == hlen && put_floats(af.f, x, count);
    return ok ? ae_afile_commit(&af, err) : ae_afile_fail(&af, "write failed", err);
}

int ae_export_npy(const ae_params *ps, const char *config_yaml, const char *dir, ae_err *err)
{
    if (ae_mkdirs(dir, err)) return err->code;
    char path[4200], name[140];
    int rc = AE_OK;
    for (size_t i = 0; !rc && i < ps->n; i++) {
        const ae_param_info *p = &ps->p[i];
        if (ae_export_name(p->name, name, sizeof name - 4))
            return ae_errf(err, AE_EINTERNAL, "parameter name '%s' too long", p->name);
        strcat(name, ".npy");
        rc = ae_npy_write(ae_path_join(path, sizeof path, dir, name), ps->val + p->off, p->shape.nd, p->shape.d,
                          err);
    }
    if (!rc && config_yaml)
        rc = ae_write_file_atomic(ae_path_join(path, sizeof path, dir, "config.yaml"), config_yaml,
                                  strlen(config_yaml), err);
    return rc;
}

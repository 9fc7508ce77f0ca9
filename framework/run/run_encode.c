/* `aelab export` and `aelab encode` on a run folder: reopen the trained model (config.yaml +
 * checkpoint.aelab), then write its parameters (run_export.c) or the codes of a data set as .npy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_export.h"
#include "ae_registry.h"
#include "ae_report.h"

/* A whole file as a NUL-terminated string (malloc'd), NULL when it cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, k;
    char chunk[8192];
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + k + 1 > cap) {
            cap = (n + k + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + n, chunk, k);
        n += k;
    }
    fclose(f);
    if (!buf && !(buf = malloc(1))) return NULL;
    buf[n] = '\0';
    return buf;
}

/* The folder part of path ("." when it has none). */
static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, len, ".");
    else if (slash == path) snprintf(out, len, "/");
    else snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* config.yaml beside a safetensors file: written when absent, kept when it is the same text, refused
 * (before anything is written) when another run's config is there. */
static int config_beside(const char *file, const char *yaml, int write, ae_err *err)
{
    char dir[4096], p[4200];
    dir_of(file, dir, sizeof dir);
    ae_path_join(p, sizeof p, dir, "config.yaml");
    char *old = slurp(p);
    int same = old && !strcmp(old, yaml), other = old && !same;
    free(old);
    if (other)
        return ae_errf(err, AE_EINPUT, "%s holds another config: export to a folder of its own (--out "
                       "DIR/model.safetensors) so the model's config.yaml can sit beside it", p);
    return same || !write ? AE_OK : ae_write_file_atomic(p, yaml, strlen(yaml), err);
}

int ae_run_export(const char *run_dir, const char *format, const char *out, const ae_run_opts *o, ae_err *err)
{
    int st = !format || !strcmp(format, "safetensors");
    if (!st && strcmp(format, "npy"))
        return ae_errf(err, AE_EINPUT, "--format '%s': expected safetensors or npy", format);
    char def[4200], cp[4200];
    if (!out) out = ae_path_join(def, sizeof def, run_dir, st ? "model.safetensors" : "weights_npy");
    char *yaml = slurp(ae_path_join(cp, sizeof cp, run_dir, "config.yaml"));
    ae_run r;
    int rc = ae_run_open(&r, run_dir, o, err);
    if (!rc && !yaml) rc = ae_errf(err, AE_EIO, "%s: cannot be read", cp);
    if (!rc && st) rc = config_beside(out, yaml, 0, err);
    if (!rc && st) rc = ae_export_safetensors(ae_model_params(r.model), yaml, out, err);
    if (!rc && st) rc = config_beside(out, yaml, 1, err);
    if (!rc && !st) rc = ae_export_npy(ae_model_params(r.model), yaml, out, err);
    if (!rc) printf("%s (%zu tensors, %zu parameters)\n", out, ae_model_params(r.model)->n,
                    ae_params_count(ae_model_params(r.model)));
    free(yaml);
    ae_run_free(&r);
    return rc;
}

/* The data set to encode: the run's own test split (its training set when it has none), or the one
 * the run's config reads with o's data.* overrides, loaded into own[0..2] (train, test, validation) by the
 * config's data source (the run's registry: its plug-ins are loaded) without building a model. */
static int pick_data(ae_run *r, ae_dataset own[3], const char *run_dir, const ae_run_opts *o,
                     const ae_dataset **ds, ae_err *err)
{
    if (!o->nsets) {
        *ds = r->test.n ? &r->test : &r->train;
        return AE_OK;
    }
    char cp[4200];
    ae_cfg *root = ae_cfg_load_file(ae_path_join(cp, sizeof cp, run_dir, "config.yaml"), err), *data = NULL;
    const char *source = NULL;
    long exclude;
    int rc = root ? AE_OK : err->code;
    for (size_t i = 0; !rc && i < o->nsets; i++) rc = ae_cfg_apply_set(root, o->sets[i], err);
    if (!rc && (ae_cfg_map(root, "data", 0, &data, err) ||
                ae_data_head(data, ae_source_names(o->registry), &exclude, &source, err) ||
                ae_data_from_config(data, source ? ae_find_source(o->registry, source) : NULL, o->data_dir,
                                    r->seed, &own[0], &own[1], &own[2], err)))
        rc = err->code;
    ae_cfg_free(root);
    if (rc) return rc;
    *ds = own[1].n ? &own[1] : &own[0];
    if ((*ds)->d != ae_model_input_size(r->model))
        return ae_errf(err, AE_EINPUT, "the data set chosen by --set has %zu features per sample; the model of %s "
                       "reads %zu", (*ds)->d, run_dir, ae_model_input_size(r->model));
    return AE_OK;
}

int ae_run_encode(const char *run_dir, const char *out, const ae_run_opts *o, ae_err *err)
{
    for (size_t i = 0; i < o->nsets; i++)
        if (strncmp(o->sets[i], "data.", 5))
            return ae_errf(err, AE_EINPUT, "--set '%.60s': encode takes data.* keys only (the model and its "
                           "training are the run's)", o->sets[i]);
    ae_run_opts base = *o;
    base.sets = NULL;
    base.nsets = 0;
    char def[4200];
    if (!out) out = ae_path_join(def, sizeof def, run_dir, "codes.npy");
    ae_run r;
    ae_dataset own[3];
    memset(own, 0, sizeof own);
    const ae_dataset *ds = NULL;
    int rc = ae_run_open(&r, run_dir, &base, err);
    if (!rc) rc = pick_data(&r, own, run_dir, o, &ds, err);
    size_t cs = rc ? 0 : ae_model_code_size(r.model);
    float *codes = rc ? NULL : malloc((ds->n ? ds->n : 1) * cs * sizeof *codes);
    if (!rc && !codes) rc = ae_errf(err, AE_EINTERNAL, "out of memory");
    if (!rc) rc = ae_encode(r.model, ds, ds->n, AE_MODE_EVAL, r.eval_batch, codes, NULL, err);
    if (!rc) rc = ae_npy_write(out, codes, 2, (int64_t[]){(int64_t)ds->n, (int64_t)cs}, err);
    if (!rc) printf("%s (%zu x %zu)\n", out, ds->n, cs);
    free(codes);
    ae_dataset_free(&own[0]);
    ae_dataset_free(&own[1]);
    ae_dataset_free(&own[2]);
    ae_run_free(&r);
    return rc;
}

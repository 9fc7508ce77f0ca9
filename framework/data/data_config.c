/* Glue from the config's `data:` section to the loaders: csv (cleaning, categorical maps, label,
 * scaling, seeded split) or idx (named dataset or explicit files, limits). */
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"

static const char *const sources[] = {"csv", "idx", NULL};
static const char *const scalings[] = {"standard", "minmax", "none", NULL};
static const char *const dropnas[] = {"any", "none", NULL};

typedef struct csv_maps { /* storage behind ae_csv_opts */
    const char **drop, **na, **keys;
    double *vals;
    ae_csv_map *maps;
} csv_maps;

static void csv_maps_free(csv_maps *s)
{
    free(s->drop);
    free(s->na);
    free(s->keys);
    free(s->vals);
    free(s->maps);
}

static int str_list(ae_cfg *seq, const char *what, const char ***out, size_t *n, ae_err *err)
{
    char w[256];
    *n = ae_cfg_len(seq);
    *out = calloc(*n + 1, sizeof **out);
    if (!*out) return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        const char *s = ae_cfg_scalar(ae_cfg_at(seq, i));
        if (!s) return ae_errf(err, AE_EINPUT, "%s: expected %s", ae_cfg_where(ae_cfg_at(seq, i), w, sizeof w), what);
        ae_cfg_mark_string(ae_cfg_at(seq, i)); /* na_values: [no, 1] are strings: saved quoted */
        (*out)[i] = s;
    }
    return AE_OK;
}

static int read_csv(ae_cfg *d, const char *data_dir, ae_dataset *all, ae_err *err)
{
    const char *path, *dropna, *label;
    ae_cfg *drop, *na, *cat;
    csv_maps s;
    memset(&s, 0, sizeof s);
    ae_csv_opts o;
    memset(&o, 0, sizeof o);
    char full[4096], w[256];
    int rc = AE_OK;
    if (ae_cfg_str(d, "path", NULL, NULL, &path, err) ||
        ae_cfg_seq(d, "drop_columns", 1, &drop, err) ||
        ae_cfg_str(d, "dropna", "none", dropnas, &dropna, err) ||
        ae_cfg_seq(d, "na_values", 0, &na, err) ||
        ae_cfg_map(d, "categorical", 1, &cat, err) ||
        ae_cfg_str(d, "label", "", NULL, &label, err))
        return err->code;
    if (str_list(drop, "a column name in data.drop_columns", &s.drop, &o.n_drop, err)) goto out;
    o.drop_columns = s.drop;
    if (na) {
        if (str_list(na, "a text in data.na_values", &s.na, &o.n_na, err)) goto out;
        o.na_values = s.na;
    }
    o.dropna_any = !strcmp(dropna, "any");
    o.label = *label ? label : NULL;
    size_t nk = 0;
    for (size_t i = 0; i < ae_cfg_len(cat); i++) nk += ae_cfg_len(ae_cfg_value_at(cat, i));
    s.keys = calloc(nk + 1, sizeof *s.keys);
    s.vals = calloc(nk + 1, sizeof *s.vals);
    s.maps = calloc(ae_cfg_len(cat) + 1, sizeof *s.maps);
    if (!s.keys || !s.vals || !s.maps) { rc = ae_errf(err, AE_EINTERNAL, "out of memory"); goto out; }
    size_t k = 0;
    for (size_t i = 0; i < ae_cfg_len(cat); i++) {
        ae_cfg *m = ae_cfg_value_at(cat, i);
        if (ae_cfg_kind_of(m) != AE_CFG_MAP) {
            rc = ae_errf(err, AE_EINPUT, "%s: data.categorical.%s: expected a map of category: number "
                         "such as {No: 0, Yes: 1}", ae_cfg_where(m, w, sizeof w), ae_cfg_key_at(cat, i));
            goto out;
        }
        ae_csv_map *cm = &s.maps[o.n_maps++];
        cm->column = ae_cfg_key_at(cat, i);
        cm->keys = s.keys + k;
        cm->values = s.vals + k;
        cm->n = ae_cfg_len(m);
        for (size_t j = 0; j < ae_cfg_len(m); j++, k++) {
            s.keys[k] = ae_cfg_key_at(m, j);
            if (ae_cfg_num(m, s.keys[k], 0, -1e30, 1e30, &s.vals[k], err)) { rc = err->code; goto out; }
        }
    }
    o.maps = s.maps;
    if (ae_data_resolve(path, data_dir, full, sizeof full, err) == AE_OK) {
        rc = ae_csv_load(full, &o, all, err);
    } else {
        rc = ae_err_prefix(err, "%s: data.path", ae_cfg_where(ae_cfg_get(d, "path"), w, sizeof w));
    }
out:
    csv_maps_free(&s);
    return rc ? rc : err->code;
}

int ae_data_from_config(ae_cfg *d, const char *data_dir, unsigned long seed, ae_dataset *train,
                        ae_dataset *test, ae_err *err)
{
    const char *source, *scaling;
    char w[256];
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!d) return ae_errf(err, AE_EINPUT, "missing required section 'data' (for example "
                           "{source: idx, name: fashion-mnist} or {source: csv, path: FILE.csv})");
    if (ae_cfg_str(d, "source", NULL, sources, &source, err)) return err->code;
    int csv = !strcmp(source, "csv");
    if (ae_cfg_str(d, "scaling", csv ? "standard" : "none", scalings, &scaling, err)) return err->code;
    if (csv) {
        ae_dataset all;
        double frac;
        if (ae_cfg_num(d, "test_fraction", 0.0, 0.0, 0.9, &frac, err) || read_csv(d, data_dir, &all, err))
            return err->code;
        if (frac > 0) {
            size_t rows = all.n;
            if (ae_dataset_split(&all, frac, seed, train, test, err)) {
                ae_dataset_free(&all);
                return err->code;
            }
            if (train->n == 0) {
                ae_dataset_free(train);
                ae_dataset_free(test);
                return ae_errf(err, AE_EINPUT, "%s: data.test_fraction: %g of %zu rows leaves no rows "
                               "to train on", ae_cfg_where(ae_cfg_get(d, "test_fraction"), w, sizeof w),
                               frac, rows);
            }
        } else {
            *train = all;
        }
    } else {
        const char *name, *images, *labels;
        long limit, test_limit;
        if (ae_cfg_str(d, "name", "", NULL, &name, err) || ae_cfg_str(d, "images", "", NULL, &images, err) ||
            ae_cfg_str(d, "labels", "", NULL, &labels, err) ||
            ae_cfg_int(d, "limit", 0, 0, 1L << 40, &limit, err) ||
            ae_cfg_int(d, "test_limit", 0, 0, 1L << 40, &test_limit, err))
            return err->code;
        if (*name) {
            if (ae_idx_load_named_splits(name, data_dir, (size_t)limit, (size_t)test_limit, train,
                                         test, err))
                return ae_err_prefix(err, "%s: data.name", ae_cfg_where(ae_cfg_get(d, "name"), w, sizeof w));
        } else if (*images) {
            char ip[4096], lp[4096];
            if (ae_data_resolve(images, data_dir, ip, sizeof ip, err))
                return ae_err_prefix(err, "%s: data.images", ae_cfg_where(ae_cfg_get(d, "images"), w, sizeof w));
            if (*labels && ae_data_resolve(labels, data_dir, lp, sizeof lp, err))
                return ae_err_prefix(err, "%s: data.labels", ae_cfg_where(ae_cfg_get(d, "labels"), w, sizeof w));
            if (ae_idx_load(ip, *labels ? lp : NULL, (size_t)limit, train, err)) return err->code;
        } else {
            return ae_errf(err, AE_EINPUT, "%s: data: an idx source needs 'name' (fashion-mnist, "
                           "mnist) or 'images' (+ 'labels')", ae_cfg_where(d, w, sizeof w));
        }
    }
    ae_scaling kind = !strcmp(scaling, "standard") ? AE_SCALE_STANDARD
                      : !strcmp(scaling, "minmax") ? AE_SCALE_MINMAX : AE_SCALE_NONE;
    if (kind != AE_SCALE_NONE) {
        ae_scaler sc;
        if (ae_scaler_fit(&sc, kind, train, err)) return err->code;
        ae_scaler_apply(&sc, train);
        if (test->n) ae_scaler_apply(&sc, test);
        ae_scaler_free(&sc);
    }
    return ae_cfg_finish(d, "data", err);
}

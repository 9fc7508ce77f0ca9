/* The `csv` data source: one table (.csv/.csv.gz) with the tutorial's cleaning steps (dropped
 * columns, NA rows, categorical maps, a label column); a thin wrapper over ae_csv_load. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ae_registry.h"

static const char *const dropnas[] = {"any", "none", NULL};

typedef struct csv_keys {
    const char *path, *dropna, *label;
    ae_cfg *drop, *na, *cat;
} csv_keys;

static const ae_key csv_key_table[] = {
    AE_KEY_STR_(csv_keys, path, "path", NULL, NULL, "the table: a .csv or .csv.gz file with a header row "
                "(found on the data search path)"),
    AE_KEY_SEQ_(csv_keys, drop, "drop_columns", "[]", "columns left out (names)"),
    AE_KEY_STR_(csv_keys, dropna, "dropna", "none", dropnas, "`any`: drop the rows with a missing value; "
                "`none`: a missing value is an error naming its row"),
    AE_KEY_SEQ_(csv_keys, na, "na_values", AE_KEY_OPTIONAL, "the texts read as missing values (absent: "
                "NA and the empty text)"),
    AE_KEY_MAP_(csv_keys, cat, "categorical", "columns of categories mapped to numbers: "
                "{column: {text: number}}"),
    AE_KEY_STR_(csv_keys, label, "label", AE_KEY_EMPTY, NULL, "a column kept as the class label (an integer >= 0), "
                "not a feature (empty: none)"),
};
static const ae_schema csv_schema = AE_SCHEMA("data", csv_key_table);

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

static int csv_load(ae_cfg *d, const ae_source_req *req, ae_dataset *all, ae_dataset *test, ae_err *err)
{
    csv_keys c = {0};
    csv_maps s;
    memset(&s, 0, sizeof s);
    ae_csv_opts o;
    memset(&o, 0, sizeof o);
    char full[4096], w[256];
    int rc = AE_OK;
    (void)test; /* a CSV has no test set of its own: data.test_fraction splits one off */
    if (ae_schema_read(&csv_schema, d, &c, 0, err)) return err->code;
    ae_cfg *drop = c.drop, *na = c.na, *cat = c.cat;
    const char *path = c.path, *dropna = c.dropna, *label = c.label;
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
    if (ae_data_resolve(path, req->data_dir, full, sizeof full, err) == AE_OK) {
        rc = ae_csv_load(full, &o, all, err);
    } else {
        rc = ae_err_prefix(err, "%s: data.path", ae_cfg_where(ae_cfg_get(d, "path"), w, sizeof w));
    }
out:
    csv_maps_free(&s);
    return rc ? rc : err->code;
}

const ae_source_ops ae_source_csv = {
    "csv", "one table, .csv or .csv.gz with a header row, with the tutorial's cleaning steps",
    "standard", AE_SOURCE_DEFAULT_SPLIT, csv_load, &csv_schema};

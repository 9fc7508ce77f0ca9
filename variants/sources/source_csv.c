/* The `csv` data source: one table (.csv/.csv.gz) with the tutorial's cleaning steps (dropped
 * columns, NA rows, categorical maps or one-hot columns, a label column, the delimiter); over ae_csv_load. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ae_registry.h"

static const char *const dropnas[] = {"any", "none", NULL};

typedef struct csv_keys {
    const char *path, *dropna, *label, *delimiter;
    ae_cfg *drop, *na, *cat;
} csv_keys;

static const ae_key csv_key_table[] = {
    AE_KEY_STR_(csv_keys, path, "path", NULL, NULL, "the table: a .csv or .csv.gz file with a header row "
                "(relative: next to the config first, then the working directory and the data search path)"),
    AE_KEY_SEQ_(csv_keys, drop, "drop_columns", "[]", "columns left out (names)"),
    AE_KEY_STR_(csv_keys, dropna, "dropna", "none", dropnas, "`any`: drop the rows with a missing value; "
                "`none`: a missing value is an error naming its row"),
    AE_KEY_SEQ_(csv_keys, na, "na_values", AE_KEY_OPTIONAL, "the texts read as missing values (absent: "
                "NA and the empty text); nan / inf here cover every spelling of NaN / of both infinities (-inf, "
                "+inf: one), else such cells are errors"),
    AE_KEY_MAP_(csv_keys, cat, "categorical", "columns of categories mapped to numbers, {column: {text: "
                "number}}, or one-hot encoded, {column: onehot}: one 0/1 column per category, named "
                "`column=text`, the categories being the sorted distinct texts of the rows read (kept after "
                "dropna); the resolved config lists them ({column: {onehot: [texts]}}) and a run of it maps the "
                "same way: a text not in the list is an error"),
    AE_KEY_STR_(csv_keys, label, "label", AE_KEY_EMPTY, NULL, "a column kept as the class label (an integer >= 0), "
                "not a feature (empty: none)"),
    AE_KEY_STR_(csv_keys, delimiter, "delimiter", AE_KEY_OPTIONAL, NULL, "the field separator: one "
                "character (`;`, `\"\\t\"` for tab) or `auto`: the most frequent of , ; tab | in the header "
                "line, said on stderr; `,` when absent"),
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

/* One entry of data.categorical: {text: number, ...}, `onehot`, or {onehot: [texts]} (the resolved form). */
static int read_category(ae_cfg *m, ae_csv_map *cm, const char **keys, double *vals, ae_err *err)
{
    char w[256];
    const char *t = ae_cfg_scalar(m);
    ae_cfg *list = ae_cfg_kind_of(m) == AE_CFG_MAP && ae_cfg_len(m) == 1 ? ae_cfg_lookup(m, "onehot") : NULL;
    if (t && !strcmp(t, "onehot")) {
        cm->onehot = 1; /* the loader collects the list */
        return AE_OK;
    }
    if (list) {
        cm->onehot = 1;
        if (ae_cfg_kind_of(list) != AE_CFG_SEQ || !ae_cfg_len(list))
            return ae_errf(err, AE_EINPUT, "%s: data.categorical.%s.onehot: expected a non-empty list of "
                           "categories", ae_cfg_where(list, w, sizeof w), cm->column);
        const char **l;
        size_t n;
        if (str_list(list, "a category (a text)", &l, &n, err)) return err->code;
        memcpy(keys, l, n * sizeof *l);
        free(l);
        cm->n = n;
        ae_cfg_get(m, "onehot");
        return AE_OK;
    }
    if (ae_cfg_kind_of(m) != AE_CFG_MAP)
        return ae_errf(err, AE_EINPUT, "%s: data.categorical.%s: expected a map of category: number such as "
                       "{No: 0, Yes: 1}, or onehot", ae_cfg_where(m, w, sizeof w), cm->column);
    cm->n = ae_cfg_len(m);
    for (size_t j = 0; j < cm->n; j++) {
        keys[j] = ae_cfg_key_at(m, j);
        if (ae_cfg_num(m, keys[j], 0, -1e30, 1e30, &vals[j], err)) return err->code;
    }
    return AE_OK;
}

/* data.delimiter: absent ',', one character, or auto. */
static int read_delimiter(ae_cfg *d, const char *t, ae_csv_opts *o, ae_err *err)
{
    char w[256];
    if (!t) return AE_OK;
    if (!strcmp(t, "auto")) o->delimiter_auto = 1;
    else if (strlen(t) == 1 && !strchr("\"\r\n", t[0])) o->delimiter = t[0];
    else
        return ae_errf(err, AE_EINPUT, "%s: data.delimiter: expected one character (such as ',', ';' or "
                       "\"\\t\" for tab) or auto, got '%s'", ae_cfg_where(ae_cfg_get(d, "delimiter"), w, sizeof w), t);
    ae_cfg_mark_string(ae_cfg_get(d, "delimiter"));
    return AE_OK;
}

/* Appends text to the growing *buf (escaping " and \ when esc); 0 when out of memory (*buf freed). */
static int put(char **buf, size_t *used, size_t *cap, const char *text, int esc)
{
    for (const char *c = text; *buf && *c; c++) {
        if (*used + 4 > *cap) {
            char *nb = realloc(*buf, *cap * 2);
            if (!nb) free(*buf);
            *buf = nb;
            *cap *= 2;
            if (!nb) break;
        }
        if (esc && (*c == '"' || *c == '\\')) (*buf)[(*used)++] = '\\';
        (*buf)[(*used)++] = *c;
    }
    if (*buf) (*buf)[*used] = '\0';
    return *buf != NULL;
}

/* Writes `column: onehot` as {onehot: ["the", "categories"]}, read back from the columns "column=text". */
static int save_onehot(ae_cfg *cat, const ae_csv_opts *o, const ae_dataset *ds, ae_err *err)
{
    for (size_t i = 0; i < o->n_maps; i++) {
        const ae_csv_map *m = &o->maps[i];
        size_t len = strlen(m->column), n = 0, cap = 256, used = 0;
        if (!m->onehot || m->n) continue;
        char *yaml = malloc(cap);
        int ok = yaml && put(&yaml, &used, &cap, "{onehot: [", 0);
        for (size_t j = 0; ok && j < ds->d; j++)
            if (!strncmp(ds->columns[j], m->column, len) && ds->columns[j][len] == '=')
                ok = put(&yaml, &used, &cap, n++ ? ", \"" : "\"", 0) &&
                     put(&yaml, &used, &cap, ds->columns[j] + len + 1, 1) && put(&yaml, &used, &cap, "\"", 0);
        ok = ok && put(&yaml, &used, &cap, "]}", 0);
        ae_cfg *node = ok && n ? ae_cfg_load_text(yaml, "one-hot categories of column", m->column, err) : NULL;
        free(ok ? yaml : NULL);
        if (!ok) return ae_errf(err, AE_EINTERNAL, "out of memory");
        if (!n) continue; /* a dropped column */
        if (!node) return err->code;
        if (ae_cfg_set_node(cat, m->column, node)) return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    return AE_OK;
}

/* A label column mapped by data.categorical ({"No": 0, "Yes": 1}): its texts name the classes in the
 * figures' legends (a value given two texts keeps the first). */
static int label_names(const ae_csv_opts *o, ae_dataset *ds, ae_err *err)
{
    for (size_t i = 0; o->label && ds->label && i < o->n_maps; i++) {
        const ae_csv_map *m = &o->maps[i];
        if (m->onehot || strcmp(m->column, o->label) || !m->n) continue;
        int k = 0;
        for (size_t j = 0; j < m->n; j++)
            if (m->values[j] >= 0 && m->values[j] < 1024 && m->values[j] == (int)m->values[j] && m->values[j] + 1 > k)
                k = (int)m->values[j] + 1;
        if (!k || !(ds->own_class_names = calloc((size_t)k, sizeof *ds->own_class_names)))
            return k ? ae_errf(err, AE_EINTERNAL, "out of memory") : AE_OK;
        ds->n_class_names = k;
        ds->class_names = (const char *const *)ds->own_class_names;
        for (size_t j = 0; j < m->n; j++) {
            double v = m->values[j];
            if (v < 0 || v >= k || v != (int)v || ds->own_class_names[(int)v]) continue;
            if (!(ds->own_class_names[(int)v] = strdup(m->keys[j]))) return ae_errf(err, AE_EINTERNAL, "out of memory");
        }
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
    char full[4096];
    int rc = AE_OK;
    (void)test; /* a CSV has no test set of its own: data.test_fraction splits one off */
    if (ae_schema_read(&csv_schema, d, &c, 0, err)) return err->code;
    ae_cfg *drop = c.drop, *na = c.na, *cat = c.cat;
    const char *dropna = c.dropna, *label = c.label;
    if (str_list(drop, "a column name in data.drop_columns", &s.drop, &o.n_drop, err)) goto out;
    o.drop_columns = s.drop;
    if (na) {
        if (str_list(na, "a text in data.na_values", &s.na, &o.n_na, err)) goto out;
        o.na_values = s.na;
    }
    o.dropna_any = !strcmp(dropna, "any");
    o.label = *label ? label : NULL;
    size_t nk = 0;
    for (size_t i = 0; i < ae_cfg_len(cat); i++) {
        ae_cfg *m = ae_cfg_value_at(cat, i), *l = ae_cfg_kind_of(m) == AE_CFG_MAP ? ae_cfg_lookup(m, "onehot") : NULL;
        nk += l ? ae_cfg_len(l) : ae_cfg_len(m);
    }
    s.keys = calloc(nk + 1, sizeof *s.keys);
    s.vals = calloc(nk + 1, sizeof *s.vals);
    s.maps = calloc(ae_cfg_len(cat) + 1, sizeof *s.maps);
    if (!s.keys || !s.vals || !s.maps) { rc = ae_errf(err, AE_EINTERNAL, "out of memory"); goto out; }
    size_t k = 0;
    for (size_t i = 0; i < ae_cfg_len(cat); i++) {
        ae_cfg *m = ae_cfg_value_at(cat, i);
        ae_csv_map *cm = &s.maps[o.n_maps++];
        cm->column = ae_cfg_key_at(cat, i);
        cm->keys = s.keys + k;
        cm->values = s.vals + k;
        if ((rc = read_category(m, cm, s.keys + k, s.vals + k, err))) goto out;
        k += cm->n;
    }
    o.maps = s.maps;
    if ((rc = read_delimiter(d, c.delimiter, &o, err))) goto out;
    if (!(rc = ae_data_resolve_key(d, "path", req->data_dir, full, sizeof full, err)) &&
        !(rc = ae_csv_load(full, &o, all, err)))
        rc = save_onehot(cat, &o, all, err);
    if (!rc) rc = label_names(&o, all, err);
out:
    csv_maps_free(&s);
    return rc ? rc : err->code;
}

const ae_source_ops ae_source_csv = {
    "csv", "one table, .csv or .csv.gz with a header row, with the tutorial's cleaning steps",
    "standard", AE_SOURCE_DEFAULT_SPLIT, csv_load, &csv_schema};

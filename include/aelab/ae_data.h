/* Datasets in memory (float32 rows + optional integer labels) and their loaders: CSV (.csv/.csv.gz)
 * with the tutorial's cleaning steps, IDX images (MNIST layout, .gz), scaling and a seeded split;
 * what a data source unit is (ae_source_ops) and the shared handling of the `data:` section. */
#ifndef AE_DATA_H
#define AE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "ae_config.h"
#include "ae_error.h"

typedef struct ae_dataset {
    size_t n;          /* rows (samples) */
    size_t d;          /* features per row = c*h*w */
    int c, h, w;       /* image shape; tables are c=1, h=1, w=d */
    float *x;          /* n*d, row-major, owned */
    int *label;        /* n class labels (>= 0) or NULL; owned */
    int n_classes;     /* 1 + max label, 0 when no labels: a bound on the labels, not the number
                          of classes (the probe counts the distinct labels) */
    char **columns;    /* d feature names (tables) or NULL; owned */
    char *label_name;  /* name of the label column or NULL */
    const char *const *class_names; /* names of label values 0..n_class_names-1 (static, not owned:
                                       fashion-mnist's; or own_class_names), or NULL */
    int n_class_names;
    char **own_class_names; /* n_class_names names (entries may be NULL) owned by the dataset (a csv
                               label's categories), class_names pointing here; or NULL */
    int binarize;      /* AE_BINARIZE_DYNAMIC: x holds probabilities in [0, 1] and each read through
                          ae_dataset_gather is a fresh Bernoulli draw (a static binarization writes its
                          bits into x once and leaves AE_BINARIZE_NONE here) */
    uint64_t draw_key; /* the draws' key (from the run's seed and the split) */
    uint64_t pass;     /* the draw that whole-set readers (evaluation) use: the caller sets it (the
                          run: the epoch just trained); the trainer draws pass = epoch itself */
} ae_dataset;

/* data.binarize: none (default) | static (binarized once at load, seeded) | dynamic (a new draw of
 * every row at every use: each training epoch and each evaluation pass). */
typedef enum { AE_BINARIZE_NONE, AE_BINARIZE_STATIC, AE_BINARIZE_DYNAMIC } ae_binarize_kind;

void ae_dataset_free(ae_dataset *ds); /* frees members, zeroes the struct */
/* The smallest and largest value of the rows (INFINITY and -INFINITY when there are none). */
void ae_dataset_range(const ae_dataset *ds, float *lo, float *hi);
/* Copies rows idx[0..k) of src into dst (dst gets its own buffers, same columns/shape and the same
 * binarization: kind, key and pass). */
int ae_dataset_take(const ae_dataset *src, const size_t *idx, size_t k, ae_dataset *dst, ae_err *err);

/* --- reading rows: the one place batches are gathered ------------------------------------------
 * Rows idx[0..k) of ds (idx NULL: rows first..first+k) into dst (k x d, row-major), through the
 * dataset's transform. Without one the rows are copied as they are (one memcpy per run of
 * consecutive rows). With a dynamic binarization each value is 1 with probability x, else 0: the
 * draw of (row r, column j) is a counter-based hash of (ds->draw_key, pass, r, j) (SplitMix64
 * finalizers; 32-bit uniform u, value = u < x), so it depends on nothing but those four numbers:
 * not on the batch, the order, the thread count or what was drawn before, which makes a resumed run
 * draw the same bits as an uninterrupted one. The trainer passes the epoch; evaluation ds->pass. */
void ae_dataset_gather(const ae_dataset *ds, const size_t *idx, size_t first, size_t k, uint64_t pass,
                       float *dst);
/* Replaces x by its draw at ds->pass and clears the binarization (nothing to do without one): the
 * rows then read the same way everywhere, ds->x included (a static binarization; the final outputs). */
void ae_dataset_fix_draw(ae_dataset *ds);
/* The key of a split's draws: seed mixed with the split's number (train 1, test 2, validation 3). */
uint64_t ae_data_draw_key(unsigned long seed, int split);

/* --- file search path ------------------------------------------------------------------------
 * Resolves `name`: an absolute path or one that exists relative to the working directory is used
 * as is; else data_dir (if not NULL), then each entry of the colon-separated env var AELAB_DATA.
 * out gets the path found. Not found: AE_EINPUT listing every place tried and saying how to set
 * --data-dir / AELAB_DATA. */
int ae_data_resolve(const char *name, const char *data_dir, char *out, size_t outlen, ae_err *err);
/* Resolves the file named by data.<key> (map d): an absolute path as is; a relative one in the
 * folder of the config file that set the key, then the working directory, then data_dir, then each
 * AELAB_DATA folder. Found next to the config or in the working directory, the key is rewritten to
 * the file's absolute path (so the resolved config runs again from any folder); found on the search
 * path, it is kept as written (it travels with the search path). out gets the path found. Not
 * found: AE_EINPUT at the key, listing every place tried, in order. */
int ae_data_resolve_key(ae_cfg *d, const char *key, const char *data_dir, char *out, size_t outlen, ae_err *err);

/* --- CSV ---------------------------------------------------------------------------------- */
typedef struct ae_csv_map {     /* categorical mapping for one column, e.g. RainToday: No->0, Yes->1 */
    const char *column;
    size_t n;
    const char *const *keys;
    const double *values;
    int onehot;                 /* one column per category, in the order of keys (values unused);
                                   n == 0: the sorted distinct texts of the kept rows (the columns
                                   come back named "column=text") */
} ae_csv_map;

typedef struct ae_csv_opts {
    const char *const *drop_columns; size_t n_drop;  /* dropped before anything else */
    int dropna_any;            /* drop rows with any NA/empty cell in kept columns (else: error) */
    const char *const *na_values; size_t n_na; /* cells that count as missing; default {"NA", ""} */
    const ae_csv_map *maps; size_t n_maps;
    const char *label;         /* column kept apart as the label (mapped through maps if listed,
                                  must be integral >= 0 afterwards); NULL = none */
    char delimiter;            /* default ',' when 0 */
    int delimiter_auto;        /* guess it from the header line (, ; tab |), said on stderr */
} ae_csv_opts;

/* Loads a CSV with a header row (.gz read through zlib, detected by magic bytes). Quoted fields
 * ("a,b", "" escapes) are supported. A na_values entry spelling a non-finite number also covers
 * that number's other spellings ("nan": NaN, -nan; "inf": inf, -inf, Infinity; "-inf": one sign);
 * unlisted, they are "not a number" errors. A one-hot cell outside its list is an error. Errors are AE_EINPUT "file:line: ..." for: missing/unreadable
 * file, empty file, ragged row (says how many fields vs header), non-numeric cell (names the column
 * and the text), unknown column in drop_columns/maps/label, NA-only column, no rows left.
 * The result is a table: c=1, h=1, w=d, columns set. */
int ae_csv_load(const char *path, const ae_csv_opts *opts, ae_dataset *out, ae_err *err);

/* --- IDX (MNIST / Fashion-MNIST layout) ------------------------------------------------------ */
/* Reads an IDX file of unsigned bytes (magic 0x00000801 labels, 0x00000803 images), plain or .gz.
 * Images are scaled by 1/255 to [0,1]. Checks magic, type, dims, and that the data length matches
 * (truncated file = AE_EINPUT naming the file, expected and actual bytes). limit > 0 keeps the first
 * `limit` items. */
int ae_idx_load(const char *images_path, const char *labels_path, size_t limit, ae_dataset *out,
                ae_err *err);
/* Finds a named IDX dataset ("fashion-mnist", "mnist") under data_dir / AELAB_DATA /
 * /usr/share/datasets/<name>, standard file names (train-images-idx3-ubyte[.gz], ...).
 * split: "train" or "test". */
int ae_idx_load_named(const char *name, const char *split, const char *data_dir, size_t limit,
                      ae_dataset *out, ae_err *err);
/* Both splits of a named dataset (limit / test_limit as above), which must hold images of one
 * shape: else AE_EINPUT naming both image files and both shapes (nothing is kept). */
int ae_idx_load_named_splits(const char *name, const char *data_dir, size_t limit,
                             size_t test_limit, ae_dataset *train, ae_dataset *test, ae_err *err);

/* --- preparation ---------------------------------------------------------------------------- */
typedef enum { AE_SCALE_NONE, AE_SCALE_STANDARD, AE_SCALE_MINMAX } ae_scaling;
typedef struct ae_scaler {
    ae_scaling kind;
    size_t d;
    double *shift, *scale; /* x' = (x - shift) / scale, per column; owned */
} ae_scaler;
/* Fits on `fit` (population std for standard; constant columns get scale 1), computed in double
 * over the rows; then applies to each of the datasets given (NULL entries skipped). Values are
 * computed in double and rounded to float once. */
int ae_scaler_fit(ae_scaler *s, ae_scaling kind, const ae_dataset *fit, ae_err *err);
/* One kind per column (kinds[0..fit->d)): each column's shift and scale as ae_scaler_fit of its kind
 * computes them (none: 0 and 1, the value unchanged). */
int ae_scaler_fit_columns(ae_scaler *s, const ae_scaling *kinds, const ae_dataset *fit, ae_err *err);
void ae_scaler_apply(const ae_scaler *s, ae_dataset *ds);
void ae_scaler_free(ae_scaler *s);
/* Global contrast normalization with the L1 norm, per row: x' = (x - mean) / (mean |x - mean|)
 * over the row's values, in double, rounded to float once (a constant row becomes zeros). */
void ae_gcn_l1(ae_dataset *ds);
/* data.scaling: gcn_l1: ae_gcn_l1 on every split, then min-max with the one smallest and largest
 * value of the normalized training rows (x' = (x - min) / (max - min); test rows may fall outside
 * [0, 1]), as Ruff et al.'s per-normal-class constants. test / val may be NULL. */
int ae_scale_gcn_l1(ae_dataset *train, ae_dataset *test, ae_dataset *val, ae_err *err);
/* Moves a seeded random `fraction` of all's rows into test, the rest into train (both new;
 * all is freed). The shuffle is a Fisher-Yates driven by a GSL mt19937 seeded with `seed`. */
int ae_dataset_split(ae_dataset *all, double fraction, unsigned long seed, ae_dataset *train,
                     ae_dataset *test, ae_err *err);
/* Moves k seeded-random rows of ds into held (new), keeping the rest in ds: the rows at positions
 * 0..k-1 of gsl_ran_shuffle over 0..n-1 (a GSL mt19937 seeded with `seed`), in ascending row order in
 * held, and the others in their order in ds. k >= ds->n: AE_EINPUT (nothing moved). */
int ae_dataset_hold_out(ae_dataset *ds, size_t k, unsigned long seed, ae_dataset *held, ae_err *err);

/* --- the one-class protocol (data.normal_labels, data.exclude_label) ------------------------
 * normal_labels: [k, ...] trains on those classes only (the training rows of other classes are
 * dropped; the test split keeps every row) and scores every other class as the anomaly;
 * exclude_label: k is its special case "every class but k is normal". */
typedef struct ae_oneclass {
    long *classes;        /* the classes named (owned); n == 0: no one-class split */
    size_t n;
    int excluded;         /* 1: classes are the anomalies (exclude_label), 0: the normal ones */
    const ae_cfg *where;  /* the key, for messages */
} ae_oneclass;
/* Reads data.normal_labels (a class or a list of distinct classes; only when given) and the value
 * of data.exclude_label when given (-1: none); both at once is AE_EINPUT at normal_labels. */
int ae_oneclass_read(ae_cfg *data, ae_oneclass *oc, ae_err *err);
/* 1 when rows of this class are anomalies. */
int ae_oneclass_is_anomaly(const ae_oneclass *oc, int label);
/* Keeps the training rows of normal classes (in their order); the test split is only checked.
 * AE_EINPUT at the key: no labels or no test split, a class named that no training row has, no
 * normal or no anomalous training row, (normal_labels) a test split without both kinds. n == 0:
 * nothing to do. */
int ae_oneclass_split(const ae_oneclass *oc, ae_dataset *train, const ae_dataset *test, ae_err *err);
void ae_oneclass_free(ae_oneclass *oc);

/* --- data sources (`data: {source: NAME, ...}`) ----------------------------------------------
 * A source only reads arrays: its load reads its own keys from the `data:` map through its schema
 * (ae_schema_read(ops->schema, data, &keys, 0, err): they are marked, so unknown keys are caught,
 * and the messages name their place) and fills train, and test when it has a test set of its own
 * (else leaves it empty), with labels and n_classes when it has labels. Errors name the file (and,
 * for a key, its place: ae_cfg_where). Everything else is shared by all sources (ae_data_schema,
 * read by ae_data_head and ae_data_from_config): the keys limit / test_limit (first rows kept),
 * test_fraction (a seeded split when the source read no test set), validation (a seeded hold-out
 * of the training rows), binarize, scaling, the check that both splits have one shape,
 * data.normal_labels (ae_oneclass_split before the validation hold-out and the scaling);
 * data.exclude_label is the run's (applied after the scaling, as it always was). Sources are registered units (ae_register_source, ae_registry.h). */
typedef struct ae_source_req {
    const char *data_dir;     /* --data-dir (NULL: none): pass to ae_data_resolve */
    size_t limit, test_limit; /* data.limit / data.test_limit when given (0 = all): a loader may
                                 stop reading there; the rows past them are dropped anyway */
} ae_source_req;

typedef int (*ae_source_load_fn)(ae_cfg *data, const ae_source_req *req, ae_dataset *train,
                                 ae_dataset *test, ae_err *err);

/* The shared keys a resolved config lists with their default when the user left them out (every
 * source accepts all of them). A new source says AE_SOURCE_DEFAULTS_ALL; csv lists test_fraction
 * only and idx limit / test_limit only, as they always did, so configs saved by older runs (and the
 * config hash of their checkpoints) stay the same. */
enum { AE_SOURCE_DEFAULT_SPLIT = 1, AE_SOURCE_DEFAULT_LIMITS = 2, AE_SOURCE_DEFAULTS_ALL = 3 };

typedef struct ae_source_ops {
    const char *name;     /* data.source */
    const char *help;     /* one line for `aelab list` (its keys: schema) */
    const char *scaling;  /* default data.scaling: "standard", "minmax" or "none" */
    unsigned defaults;    /* AE_SOURCE_DEFAULT_* */
    ae_source_load_fn load;
    const struct ae_schema *schema; /* its own keys (besides the shared ones), read by load, for
                                       `aelab list`, docs/config.md and completion; may be NULL */
} ae_source_ops;

/* The config's `data:` section → datasets read by `source` (the caller looked data.source up),
 * then cut (limit, test_limit), split (test_fraction), the validation rows held out of the training
 * rows (validation: a count, or a fraction < 1 of the training rows; ae_dataset_hold_out with
 * seed + 1), checked for one shape, scaled (fit on the training rows only) and binarized (values
 * outside [0, 1] are an error at data.binarize). val may be NULL when the caller takes no
 * validation split (then data.validation is an error). data NULL: "missing required section
 * 'data'". binarize and validation are read only when given (no default is written into the
 * resolved config, so older configs keep their hash). */
int ae_data_from_config(ae_cfg *data, const ae_source_ops *source, const char *data_dir,
                        unsigned long seed, ae_dataset *train, ae_dataset *test, ae_dataset *val,
                        ae_err *err);
/* data.exclude_label and data.source (one of `sources`, the registry's names: "did you mean"),
 * read through ae_data_schema before the source is looked up. data NULL: nothing read (*exclude -1,
 * *source NULL). */
int ae_data_head(ae_cfg *data, const char *const *sources, long *exclude_label, const char **source,
                 ae_err *err);
/* The keys every source shares in `data:`, in the order they are read (ae_data_head, then
 * ae_data_from_config); also `aelab list`, docs/config.md and completion. */
extern const struct ae_schema ae_data_schema;

#endif

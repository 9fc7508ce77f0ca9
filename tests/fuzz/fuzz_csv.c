/* Fuzz target for the CSV loader: the input is the file (plain or gzip), loaded with several option
 * sets (defaults; dropna + label; categorical maps; dropped columns, NA markers, ';'). Checks that
 * nothing crashes or leaks, that failures are AE_EINPUT with a message, and that a loaded table is
 * consistent (finite values, labels in range, names set). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "fuzz_util.h"

static void check_table(const ae_dataset *ds, const ae_csv_opts *o)
{
    FUZZ_ASSERT(ds->n > 0 && ds->d > 0 && ds->x && ds->columns, "empty result n=%zu d=%zu", ds->n, ds->d);
    FUZZ_ASSERT(ds->c == 1 && ds->h == 1 && (size_t)ds->w == ds->d, "shape");
    for (size_t j = 0; j < ds->d; j++) FUZZ_ASSERT(ds->columns[j] != NULL, "column %zu unnamed", j);
    for (size_t i = 0; i < ds->n * ds->d; i++) FUZZ_ASSERT(isfinite(ds->x[i]), "value %zu not finite", i);
    if (o->label) {
        FUZZ_ASSERT(ds->label && ds->label_name && ds->n_classes > 0, "label missing");
        for (size_t i = 0; i < ds->n; i++)
            FUZZ_ASSERT(ds->label[i] >= 0 && ds->label[i] < ds->n_classes, "label %d", ds->label[i]);
    } else {
        FUZZ_ASSERT(!ds->label && ds->n_classes == 0, "unexpected labels");
    }
}

static void load(const char *path, const ae_csv_opts *opts)
{
    static const ae_csv_opts defaults;
    const ae_csv_opts *o = opts ? opts : &defaults;
    ae_dataset ds;
    ae_err err = {0};
    int rc = ae_csv_load(path, opts, &ds, &err);
    if (rc == AE_OK) {
        check_table(&ds, o);
        /* the loaded table goes on through the scaler, as in a run */
        ae_scaler sc;
        if (ae_scaler_fit(&sc, AE_SCALE_STANDARD, &ds, &err) == AE_OK) {
            ae_scaler_apply(&sc, &ds);
            ae_scaler_free(&sc);
        }
        ae_dataset_free(&ds);
    } else {
        FUZZ_ASSERT(rc == AE_EINPUT && err.code == AE_EINPUT && err.msg[0], "rc %d '%s'", rc, err.msg);
        FUZZ_ASSERT(ds.x == NULL && ds.label == NULL && ds.columns == NULL, "partial result kept");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, data, size);
    static const char *const yn_keys[] = {"No", "Yes", "NA2"};
    static const double yn_vals[] = {0, 1, 2};
    static const char *const drops[] = {"a"}, *const nas[] = {"?", "NA", "nan"};
    ae_csv_map maps[2] = {{"y", 3, yn_keys, yn_vals, 0}, {"b", 2, yn_keys, yn_vals, 0}};

    ae_csv_opts o;
    memset(&o, 0, sizeof o);
    load(path, NULL);

    o.dropna_any = 1;
    o.label = "y";
    load(path, &o);

    memset(&o, 0, sizeof o);
    o.maps = maps;
    o.n_maps = 2;
    o.label = "y";
    load(path, &o);

    memset(&o, 0, sizeof o);
    o.drop_columns = drops;
    o.n_drop = 1;
    o.na_values = nas;
    o.n_na = 3;
    o.dropna_any = 1;
    o.delimiter = ';';
    load(path, &o);
    return 0;
}

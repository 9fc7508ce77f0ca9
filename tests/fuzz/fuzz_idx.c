/* Fuzz target for the IDX loader: the input is loaded as an image file (with and without a limit)
 * and as a label file beside a valid image file with the count the input's header claims (so
 * the label payload checks are reached). Checks no crash or leak, AE_EINPUT with a message on
 * failure, pixels in [0, 1] and labels below n_classes on success. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "fuzz_util.h"

static void check(int rc, const ae_err *err, const ae_dataset *ds, int labels)
{
    if (rc != AE_OK) {
        FUZZ_ASSERT(rc == AE_EINPUT && err->code == AE_EINPUT && err->msg[0], "rc %d '%s'", rc, err->msg);
        FUZZ_ASSERT(!ds->x && !ds->label, "partial result kept");
        return;
    }
    FUZZ_ASSERT(ds->n > 0 && ds->d == (size_t)ds->h * (size_t)ds->w && ds->c == 1, "shape");
    for (size_t i = 0; i < ds->n * ds->d; i++) FUZZ_ASSERT(ds->x[i] >= 0.0f && ds->x[i] <= 1.0f, "pixel");
    if (labels) {
        FUZZ_ASSERT(ds->label && ds->n_classes > 0 && ds->n_classes <= 256, "labels");
        for (size_t i = 0; i < ds->n; i++) FUZZ_ASSERT(ds->label[i] >= 0 && ds->label[i] < ds->n_classes, "label");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ae_dataset ds;
    ae_err err = {0};
    const char *in = fuzz_file(0, data, size);

    int rc = ae_idx_load(in, NULL, 0, &ds, &err);
    check(rc, &err, &ds, 0);
    ae_dataset_free(&ds);

    ae_err_clear(&err);
    rc = ae_idx_load(in, NULL, size ? 1 + data[size - 1] % 4 : 1, &ds, &err);
    check(rc, &err, &ds, 0);
    ae_dataset_free(&ds);

    /* as labels: an image file of `count` 1x1 images, count from the input's header */
    uint32_t count = 1;
    if (size >= 8) count = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
    if (count == 0 || count > 4096) count = 1;
    unsigned char *img = calloc(16 + count, 1);
    if (!img) return 0;
    const unsigned char hdr[16] = {0, 0, 8, 3, (unsigned char)(count >> 24), (unsigned char)(count >> 16),
                                   (unsigned char)(count >> 8), (unsigned char)count, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(img, hdr, 16);
    for (uint32_t i = 0; i < count; i++) img[16 + i] = (unsigned char)(i * 37);
    const char *ip = fuzz_file(1, img, 16 + count);
    free(img);
    ae_err_clear(&err);
    rc = ae_idx_load(ip, in, 0, &ds, &err);
    check(rc, &err, &ds, 1);
    ae_dataset_free(&ds);
    return 0;
}

/* Fuzz target for checkpoint loading: a tiny real trainer (4 features, dense 4-3-4, 10 samples,
 * 3 epochs of 3 batches) restores from the input. Input byte 0 holds flags: bit 0 recomputes every
 * section's CRC and bit 1 writes the expected config hash, so mutations get past those checks and
 * reach the size and consistency checks; the rest is the checkpoint file. A restored state must
 * train on to the end without crashing. Set AELAB_FUZZ_SEED_DIR to write seed checkpoints there. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ae_builtins.h"
#include "ae_checkpoint.h"
#include "ae_dnnl.h"
#include "ae_model.h"
#include "ae_optim.h"
#include "ae_rng.h"
#include "ae_train.h"
#include "fuzz_util.h"

#define EPOCHS 3

static const char yaml[] = "model:\n  encoder: [{type: dense, units: 3, activation: tanh}]\n"
                           "loss: mse\n";

static struct {
    ae_cfg *cfg;
    ae_dataset ds;
    ae_rng *rng;
    ae_registry *reg;  /* the built-in units (kept for the process) */
    ae_model *m;
    ae_optim opt;
    ae_trainer tr;
    uint64_t hash;
    float *val0;       /* initial parameters */
    void *rng0;        /* initial rng state */
    size_t rng_size;
} F;

static void setup(void)
{
    ae_err err = {0};
    ae_set_threads(1);
    F.cfg = ae_cfg_load_string(yaml, "fuzz.yaml", &err);
    F.ds.n = 10;
    F.ds.d = 4;
    F.ds.c = F.ds.h = 1;
    F.ds.w = 4;
    F.ds.x = malloc(F.ds.n * F.ds.d * sizeof *F.ds.x);
    F.rng = ae_rng_new(5);
    F.reg = ae_registry_new();
    if (!F.cfg || !F.ds.x || !F.rng || !F.reg || ae_register_builtins(F.reg)) abort();
    for (size_t i = 0; i < F.ds.n * F.ds.d; i++) F.ds.x[i] = (float)ae_rng_uniform(F.rng);
    if (ae_model_configure(F.cfg, F.reg, &F.ds, 1, F.rng, &F.m, &err)) {
        fprintf(stderr, "fuzz_checkpoint setup: %s\n", err.msg);
        abort();
    }
    ae_optim_cfg oc;
    ae_optim_defaults(&oc, AE_OPT_ADAM);
    ae_train_cfg tc = {.epochs = EPOCHS, .batch_size = 4, .shuffle = 1, .progress = 0};
    if (ae_optim_init(&F.opt, &oc, ae_model_params(F.m), &err) ||
        ae_trainer_init(&F.tr, F.m, &F.ds, &tc, &F.opt, F.rng, &err))
        abort();
    ae_params *ps = ae_model_params(F.m);
    F.val0 = malloc(ps->total * sizeof *F.val0);
    F.rng_size = ae_rng_state_size(F.rng);
    F.rng0 = malloc(F.rng_size);
    if (!F.val0 || !F.rng0) abort();
    memcpy(F.val0, ps->val, ps->total * sizeof *F.val0);
    ae_rng_get_state(F.rng, F.rng0);
    F.hash = ae_hash64("aelab fuzz configuration");
}

/* Back to the freshly initialised state, so every input runs from the same start. */
static void reset(void)
{
    ae_params *ps = ae_model_params(F.m);
    memcpy(ps->val, F.val0, ps->total * sizeof *F.val0);
    memset(F.opt.m, 0, ps->total * sizeof(float));
    memset(F.opt.v, 0, ps->total * sizeof(float));
    F.opt.step = 0;
    ae_rng_set_state(F.rng, F.rng0, F.rng_size);
    for (size_t i = 0; i < F.ds.n; i++) F.tr.order[i] = i;
    F.tr.epoch = 0;
    F.tr.next_batch = 0;
    memset(&F.tr.part, 0, sizeof F.tr.part);
}

static void write_seeds(const char *dir)
{
    double losses[EPOCHS] = {0};
    long nl = 0;
    ae_err err = {0};
    for (int k = 0; k <= EPOCHS; k++) {
        reset();
        F.tr.cfg.epochs = k;
        if (k && ae_train(&F.tr, NULL, NULL, &err)) abort();
        for (nl = 0; nl < k; nl++) losses[nl] = 0.5 + 0.1 * (double)nl;
        if (k == 1) F.tr.next_batch = 2; /* a mid-epoch state */
        char path[4200], tmp[4300];
        snprintf(path, sizeof path, "%s/seed-epoch%d.aelab", dir, k);
        F.tr.cfg.epochs = EPOCHS;
        snprintf(tmp, sizeof tmp, "%s.raw", path);
        if (ae_checkpoint_save(tmp, F.hash, &F.tr, losses, nl, &err)) abort();
        FILE *in = fopen(tmp, "rb"), *out = fopen(path, "wb");
        if (!in || !out) abort();
        fputc(3, out); /* flags: fix CRCs and hash */
        int ch;
        while ((ch = fgetc(in)) != EOF) fputc(ch, out);
        fclose(in);
        fclose(out);
        remove(tmp);
    }
    reset();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    if (getenv("AELAB_FUZZ_SEED_DIR")) write_seeds(getenv("AELAB_FUZZ_SEED_DIR"));
    return 0;
}

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Length of the section with `tag` (-1 when absent or incomplete). */
static long long section_len(const unsigned char *b, size_t n, uint32_t tag)
{
    size_t off = 24;
    for (int s = 0; s < 16 && off + 16 <= n; s++) {
        uint64_t len = rd64(b + off + 4);
        if (len > n - off - 16) return -1;
        if (rd32(b + off) == tag) return (long long)len;
        off += 16 + (size_t)len;
    }
    return -1;
}

/* Recomputes the CRC of each complete section (layout: 24-byte header, then
 * {u32 tag, u64 len, u32 crc, bytes}). */
static void fix_crcs(unsigned char *b, size_t n)
{
    size_t off = 24;
    for (int s = 0; s < 16 && off + 16 <= n; s++) {
        uint64_t len = rd64(b + off + 4);
        if (len > n - off - 16) return;
        uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + off + 16, (uInt)len);
        memcpy(b + off + 12, &c, 4);
        off += 16 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!F.m) setup();
    if (size < 1) return 0;
    unsigned flags = data[0];
    unsigned char *b = malloc(size);
    if (!b) return 0;
    size_t n = size - 1;
    memcpy(b, data + 1, n);
    if ((flags & 2) && n >= 20) memcpy(b + 12, &F.hash, 8);
    if (flags & 1) fix_crcs(b, n);
    const char *path = fuzz_file(0, b, n);
    long long losses_len = section_len(b, n, 7);
    free(b);

    reset();
    double losses[EPOCHS];
    long nl = -1;
    ae_err err = {0};
    int rc = ae_checkpoint_load(path, F.hash, &F.tr, losses, &nl, &err);
    if (rc != AE_OK) {
        FUZZ_ASSERT(rc == AE_EINPUT && err.code == AE_EINPUT && err.msg[0], "rc %d '%s'", rc, err.msg);
        return 0;
    }
    FUZZ_ASSERT(nl >= 0 && nl <= EPOCHS && nl == F.tr.epoch, "nlosses %ld epoch %ld", nl, F.tr.epoch);
    FUZZ_ASSERT(losses_len == nl * (long long)sizeof(double), "accepted %ld losses from a %lld-byte section",
                nl, losses_len);
    for (size_t i = 0; i < F.ds.n; i++) FUZZ_ASSERT(F.tr.order[i] < F.ds.n, "order");
    ae_err_clear(&err);
    rc = ae_train(&F.tr, NULL, NULL, &err); /* may diverge on garbage parameters: that is fine */
    FUZZ_ASSERT(rc == AE_OK || rc == AE_EDIVERGED, "train after restore: rc %d '%s'", rc, err.msg);
    return 0;
}

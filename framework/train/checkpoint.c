/* Checkpoint file: "AELABCKP" magic, u32 version, u64 config hash, u32 section count, then sections
 * {u32 tag, u64 byte length, u32 crc32, bytes}. Little-endian host layout (x86-64 and arm64). */
#include "ae_checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ae_config.h"
#include "ae_report.h"

static const char MAGIC[8] = {'A', 'E', 'L', 'A', 'B', 'C', 'K', 'P'};

enum { SEC_META = 1, SEC_PARAMS, SEC_OPT_M, SEC_OPT_V, SEC_RNG, SEC_ORDER, SEC_LOSSES, SEC_COUNT = 7 };
static const char *const sec_names[] = {"?", "meta", "params", "optimizer m", "optimizer v", "rng",
                                        "order", "losses"};

typedef struct meta {
    int64_t epoch, next_batch, opt_step, n_params, n_order, nlosses;
    ae_epoch_stats part;
} meta;

uint64_t ae_hash64(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint32_t crc(const void *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *b = p;
    while (n > 0) { /* crc32 takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return (uint32_t)c;
}

static int put(FILE *f, uint32_t tag, const void *p, uint64_t len)
{
    uint32_t c = crc(p, (size_t)len);
    return fwrite(&tag, 4, 1, f) == 1 && fwrite(&len, 8, 1, f) == 1 && fwrite(&c, 4, 1, f) == 1 &&
           (len == 0 || fwrite(p, 1, (size_t)len, f) == len);
}

int ae_checkpoint_save(const char *path, uint64_t hash, const ae_trainer *t, const double *losses,
                       long nlosses, ae_err *err)
{
    ae_afile af;
    if (ae_afile_open(&af, path, err)) return err->code;
    const ae_params *ps = t->opt->ps;
    meta m;
    memset(&m, 0, sizeof m);
    m.epoch = t->epoch;
    m.next_batch = t->next_batch;
    m.opt_step = t->opt->step;
    m.n_params = (int64_t)ps->total;
    m.n_order = (int64_t)t->data->n;
    m.nlosses = nlosses;
    m.part = t->part;
    size_t rs = ae_rng_state_size(t->rng);
    void *rng = malloc(rs);
    uint64_t *order = malloc((t->data->n ? t->data->n : 1) * sizeof *order);
    if (!rng || !order) {
        free(rng);
        free(order);
        ae_afile_abort(&af);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    ae_rng_get_state(t->rng, rng);
    for (size_t i = 0; i < t->data->n; i++) order[i] = t->order[i];
    uint32_t version = AE_CKPT_VERSION, nsec = SEC_COUNT;
    size_t pb = ps->total * sizeof(float);
    int ok = fwrite(MAGIC, 8, 1, af.f) == 1 && fwrite(&version, 4, 1, af.f) == 1 &&
             fwrite(&hash, 8, 1, af.f) == 1 && fwrite(&nsec, 4, 1, af.f) == 1 &&
             put(af.f, SEC_META, &m, sizeof m) && put(af.f, SEC_PARAMS, ps->val, pb) &&
             put(af.f, SEC_OPT_M, t->opt->m, pb) && put(af.f, SEC_OPT_V, t->opt->v, pb) &&
             put(af.f, SEC_RNG, rng, rs) && put(af.f, SEC_ORDER, order, t->data->n * sizeof *order) &&
             put(af.f, SEC_LOSSES, losses, (size_t)nlosses * sizeof *losses);
    int e = errno; /* why a write failed (disk full), before free can touch it */
    free(rng);
    free(order);
    errno = e;
    return ok ? ae_afile_commit(&af, err) : ae_afile_fail(&af, "write failed", err);
}

/* Reads one section into a malloc'd buffer after checking its tag, size and CRC. */
static int get(FILE *f, const char *path, uint32_t want, uint64_t max, void **out, uint64_t *len, ae_err *err)
{
    uint32_t tag, c;
    if (fread(&tag, 4, 1, f) != 1 || fread(len, 8, 1, f) != 1 || fread(&c, 4, 1, f) != 1)
        return ae_errf(err, AE_EINPUT, "checkpoint '%s' is truncated (in the %s section header)", path,
                       sec_names[want]);
    if (tag != want)
        return ae_errf(err, AE_EINPUT, "checkpoint '%s' is corrupted: found section %u where %s was expected",
                       path, tag, sec_names[want]);
    if (*len > max || (want != SEC_LOSSES && *len != max))
        return ae_errf(err, AE_EINPUT, "checkpoint '%s' does not fit this run: section %s has %llu bytes, "
                       "expected %llu", path, sec_names[want], (unsigned long long)*len,
                       (unsigned long long)max);
    *out = malloc(*len ? *len : 1);
    if (!*out) return ae_errf(err, AE_EINTERNAL, "out of memory");
    if (*len && fread(*out, 1, *len, f) != *len)
        return ae_errf(err, AE_EINPUT, "checkpoint '%s' is truncated (in the %s section)", path, sec_names[want]);
    if (crc(*out, *len) != c)
        return ae_errf(err, AE_EINPUT, "checkpoint '%s' is corrupted: CRC mismatch in the %s section", path,
                       sec_names[want]);
    return AE_OK;
}

int ae_checkpoint_load(const char *path, uint64_t hash, ae_trainer *t, double *losses, long *nlosses,
                       ae_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ae_errf(err, AE_EIO, "cannot open checkpoint '%s'", path);
    char magic[8];
    uint32_t version, nsec;
    uint64_t h, len;
    int rc = AE_OK;
    void *sec[SEC_COUNT + 1] = {0};
    ae_params *ps = t->opt->ps;
    size_t pb = ps->total * sizeof(float);
    size_t got = fread(magic, 1, 8, f);
    if (got < 8 && ferror(f))
        rc = ae_errf(err, AE_EIO, "cannot read checkpoint '%s': %s", path, strerror(errno));
    else if (got < 8 || memcmp(magic, MAGIC, 8))
        rc = ae_errf(err, AE_EINPUT, "'%s' is not an aelab checkpoint (%s)", path,
                     got == 0 ? "empty file" : "bad magic");
    else if (fread(&version, 4, 1, f) != 1 || fread(&h, 8, 1, f) != 1 || fread(&nsec, 4, 1, f) != 1)
        rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' is truncated (header)", path);
    else if (version != AE_CKPT_VERSION)
        rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' has format version %u; this aelab reads version %d",
                     path, version, AE_CKPT_VERSION);
    else if (h != hash)
        rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' was written by a different configuration; remove it "
                     "(or use another --out) to start over", path);
    else if (nsec != SEC_COUNT)
        rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' is corrupted (%u sections)", path, nsec);
    const uint64_t max[SEC_COUNT + 1] = {0, sizeof(meta), pb, pb, pb, ae_rng_state_size(t->rng),
                                         t->data->n * sizeof(uint64_t),
                                         (uint64_t)t->cfg.epochs * sizeof(double)};
    for (uint32_t s = 1; rc == AE_OK && s <= SEC_COUNT; s++) rc = get(f, path, s, max[s], &sec[s], &len, err);
    fclose(f);
    meta *m = sec[SEC_META];
    if (rc == AE_OK && (m->n_params != (int64_t)ps->total || m->n_order != (int64_t)t->data->n ||
                        m->epoch > t->cfg.epochs || m->nlosses != m->epoch || m->epoch < 0 ||
                        m->next_batch < 0))
        rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' does not fit this run (parameters %lld vs %zu, samples "
                     "%lld vs %zu, epoch %lld of %ld)", path, (long long)m->n_params, ps->total,
                     (long long)m->n_order, t->data->n, (long long)m->epoch, t->cfg.epochs);
    /* the rest is CRC-checked, so this only guards against a forged or buggy file: validate all of
     * it before changing the trainer, so a refused checkpoint leaves it as it was */
    if (rc == AE_OK) {
        size_t n = t->data->n, bs = t->cfg.batch_size > 0 && (size_t)t->cfg.batch_size < n
                                        ? (size_t)t->cfg.batch_size : n;
        int64_t nb = bs ? (int64_t)((n + bs - 1) / bs) : 0;
        int bad = len != (uint64_t)m->nlosses * sizeof(double) || m->opt_step < 0 ||
                  m->next_batch >= (nb > 0 ? nb : 1) || (m->epoch == t->cfg.epochs && m->next_batch) ||
                  m->part.nterms < 0 || m->part.nterms > AE_MAX_TERMS;
        for (int q = 0; !bad && q < m->part.nterms; q++)
            bad = !memchr(m->part.term_name[q], '\0', sizeof m->part.term_name[q]);
        const uint64_t *order = sec[SEC_ORDER];
        for (size_t i = 0; !bad && i < n; i++) bad = order[i] >= n;
        if (bad) rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' is corrupted (inconsistent state)", path);
    }
    if (rc == AE_OK && ae_rng_set_state(t->rng, sec[SEC_RNG], (size_t)max[SEC_RNG]) != AE_OK)
        rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' is corrupted (rng state)", path);
    if (rc == AE_OK) {
        const uint64_t *order = sec[SEC_ORDER];
        for (size_t i = 0; i < t->data->n; i++) t->order[i] = (size_t)order[i];
        memcpy(ps->val, sec[SEC_PARAMS], pb);
        memcpy(t->opt->m, sec[SEC_OPT_M], pb);
        memcpy(t->opt->v, sec[SEC_OPT_V], pb);
        memcpy(losses, sec[SEC_LOSSES], (size_t)m->nlosses * sizeof *losses);
        *nlosses = (long)m->nlosses;
        t->epoch = (long)m->epoch;
        t->next_batch = (long)m->next_batch;
        t->part = m->part;
        t->opt->step = (long)m->opt_step;
    }
    for (int s = 0; s <= SEC_COUNT; s++) free(sec[s]);
    return rc;
}

/* The config hash a checkpoint must match: everything but outputs and the epoch count / progress
 * (so a finished run can be extended). */
uint64_t ae_config_hash(const ae_cfg *root)
{
    ae_cfg *c = ae_cfg_clone(root);
    if (!c) return 0;
    ae_cfg_free(ae_cfg_lookup(c, "outputs"));
    ae_cfg_free(ae_cfg_lookup(c, "train.epochs"));
    ae_cfg_free(ae_cfg_lookup(c, "train.progress"));
    ae_cfg_free(ae_cfg_lookup(c, "train.checkpoint_every"));
    char *text = ae_cfg_emit_canonical(c);
    uint64_t h = text ? ae_hash64(text) : 0;
    free(text);
    ae_cfg_free(c);
    return h;
}


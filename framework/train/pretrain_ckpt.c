/* The pretraining stage's checkpoint, pretrain.aelab: "AELABPRE" magic, u32 version, u64 config hash,
 * a meta record (position, sizes), the model's parameters, the current layer's values and increments,
 * the rng state, then a zlib CRC-32 of everything after the hash; written atomically. And the
 * truncation of its log (pretrain.jsonl) on resume. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ae_report.h"
#include "pretrain_internal.h"

static const char MAGIC[8] = {'A', 'E', 'L', 'A', 'B', 'P', 'R', 'E'};
#define PT_CKPT_VERSION 1

typedef struct pt_meta {
    int64_t layer, epoch, nlayers, nparams, nvals, nrng;
} pt_meta;

static uLong crc_add(uLong c, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return c;
}

int pt_ckpt_save(const char *path, uint64_t hash, pt_pos pos, const ae_params *ps, const pt_buf *b,
                 const ae_rng *rng, ae_err *err)
{
    pt_meta m = {pos.layer, pos.epoch, 0, (int64_t)ps->total, b ? (int64_t)(2 * b->n) : 0,
                 (int64_t)ae_rng_state_size(rng)};
    void *rs = malloc((size_t)m.nrng);
    if (!rs) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_rng_get_state(rng, rs);
    uint32_t version = PT_CKPT_VERSION;
    uLong c = crc_add(crc32(0L, Z_NULL, 0), &m, sizeof m);
    c = crc_add(c, ps->val, ps->total * sizeof(float));
    if (b) c = crc_add(c, b->all, 2 * b->n * sizeof(float));
    c = crc_add(c, rs, (size_t)m.nrng);
    uint32_t crc = (uint32_t)c;
    ae_afile af;
    if (ae_afile_open(&af, path, err)) {
        free(rs);
        return err->code;
    }
    int ok = fwrite(MAGIC, 8, 1, af.f) == 1 && fwrite(&version, 4, 1, af.f) == 1 && fwrite(&hash, 8, 1, af.f) == 1 &&
             fwrite(&m, sizeof m, 1, af.f) == 1 && fwrite(ps->val, sizeof(float), ps->total, af.f) == ps->total &&
             (!b || fwrite(b->all, sizeof(float), 2 * b->n, af.f) == 2 * b->n) &&
             fwrite(rs, 1, (size_t)m.nrng, af.f) == (size_t)m.nrng && fwrite(&crc, 4, 1, af.f) == 1;
    int e = errno;
    free(rs);
    errno = e;
    return ok ? ae_afile_commit(&af, err) : ae_afile_fail(&af, "write failed", err);
}

/* The header and meta record checked against this run. */
static int read_head(FILE *f, const char *path, uint64_t hash, const ae_pretrain *p, const ae_params *ps,
                     const ae_rng *rng, pt_meta *m, ae_err *err)
{
    char magic[8];
    uint32_t version;
    uint64_t h;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8))
        return ae_errf(err, AE_EINPUT, "'%s' is not an aelab pretraining checkpoint", path);
    if (fread(&version, 4, 1, f) != 1 || fread(&h, 8, 1, f) != 1 || fread(m, sizeof *m, 1, f) != 1)
        return ae_errf(err, AE_EINPUT, "pretraining checkpoint '%s' is truncated (header)", path);
    if (version != PT_CKPT_VERSION)
        return ae_errf(err, AE_EINPUT, "pretraining checkpoint '%s' has format version %u; this aelab reads "
                       "version %d", path, version, PT_CKPT_VERSION);
    if (h != hash)
        return ae_errf(err, AE_EINPUT, "pretraining checkpoint '%s' was written by a different configuration; "
                       "remove it (or use another --out) to start over", path);
    if (m->layer < 0 || m->layer > p->n || m->epoch < 0 || m->epoch >= p->cfg.epochs ||
        m->nparams != (int64_t)ps->total || m->nvals < 0 || m->nvals > (int64_t)1 << 40 ||
        m->nrng != (int64_t)ae_rng_state_size(rng) || (m->epoch > 0) != (m->nvals > 0))
        return ae_errf(err, AE_EINPUT, "pretraining checkpoint '%s' does not fit this run (layer %lld of %d, "
                       "epoch %lld of %ld, %lld parameters vs %zu)", path, (long long)m->layer, p->n,
                       (long long)m->epoch, p->cfg.epochs, (long long)m->nparams, ps->total);
    return AE_OK;
}

int pt_ckpt_load(const char *path, uint64_t hash, const ae_pretrain *p, pt_pos *pos, ae_params *ps, float **vals,
                 size_t *nvals, ae_rng *rng, int *found, ae_err *err)
{
    *found = 0;
    *vals = NULL;
    *nvals = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? AE_OK : ae_errf(err, AE_EIO, "cannot open '%s': %s", path, strerror(errno));
    pt_meta m;
    int rc = read_head(f, path, hash, p, ps, rng, &m, err);
    float *pv = NULL, *lv = NULL;
    void *rs = NULL;
    uint32_t crc = 0;
    if (rc == AE_OK) {
        pv = malloc(ps->total * sizeof(float) + 1);
        lv = malloc((size_t)m.nvals * sizeof(float) + 1);
        rs = malloc((size_t)m.nrng + 1);
        if (!pv || !lv || !rs) rc = ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    if (rc == AE_OK && (fread(pv, sizeof(float), ps->total, f) != ps->total ||
                        fread(lv, sizeof(float), (size_t)m.nvals, f) != (size_t)m.nvals ||
                        fread(rs, 1, (size_t)m.nrng, f) != (size_t)m.nrng || fread(&crc, 4, 1, f) != 1))
        rc = ae_errf(err, AE_EINPUT, "pretraining checkpoint '%s' is truncated", path);
    if (rc == AE_OK) {
        uLong c = crc_add(crc32(0L, Z_NULL, 0), &m, sizeof m);
        c = crc_add(c, pv, ps->total * sizeof(float));
        c = crc_add(crc_add(c, lv, (size_t)m.nvals * sizeof(float)), rs, (size_t)m.nrng);
        if ((uint32_t)c != crc) rc = ae_errf(err, AE_EINPUT, "pretraining checkpoint '%s' is corrupted: CRC mismatch", path);
    }
    if (rc == AE_OK && ae_rng_set_state(rng, rs, (size_t)m.nrng) != AE_OK)
        rc = ae_errf(err, AE_EINPUT, "pretraining checkpoint '%s' is corrupted (rng state)", path);
    fclose(f);
    if (rc == AE_OK) {
        memcpy(ps->val, pv, ps->total * sizeof(float));
        *pos = (pt_pos){(long)m.layer, (long)m.epoch};
        *vals = lv, lv = NULL;
        *nvals = (size_t)m.nvals;
        *found = 1;
    }
    free(pv);
    free(lv);
    free(rs);
    return rc;
}

/* Reading rows out of a dataset: the one gather every batch goes through (training and evaluation),
 * with the dataset's dynamic binarization as counter-based Bernoulli draws keyed by (key, pass, row). */
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_par.h"

/* SplitMix64's finalizer: a bijection of 64-bit words with full avalanche. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define GOLDEN 0x9e3779b97f4a7c15ULL

uint64_t ae_data_draw_key(unsigned long seed, int split)
{
    return mix64(mix64((uint64_t)seed + GOLDEN) ^ (uint64_t)split);
}

/* One row's values: value j is 1 when the j-th 32-bit word of the row's SplitMix64 stream (state
 * mix(key, pass, row), two words per output) is below x * 2^32 (compared as w < x·2^32, exact in
 * double like w·2^-32 < x: the same draws; a loop over word pairs that vectorises). x may be out. */
static void draw_row(const float *x, size_t d, uint64_t key, uint64_t pass, uint64_t row, float *out)
{
    const uint64_t s = mix64(mix64(key ^ mix64(pass + GOLDEN)) ^ (row * GOLDEN + 1));
    const double scale = 4294967296.0;
    const size_t pairs = d / 2;
    for (size_t q = 0; q < pairs; q++) {
        uint64_t h = mix64(s + (uint64_t)(q + 1) * GOLDEN);
        float a = (double)(uint32_t)h < (double)x[2 * q] * scale ? 1.0f : 0.0f;
        float b = (double)(uint32_t)(h >> 32) < (double)x[2 * q + 1] * scale ? 1.0f : 0.0f;
        out[2 * q] = a;
        out[2 * q + 1] = b;
    }
    if (d % 2) {
        uint64_t h = mix64(s + (uint64_t)(pairs + 1) * GOLDEN);
        out[d - 1] = (double)(uint32_t)h < (double)x[d - 1] * scale ? 1.0f : 0.0f;
    }
}

typedef struct gather_job {
    const ae_dataset *ds;
    const size_t *idx;
    size_t first;
    uint64_t pass;
    float *dst;
    size_t k; /* rows */
} gather_job;

/* Rows read ahead of the one being copied or drawn: a shuffled batch's rows lie anywhere in the
 * dataset (W2: 128 random rows of 3 KB out of 188 MB), and fetching the next rows' lines while one
 * row is copied overlaps their memory latency (the rows themselves are read as before). */
#define AHEAD 2

static void fetch_row(const float *row, size_t d)
{
    for (size_t o = 0; o < d * sizeof *row; o += 64) __builtin_prefetch((const char *)row + o, 0, 0);
}

/* Rows [lo, hi) of the batch: copied one memcpy per run of consecutive indices (all of them when the
 * order is the identity), or drawn row by row. */
static void gather_chunk(size_t lo, size_t hi, void *ctx)
{
    const gather_job *j = ctx;
    const size_t d = j->ds->d;
    if (j->ds->binarize == AE_BINARIZE_DYNAMIC) {
        for (size_t i = lo; i < hi; i++) {
            size_t r = j->idx ? j->idx[i] : j->first + i;
            if (j->idx && i + AHEAD < hi) fetch_row(j->ds->x + j->idx[i + AHEAD] * d, d);
            draw_row(j->ds->x + r * d, d, j->ds->draw_key, j->pass, r, j->dst + i * d);
        }
        return;
    }
    if (!j->idx) {
        memcpy(j->dst + lo * d, j->ds->x + (j->first + lo) * d, (hi - lo) * d * sizeof *j->dst);
        return;
    }
    for (size_t i = lo; i < lo + AHEAD && i < hi; i++) fetch_row(j->ds->x + j->idx[i] * d, d);
    for (size_t i = lo, run; i < hi; i += run) {
        for (run = 1; i + run < hi && j->idx[i + run] == j->idx[i] + run; run++) {}
        for (size_t a = i + AHEAD; a < i + AHEAD + run && a < hi; a++) fetch_row(j->ds->x + j->idx[a] * d, d);
        memcpy(j->dst + i * d, j->ds->x + j->idx[i] * d, run * d * sizeof *j->dst);
    }
}

/* A batch of at least this many values is gathered by the threads in GATHER_BLOCKS row blocks: its
 * rows lie anywhere in the dataset and each thread waits on its own rows' memory, and the region
 * wakes the threads that the step's first parallel region (a split chain's forward) then finds
 * awake (W4, W2: 128 x 784). Each value is copied or drawn alike whichever thread runs its block. */
#define GATHER_TEAM_MIN 65536
#define GATHER_BLOCKS 4

static void gather_block(size_t b, int t, void *ctx)
{
    (void)t;
    const gather_job *j = ctx;
    gather_chunk(j->k * b / GATHER_BLOCKS, j->k * (b + 1) / GATHER_BLOCKS, ctx);
}

void ae_dataset_gather(const ae_dataset *ds, const size_t *idx, size_t first, size_t k, uint64_t pass,
                       float *dst)
{
    gather_job j = {ds, idx, first, pass, dst, k};
    if (k * ds->d >= GATHER_TEAM_MIN && k >= GATHER_BLOCKS) ae_par_blocks(GATHER_BLOCKS, 0, gather_block, &j);
    else ae_par_for(k, gather_chunk, &j);
}

typedef struct fix_job {
    ae_dataset *ds;
} fix_job;

static void fix_chunk(size_t lo, size_t hi, void *ctx)
{
    ae_dataset *ds = ((fix_job *)ctx)->ds;
    for (size_t r = lo; r < hi; r++) /* in place: each value is read before it is written */
        draw_row(ds->x + r * ds->d, ds->d, ds->draw_key, ds->pass, r, ds->x + r * ds->d);
}

void ae_dataset_fix_draw(ae_dataset *ds)
{
    if (ds->binarize != AE_BINARIZE_DYNAMIC) return;
    fix_job j = {ds};
    ae_par_for(ds->n, fix_chunk, &j);
    ds->binarize = AE_BINARIZE_NONE;
}

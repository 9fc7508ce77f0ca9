/* OpenMP chunking for light loops; see ae_par.h. */
#include "ae_par.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_CHUNKS 1024
#define SUM_CHUNK 8192 /* elements per chunk of a parallel sum, at least */

static int team_size(void)
{
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

void ae_par_for(size_t n, ae_chunk_fn f, void *ctx)
{
#ifdef _OPENMP
    if (n >= AE_PAR_TEAM_MIN && team_size() > 1) {
#pragma omp parallel
        {
            size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
            f(n * t / nt, n * (t + 1) / nt, ctx);
        }
        return;
    }
#endif
    f(0, n, ctx);
}

double ae_par_sum(size_t n, ae_chunk_sum_fn f, void *ctx) { return ae_par_sum_w(n, 1.0, f, ctx); }

size_t ae_par_sum_chunks(size_t n)
{
    size_t nc = n < AE_PAR_MIN ? 1 : n / SUM_CHUNK;
    return nc > MAX_CHUNKS ? MAX_CHUNKS : nc < 2 ? 1 : nc;
}

double ae_par_sum_w(size_t n, double weight, ae_chunk_sum_fn f, void *ctx)
{
    size_t nc = ae_par_sum_chunks(n);
    if (nc < 2) return f(0, n, ctx);
    double part[MAX_CHUNKS];
#ifdef _OPENMP
    if ((double)n * weight >= AE_PAR_TEAM_MIN && team_size() > 1) { /* else no region (not even a team of 1) */
        long ncl = (long)nc;
#pragma omp parallel for schedule(static)
        for (long c = 0; c < ncl; c++) part[c] = f(n * (size_t)c / nc, n * (size_t)(c + 1) / nc, ctx);
    } else
#endif
        for (size_t c = 0; c < nc; c++) part[c] = f(n * c / nc, n * (c + 1) / nc, ctx);
    double s = 0;
    for (size_t c = 0; c < nc; c++) s += part[c];
    return s;
}

int ae_par_threads(void) { return team_size(); }

int ae_par_limit(int threads)
{
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    if (threads > 0 && threads < saved) {
        omp_set_num_threads(threads);
        return saved;
    }
#else
    (void)threads;
#endif
    return 0;
}

void ae_par_restore(int saved)
{
#ifdef _OPENMP
    if (saved > 0) omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}

void ae_par_blocks(size_t nblocks, int max_threads, ae_block_fn f, void *ctx)
{
#ifdef _OPENMP
    int nt = team_size();
    if (max_threads > 0 && nt > max_threads) nt = max_threads;
    if (nblocks > 1 && nt > 1) {
        long nb = (long)nblocks;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (long b = 0; b < nb; b++) f((size_t)b, omp_get_thread_num(), ctx);
        return;
    }
#else
    (void)max_threads;
#endif
    for (size_t b = 0; b < nblocks; b++) f(b, 0, ctx);
}

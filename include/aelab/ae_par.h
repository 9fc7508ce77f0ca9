/* Threading for aelab's own light loops (OpenMP, the same pool oneDNN uses): a parallel for over
 * contiguous chunks, a sum whose partition depends only on n (so results are bit-identical for any
 * thread count), and a loop over independent blocks that each run on one thread. */
#ifndef AE_PAR_H
#define AE_PAR_H

#include <stddef.h>

/* Work on [lo, hi). */
typedef void (*ae_chunk_fn)(size_t lo, size_t hi, void *ctx);
typedef double (*ae_chunk_sum_fn)(size_t lo, size_t hi, void *ctx);
/* Work on block b, run by thread `thread` (0 <= thread < the cap given to ae_par_blocks). */
typedef void (*ae_block_fn)(size_t b, int thread, void *ctx);

/* Below this many elements a loop runs on the calling thread. */
#define AE_PAR_MIN 32768

/* f over [0, n) in one chunk per thread; on the calling thread when n < AE_PAR_MIN or when already
 * inside a parallel region (no nested teams). */
void ae_par_for(size_t n, ae_chunk_fn f, void *ctx);
/* Σ f over [0, n): below AE_PAR_MIN one call, else fixed chunks (of 8192 elements or more, at most
 * 1024 of them) summed by f in parallel, then added in chunk order: the partition depends on n alone,
 * so the result does not depend on the thread count. */
double ae_par_sum(size_t n, ae_chunk_sum_fn f, void *ctx);
/* Threads a parallel region started here would have (1 inside one): the cap to size per-thread
 * scratch for ae_par_blocks. */
int ae_par_threads(void);
/* f(b) for b in [0, nblocks), each block on one thread, handed out dynamically (a thread slowed by
 * other work on the machine takes fewer blocks), on at most max_threads threads. A single block runs
 * on the calling thread, where oneDNN may still use every thread; inside the blocks oneDNN runs
 * single-threaded. */
void ae_par_blocks(size_t nblocks, int max_threads, ae_block_fn f, void *ctx);

#endif

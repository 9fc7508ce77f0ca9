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

/* Below this many elements a sum is one chunk (the partition of ae_par_sum). */
#define AE_PAR_MIN 32768
/* Below this many elements (or floating-point operations of one product) work stays on one thread:
 * opening a parallel region costs ~30 µs of futex wake-up and join under the passive wait policy
 * (bench/analysis_issue17.md), about what 30k elements of a streaming loop or 4 MFLOP of a small
 * matmul take on one core; twice that is the least work that gains from a second thread. */
#define AE_PAR_TEAM_MIN 262144
#define AE_PAR_TEAM_FLOPS 8e6

/* f over [0, n) in one chunk per thread; on the calling thread when n < AE_PAR_TEAM_MIN or when
 * already inside a parallel region (no nested teams). */
void ae_par_for(size_t n, ae_chunk_fn f, void *ctx);
/* Σ f over [0, n): below AE_PAR_MIN one call, else fixed chunks (of 8192 elements or more, at most
 * 1024 of them) summed by f (in parallel from AE_PAR_TEAM_MIN elements on), then added in chunk
 * order: the partition depends on n alone, so the result does not depend on the thread count. */
double ae_par_sum(size_t n, ae_chunk_sum_fn f, void *ctx);
/* The same sum (the same partition, the same bits) for loops that do `weight` times the work per
 * element of a one-array streaming loop (an optimizer update reads and writes 4 arrays: 4): in
 * parallel from n·weight >= AE_PAR_TEAM_MIN on. */
double ae_par_sum_w(size_t n, double weight, ae_chunk_sum_fn f, void *ctx);
/* The chunks of that partition of [0, n): chunk c is [n·c/nc, n·(c+1)/nc) for the nc returned (1: one
 * call over [0, n)); the sum is 0 + part[0] + part[1] + ... in chunk order. For a caller that computes
 * some chunks' parts elsewhere (ops_loss.c: in a dense chain's row blocks) and must add them alike. */
size_t ae_par_sum_chunks(size_t n);
/* Runs what follows (oneDNN primitives created or executed, aelab's loops) on at most `threads`
 * threads (0: no limit) until ae_par_restore(the value returned): sets OpenMP's thread-count ICV of
 * the calling thread, which oneDNN reads when it creates and executes a primitive. */
int ae_par_limit(int threads);
void ae_par_restore(int saved);
/* Threads a parallel region started here would have (1 inside one): the cap to size per-thread
 * scratch for ae_par_blocks. */
int ae_par_threads(void);
/* f(b) for b in [0, nblocks), each block on one thread, handed out dynamically (a thread slowed by
 * other work on the machine takes fewer blocks), on at most max_threads threads. A single block runs
 * on the calling thread, where oneDNN may still use every thread; inside the blocks oneDNN runs
 * single-threaded. */
void ae_par_blocks(size_t nblocks, int max_threads, ae_block_fn f, void *ctx);

#endif

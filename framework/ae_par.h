/* Threading for aelab's own light loops (OpenMP, the same pool oneDNN uses): a parallel for over
 * contiguous chunks, and a sum whose partition depends only on n and the thread count, so the same
 * thread count always gives bit-identical results. */
#ifndef AE_PAR_H
#define AE_PAR_H

#include <stddef.h>

/* Work on [lo, hi). */
typedef void (*ae_chunk_fn)(size_t lo, size_t hi, void *ctx);
typedef double (*ae_chunk_sum_fn)(size_t lo, size_t hi, void *ctx);

/* Below this many elements a loop runs on the calling thread. */
#define AE_PAR_MIN 32768

void ae_par_for(size_t n, ae_chunk_fn f, void *ctx);
double ae_par_sum(size_t n, ae_chunk_sum_fn f, void *ctx);

#endif

/* OpenMP chunking for light loops; see ae_par.h. */
#include "ae_par.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_THREADS 256

void ae_par_for(size_t n, ae_chunk_fn f, void *ctx)
{
#ifdef _OPENMP
    if (n >= AE_PAR_MIN && omp_get_max_threads() > 1) {
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

double ae_par_sum(size_t n, ae_chunk_sum_fn f, void *ctx)
{
#ifdef _OPENMP
    int req = omp_get_max_threads();
    if (n >= AE_PAR_MIN && req > 1) {
        double part[MAX_THREADS];
        int used = 1;
#pragma omp parallel num_threads(req < MAX_THREADS ? req : MAX_THREADS)
        {
            size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
            part[t] = f(n * t / nt, n * (t + 1) / nt, ctx);
#pragma omp single
            used = (int)nt;
        }
        double s = 0;
        for (int t = 0; t < used; t++) s += part[t];
        return s;
    }
#endif
    return f(0, n, ctx);
}

/* What a step costs when weight lines move between the two cores (issue 17): W2's forward products
 * (784-512-128-32-128-512-784, batch 2 x R) and a light update of every weight, on one thread, on two
 * threads by row blocks (each reads all of W; each updates half of it, as dW slices with a fused Adam
 * do) and on two by output units (each reads and updates only its own rows of W). Prints ms per step.
 * Usage: cross_core [R=64] [steps=300]. bench/analysis_issue17_units.md. */
#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

#define L 6
static const int dims[L + 1] = {784, 512, 128, 32, 128, 512, 784};
static float *W[L], *blk[2][L + 1], *all[L + 1];
static int R;

/* Y = X·Wᵀ layer by layer over R rows of block h. */
static void rows_fwd(int h)
{
    for (int l = 0; l < L; l++)
        dnnl_sgemm('N', 'T', R, dims[l + 1], dims[l], 1.f, blk[h][l], dims[l], W[l], dims[l], 0.f, blk[h][l + 1],
                   dims[l + 1]);
}

/* Part h of every layer's units over all 2R rows, a barrier between layers. */
static void units_fwd(int h, int parts)
{
    for (int l = 0; l < L; l++) {
        const int m = dims[l + 1], k = dims[l], c0 = m * h / parts / 16 * 16, c1 = h == parts - 1 ? m : m * (h + 1) / parts / 16 * 16;
        dnnl_sgemm('N', 'T', 2 * R, c1 - c0, k, 1.f, all[l], k, W[l] + (long)c0 * k, k, 0.f, all[l + 1] + c0, m);
#pragma omp barrier
    }
}

/* Part h of every W (its rows, as the units or the dW slices own them): w = 0.999 w + 1e-6. */
static void update(int h, int parts)
{
    for (int l = 0; l < L; l++) {
        const long m = dims[l + 1], k = dims[l], r0 = m * h / parts, r1 = m * (h + 1) / parts;
        float *w = W[l];
        for (long i = r0 * k; i < r1 * k; i++) w[i] = w[i] * 0.999f + 1e-6f;
    }
}

int main(int argc, char **argv)
{
    R = argc > 1 ? atoi(argv[1]) : 64;
    const int steps = argc > 2 ? atoi(argv[2]) : 300;
    for (int l = 0; l < L; l++) W[l] = bench_filled((long)dims[l] * dims[l + 1], 13);
    for (int l = 0; l <= L; l++) {
        for (int h = 0; h < 2; h++) blk[h][l] = bench_filled((long)R * dims[l], 11);
        all[l] = bench_filled(2L * R * dims[l], 11);
    }
    static const char *name[3] = {"1 thread", "2 threads, row blocks", "2 threads, units"};
    for (int mode = 0; mode < 3; mode++) {
        double best_f = 1e30, best_u = 1e30;
        for (int round = 0; round < 5; round++) {
            double tf = 0, tu = 0;
            for (int s = 0; s < steps; s++) {
                double t0 = bench_now();
                if (mode == 0) rows_fwd(0), rows_fwd(1);
#pragma omp parallel num_threads(2) if (mode > 0)
                if (mode > 0) {
                    if (mode == 1) rows_fwd(omp_get_thread_num());
                    else units_fwd(omp_get_thread_num(), 2);
                }
                double t1 = bench_now();
#pragma omp parallel num_threads(mode ? 2 : 1)
                update(omp_get_thread_num(), omp_get_num_threads());
                tf += t1 - t0, tu += bench_now() - t1;
            }
            if (tf < best_f) best_f = tf;
            if (tu < best_u) best_u = tu;
        }
        printf("%-22s forward %.3f ms  update %.3f ms  (best of 5 x %d steps)\n", name[mode], 1e3 * best_f / steps,
               1e3 * best_u / steps, steps);
    }
    return 0;
}

/* This machine's measured FP32 GEMM peak, for the benchmark's "of peak" column: oneDNN's sgemm on
 * 2048x2048x2048 (compute-bound), best of 7 runs, at 1 and at N threads; also the instruction set
 * oneDNN dispatches to and the round trip of a cache line between two threads. Prints one line:
 * `isa NAME 1 GF1 N GFN rtt NS`; `gemm_peak rtt` prints `rtt NS` alone. */
#include <dnnl.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "other";
    }
}

static double peak(int threads, const float *a, const float *b, float *c, int n)
{
    omp_set_num_threads(threads);
    double best = 1e30;
    for (int r = 0; r < 8; r++) { /* the first run JIT-compiles and touches the pages */
        double t = bench_now();
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = bench_now() - t;
        if (r && t < best) best = t;
    }
    return 2.0 * (double)n * (double)n * (double)n / best / 1e9;
}

/* Median over 9 runs of the mean round trip (ns) of a cache line between two OpenMP threads, each
 * writing a counter the other waits for. On a VM the host may place the two vCPUs on one CCD
 * (~130-180 ns here) or far apart (~400-440 ns), and a step that hands data between its threads
 * scales with it, while the compute-bound sgemm does not (bench/results.md). */
static double round_trip_ns(void)
{
    enum { ROUNDS = 20000, RUNS = 9 };
    static _Alignas(64) atomic_int flag;
    double ns[RUNS];
    for (int r = 0; r < RUNS; r++) {
        atomic_store(&flag, 0);
        double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(2)
        {
            const int me = omp_get_thread_num();
            if (omp_get_num_threads() == 2) {
#pragma omp barrier
                if (!me) t0 = bench_now();
                for (int i = 0; i < ROUNDS; i++) {
                    const int want = 2 * i + me, next = want + 1;
                    while (atomic_load_explicit(&flag, memory_order_acquire) != want) {}
                    atomic_store_explicit(&flag, next, memory_order_release);
                }
                if (!me) t1 = bench_now();
            }
        }
        ns[r] = (t1 - t0) * 1e9 / ROUNDS;
    }
    for (int i = 1; i < RUNS; i++) /* insertion sort: the median */
        for (int j = i; j > 0 && ns[j] < ns[j - 1]; j--) {
            double t = ns[j];
            ns[j] = ns[j - 1];
            ns[j - 1] = t;
        }
    return ns[RUNS / 2];
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "rtt")) {
        printf("rtt %.0f\n", round_trip_ns());
        return 0;
    }
    const int n = 2048, nt = argc > 1 ? atoi(argv[1]) : omp_get_num_procs();
    const size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(sizeof(float) * nn), *b = malloc(sizeof(float) * nn), *c = malloc(sizeof(float) * nn);
    if (!a || !b || !c) return 1;
    for (size_t i = 0; i < nn; i++) a[i] = b[i] = (float)(i % 7) * 0.125f;
    double g1 = peak(1, a, b, c, n), gn = peak(nt > 0 ? nt : 1, a, b, c, n);
    printf("isa %s 1 %.1f %d %.1f rtt %.0f\n", isa_name(dnnl_get_effective_cpu_isa()), g1, nt, gn, round_trip_ns());
    free(a);
    free(b);
    free(c);
    return 0;
}

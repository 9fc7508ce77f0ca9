/* This machine's measured FP32 GEMM peak, for the benchmark's "of peak" column: oneDNN's sgemm on
 * 2048x2048x2048 (compute-bound), best of 7 runs, at 1 and at N threads; also the instruction set
 * oneDNN dispatches to. Prints one line: `isa NAME 1 GF1 N GFN`. */
#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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
        double t = now();
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = now() - t;
        if (r && t < best) best = t;
    }
    return 2.0 * (double)n * (double)n * (double)n / best / 1e9;
}

int main(int argc, char **argv)
{
    const int n = 2048, nt = argc > 1 ? atoi(argv[1]) : omp_get_num_procs();
    const size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(sizeof(float) * nn), *b = malloc(sizeof(float) * nn), *c = malloc(sizeof(float) * nn);
    if (!a || !b || !c) return 1;
    for (size_t i = 0; i < nn; i++) a[i] = b[i] = (float)(i % 7) * 0.125f;
    double g1 = peak(1, a, b, c, n), gn = peak(nt > 0 ? nt : 1, a, b, c, n);
    printf("isa %s 1 %.1f %d %.1f\n", isa_name(dnnl_get_effective_cpu_isa()), g1, nt, gn);
    free(a);
    free(b);
    free(c);
    return 0;
}

/* What the weights' layout costs one oneDNN matmul (issue 17): Y[M,N] = X[M,K]·B with B [K,N] stored
 * N-contiguous ("ab") or K-contiguous ("ba": a dense layer's W [N,K] as the forward reads it), one
 * thread, B's values untouched or changed before every run (as an optimizer step changes W) with a
 * 16 MB sweep between runs. Prints µs per run, best of 7 rounds. Usage: mm_layout [M K N]
 * (20 784 200: W9's first layer). bench/analysis_issue17_units.md, section 5. */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

enum { RUNS = 200, ROUNDS = 7, SWEEP = 4 << 20 };

static void run(long M, long K, long N, int ba, int touch, float *sweep)
{
    dnnl_engine_t e;
    dnnl_stream_t s;
    dnnl_engine_create(&e, dnnl_cpu, 0);
    dnnl_stream_create(&s, e, dnnl_stream_default_flags);
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t da = {M, K}, db = {K, N}, dc = {M, N};
    dnnl_memory_desc_init_by_tag(&a, 2, da, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&b, 2, db, dnnl_f32, ba ? dnnl_ba : dnnl_ab);
    dnnl_memory_desc_init_by_tag(&c, 2, dc, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t d;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    const char *impl = "?";
    dnnl_matmul_desc_init(&d, &a, &b, NULL, &c);
    if (dnnl_primitive_desc_create(&pd, &d, NULL, e, NULL) != dnnl_success) return;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    dnnl_primitive_create(&p, pd);
    float *A = bench_filled(M * K, 7), *B = bench_filled(K * N, 5), *C = bench_filled(M * N, 3);
    dnnl_memory_t ma, mb, mc;
    dnnl_memory_create(&ma, &a, e, A);
    dnnl_memory_create(&mb, &b, e, B);
    dnnl_memory_create(&mc, &c, e, C);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    double best = 1e30, sink = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t = 0;
        for (int i = 0; i < RUNS; i++) {
            if (touch) {
                for (long j = 0; j < K * N; j++) B[j] = B[j] * 0.999f + 1e-6f;
                for (long j = 0; j < SWEEP; j += 16) sink += sweep[j];
            }
            double t0 = bench_now();
            dnnl_primitive_execute(p, s, 3, args);
            t += bench_now() - t0;
        }
        if (t < best) best = t;
    }
    const double us = best / RUNS * 1e6;
    printf("M %ld K %ld N %ld, B %s, %s: %.1f us (%.0f GFLOP/s), %s%s\n", M, K, N, ba ? "ba" : "ab",
           touch ? "changed" : "untouched", us, 2.0 * (double)(M * K * N) / us * 1e-3, impl, sink < 0 ? "!" : "");
    dnnl_memory_destroy(ma), dnnl_memory_destroy(mb), dnnl_memory_destroy(mc);
    dnnl_primitive_destroy(p), dnnl_primitive_desc_destroy(pd);
    dnnl_stream_destroy(s), dnnl_engine_destroy(e);
    free(A), free(B), free(C);
}

int main(int argc, char **argv)
{
    const long M = argc > 3 ? atol(argv[1]) : 20, K = argc > 3 ? atol(argv[2]) : 784, N = argc > 3 ? atol(argv[3]) : 200;
    float *sweep = bench_filled(SWEEP, 11);
    for (int touch = 0; touch < 2; touch++)
        for (int ba = 0; ba < 2; ba++) run(M, K, N, ba, touch, sweep);
    free(sweep);
    return 0;
}

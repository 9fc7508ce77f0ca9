/* oneDNN plumbing for the ops: one CPU engine and stream per process, status checks with
 * readable messages, and a cached matmul (C = A·B [+bias] [act] [+C]) over plain strided buffers. */
#ifndef AE_DNNL_H
#define AE_DNNL_H

#include <dnnl.h>
#include <stdint.h>

#include "ae_error.h"

dnnl_engine_t ae_dnnl_engine(void);
dnnl_stream_t ae_dnnl_stream(void);
void ae_dnnl_shutdown(void);
/* Sets the thread count for oneDNN and aelab's own loops (OpenMP); 0 = OMP_NUM_THREADS when set,
 * else all cores. */
void ae_set_threads(int n);
int ae_get_threads(void);
/* Turns a failed oneDNN status into an AE_EINTERNAL error naming `what`. */
int ae_dnnl_check(dnnl_status_t st, const char *what, ae_err *err);

/* Activation kinds shared by layers (fused as oneDNN post-ops where possible). Leaky ReLU is
 * x for x > 0, else slope·x (PyTorch's LeakyReLU; the slope travels with the node, see
 * ae_act_slope in ae_ops.h, default AE_LEAKY_SLOPE). */
typedef enum { AE_ACT_IDENTITY, AE_ACT_RELU, AE_ACT_SIGMOID, AE_ACT_TANH, AE_ACT_LEAKY_RELU,
               AE_ACT_COUNT } ae_act;
#define AE_LEAKY_SLOPE 0.01f /* PyTorch's default negative_slope */
const char *ae_act_name(ae_act a);
int ae_act_parse(const char *s, ae_act *out); /* AE_OK or AE_EINPUT */
extern const char *const ae_act_names[];      /* NULL-terminated, for config choices */

/* A matrix operand: rows x cols with row stride rs and column stride cs (elements). Plain row-major
 * is (rs=cols, cs=1); its transpose view is (rs=1, cs=rows of the stored matrix). */
typedef struct ae_mat {
    float *p;
    int64_t rows, cols, rs, cs;
} ae_mat;

typedef struct ae_matmul {
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, bias, c;
} ae_matmul;

/* C[M,N] = A[M,K]·B[K,N] (+ bias[N]) then act, then (+ old C if accumulate). bias may be NULL. */
int ae_matmul_init(ae_matmul *mm, ae_mat a, ae_mat b, const float *bias, ae_mat c, ae_act act,
                   int accumulate, ae_err *err);
void ae_matmul_run(ae_matmul *mm);
void ae_matmul_destroy(ae_matmul *mm);

/* An elementwise oneDNN primitive over n contiguous floats (vectorised transcendental functions):
 * dst = f(src) with f one of dnnl_eltwise_* (alpha, beta as oneDNN defines them). */
typedef struct ae_eltwise {
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
} ae_eltwise;
int ae_eltwise_init(ae_eltwise *e, dnnl_alg_kind_t alg, float alpha, float beta, const float *src,
                    float *dst, size_t n, ae_err *err);
void ae_eltwise_run(ae_eltwise *e);
void ae_eltwise_destroy(ae_eltwise *e);

#endif

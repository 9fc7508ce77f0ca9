/* The process-wide oneDNN engine and stream, thread settings, and the cached matmul primitive. */
#include "ae_dnnl.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Created on first use, possibly inside a parallel region (a split dense chain runs its matmuls on
 * every graph thread): the creation is a critical section, the fast path an atomic load. */
static _Atomic(dnnl_engine_t) g_engine;
static _Atomic(dnnl_stream_t) g_stream;

static void create_once(void)
{
#ifdef _OPENMP
#pragma omp critical(ae_dnnl_create)
#endif
    {
        dnnl_engine_t e = atomic_load(&g_engine);
        if (!e && dnnl_engine_create(&e, dnnl_cpu, 0) != dnnl_success) e = NULL;
        atomic_store(&g_engine, e);
        dnnl_stream_t s = atomic_load(&g_stream);
        if (e && !s && dnnl_stream_create(&s, e, dnnl_stream_default_flags) != dnnl_success) s = NULL;
        atomic_store(&g_stream, s);
    }
}

dnnl_engine_t ae_dnnl_engine(void)
{
    dnnl_engine_t e = atomic_load(&g_engine);
    if (!e) { create_once(); e = atomic_load(&g_engine); }
    return e;
}

dnnl_stream_t ae_dnnl_stream(void)
{
    dnnl_stream_t s = atomic_load(&g_stream);
    if (!s) { create_once(); s = atomic_load(&g_stream); }
    return s;
}

void ae_dnnl_shutdown(void)
{
    dnnl_stream_t s = atomic_exchange(&g_stream, NULL);
    dnnl_engine_t e = atomic_exchange(&g_engine, NULL);
    if (s) dnnl_stream_destroy(s);
    if (e) dnnl_engine_destroy(e);
}

void ae_set_threads(int n)
{
#ifdef _OPENMP
    if (n <= 0) { /* the default: OMP_NUM_THREADS when set, else every core */
        const char *env = getenv("OMP_NUM_THREADS");
        if (env && atoi(env) > 0) return;
        n = omp_get_num_procs();
    }
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

int ae_get_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int ae_dnnl_check(dnnl_status_t st, const char *what, ae_err *err)
{
    if (st == dnnl_success) return AE_OK;
    return ae_errf(err, AE_EINTERNAL, "oneDNN: %s failed (status %d)", what, (int)st);
}

const char *const ae_act_names[] = {"identity", "relu", "sigmoid", "tanh", "leaky_relu", NULL};

const char *ae_act_name(ae_act a) { return a < AE_ACT_COUNT ? ae_act_names[a] : "?"; }

int ae_act_parse(const char *s, ae_act *out)
{
    for (int i = 0; i < AE_ACT_COUNT; i++)
        if (!strcmp(s, ae_act_names[i])) { *out = (ae_act)i; return AE_OK; }
    if (!strcmp(s, "linear") || !strcmp(s, "none")) { *out = AE_ACT_IDENTITY; return AE_OK; }
    return AE_EINPUT;
}

static dnnl_status_t mat_md(dnnl_memory_desc_t *md, ae_mat m)
{
    dnnl_dims_t dims = {m.rows, m.cols}, strides = {m.rs, m.cs};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

int ae_matmul_init(ae_matmul *mm, ae_mat a, ae_mat b, const float *bias, ae_mat c, ae_act act,
                   int accumulate, ae_err *err)
{
    memset(mm, 0, sizeof *mm);
    dnnl_engine_t eng = ae_dnnl_engine();
    if (!eng) return ae_errf(err, AE_EINTERNAL, "oneDNN: no CPU engine");
    dnnl_memory_desc_t amd, bmd, cmd, biasmd;
    dnnl_status_t st = mat_md(&amd, a);
    if (st == dnnl_success) st = mat_md(&bmd, b);
    if (st == dnnl_success) st = mat_md(&cmd, c);
    if (st == dnnl_success && bias) {
        dnnl_dims_t bd = {1, c.cols};
        st = dnnl_memory_desc_init_by_tag(&biasmd, 2, bd, dnnl_f32, dnnl_ab);
    }
    if (ae_dnnl_check(st, "matmul memory descriptors", err)) return err->code;
    dnnl_matmul_desc_t desc;
    st = dnnl_matmul_desc_init(&desc, &amd, &bmd, bias ? &biasmd : NULL, &cmd);
    if (ae_dnnl_check(st, "matmul descriptor", err)) return err->code;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    dnnl_primitive_attr_create(&attr);
    dnnl_post_ops_create(&po);
    if (accumulate) dnnl_post_ops_append_sum(po, 1.0f);
    static const dnnl_alg_kind_t alg[] = {dnnl_alg_kind_undef, dnnl_eltwise_relu,
                                          dnnl_eltwise_logistic, dnnl_eltwise_tanh, dnnl_eltwise_relu};
    /* oneDNN's relu takes the negative slope as alpha (leaky ReLU at its default slope here) */
    float alpha = act == AE_ACT_LEAKY_RELU ? AE_LEAKY_SLOPE : 0.0f;
    if (act != AE_ACT_IDENTITY) dnnl_post_ops_append_eltwise(po, 1.0f, alg[act], alpha, 0.0f);
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_primitive_desc_t pd;
    st = dnnl_primitive_desc_create(&pd, &desc, attr, eng, NULL);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    if (ae_dnnl_check(st, "matmul primitive descriptor", err)) return err->code;
    st = dnnl_primitive_create(&mm->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (ae_dnnl_check(st, "matmul primitive", err)) return err->code;
    st = dnnl_memory_create(&mm->a, &amd, eng, a.p);
    if (st == dnnl_success) st = dnnl_memory_create(&mm->b, &bmd, eng, b.p);
    if (st == dnnl_success) st = dnnl_memory_create(&mm->c, &cmd, eng, c.p);
    if (st == dnnl_success && bias) st = dnnl_memory_create(&mm->bias, &biasmd, eng, (void *)bias);
    return ae_dnnl_check(st, "matmul memory", err);
}

void ae_matmul_run(ae_matmul *mm)
{
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, mm->a}, {DNNL_ARG_WEIGHTS, mm->b}, {DNNL_ARG_DST, mm->c},
        {DNNL_ARG_BIAS, mm->bias}};
    dnnl_primitive_execute(mm->prim, ae_dnnl_stream(), mm->bias ? 4 : 3, args);
}

void ae_matmul_destroy(ae_matmul *mm)
{
    if (mm->prim) dnnl_primitive_destroy(mm->prim);
    if (mm->a) dnnl_memory_destroy(mm->a);
    if (mm->b) dnnl_memory_destroy(mm->b);
    if (mm->c) dnnl_memory_destroy(mm->c);
    if (mm->bias) dnnl_memory_destroy(mm->bias);
    memset(mm, 0, sizeof *mm);
}

int ae_eltwise_init(ae_eltwise *e, dnnl_alg_kind_t alg, float alpha, float beta, const float *src,
                    float *dst, size_t n, ae_err *err)
{
    memset(e, 0, sizeof *e);
    dnnl_engine_t eng = ae_dnnl_engine();
    if (!eng) return ae_errf(err, AE_EINTERNAL, "oneDNN: no CPU engine");
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {(dnnl_dim_t)n};
    dnnl_eltwise_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a);
    if (st == dnnl_success) st = dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, alg, &md, alpha, beta);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&e->prim, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (st == dnnl_success) st = dnnl_memory_create(&e->src, &md, eng, (void *)src);
    if (st == dnnl_success) st = dnnl_memory_create(&e->dst, &md, eng, dst);
    return ae_dnnl_check(st, "eltwise primitive", err);
}

void ae_eltwise_run(ae_eltwise *e)
{
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}};
    dnnl_primitive_execute(e->prim, ae_dnnl_stream(), 2, args);
}

void ae_eltwise_destroy(ae_eltwise *e)
{
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->src) dnnl_memory_destroy(e->src);
    if (e->dst) dnnl_memory_destroy(e->dst);
    memset(e, 0, sizeof *e);
}

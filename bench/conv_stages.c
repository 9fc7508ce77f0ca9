/* Times one convolution's three oneDNN stages (forward, backward-data, backward-weights) in each
 * activation layout, in isolation: the measurements behind ops_conv.c's choose_layouts (re-run it on
 * a new machine, e.g. one with AVX-512, before trusting those choices there).
 * Usage: conv_stages [conv|deconv] N CIN COUT H W [stride pad]   (H, W: the input's; 3x3 kernel)
 * Threads: OMP_NUM_THREADS. Prints the median of 7 runs of 10 executions, warm caches (oneDNN's
 * reference code, which a layout it has no kernel for falls back to, is timed once), with the
 * activations' layouts oneDNN chose; then the reorders between activation layouts, for x and y. */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FWD, BWD_D, BWD_W };
static const char *stage_name[] = {"forward", "backward-data", "backward-weights"};

typedef struct layout {
    const char *name;
    dnnl_format_tag_t x, y; /* activations; weights always format any */
} layout;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static dnnl_status_t desc(int tr, int stage, const dnnl_memory_desc_t *x, const dnnl_memory_desc_t *w,
                          const dnnl_memory_desc_t *y, const dnnl_dims_t s, const dnnl_dims_t pl,
                          const dnnl_dims_t pr, dnnl_convolution_desc_t *d)
{
    if (tr) {
        if (stage == FWD)
            return dnnl_deconvolution_forward_desc_init(d, dnnl_forward_training, dnnl_deconvolution_direct, x,
                                                        w, NULL, y, s, pl, pr);
        if (stage == BWD_D)
            return dnnl_deconvolution_backward_data_desc_init(d, dnnl_deconvolution_direct, x, w, y, s, pl, pr);
        return dnnl_deconvolution_backward_weights_desc_init(d, dnnl_deconvolution_direct, x, w, NULL, y, s, pl, pr);
    }
    if (stage == FWD)
        return dnnl_convolution_forward_desc_init(d, dnnl_forward_training, dnnl_convolution_direct, x, w, NULL,
                                                  y, s, pl, pr);
    if (stage == BWD_D)
        return dnnl_convolution_backward_data_desc_init(d, dnnl_convolution_direct, x, w, y, s, pl, pr);
    return dnnl_convolution_backward_weights_desc_init(d, dnnl_convolution_direct, x, w, NULL, y, s, pl, pr);
}

/* The name of an activation layout (the tags a conv stage can take here), "?" for another. */
static const char *tag_name(const dnnl_memory_desc_t *md)
{
    static const struct { dnnl_format_tag_t t; const char *name; } tags[] = {
        {dnnl_nchw, "nchw"}, {dnnl_nhwc, "nhwc"}, {dnnl_nChw8c, "nChw8c"}, {dnnl_nChw16c, "nChw16c"}};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        dnnl_memory_desc_t t;
        if (dnnl_memory_desc_init_by_tag(&t, 4, md->dims, dnnl_f32, tags[i].t) == dnnl_success &&
            dnnl_memory_desc_equal(&t, md))
            return tags[i].name;
    }
    return "?";
}

/* A memory of pd's argument q, filled with a fixed pattern. */
static dnnl_memory_t arg_mem(dnnl_engine_t eng, const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, q, 0);
    dnnl_memory_t m = NULL;
    if (dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) return NULL;
    float *p = NULL;
    dnnl_memory_get_data_handle(m, (void **)&p);
    for (size_t i = 0; i < dnnl_memory_desc_get_size(md) / sizeof(float); i++) p[i] = (float)(i % 13) * 0.01f;
    return m;
}

/* Median ms of one execution of `stage` with activations in layout L; -1 when oneDNN has no
 * implementation. *impl gets the implementation's name. */
static double time_stage(dnnl_engine_t eng, dnnl_stream_t str, int tr, int stage, const layout *L,
                         const dnnl_dims_t xd, const dnnl_dims_t yd, const dnnl_dims_t wd, const dnnl_dims_t s,
                         const dnnl_dims_t pl, const dnnl_dims_t pr, const char **impl, const char *tag[2])
{
    dnnl_memory_desc_t x, y, w;
    dnnl_convolution_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, pd = NULL;
    dnnl_memory_desc_init_by_tag(&x, 4, xd, dnnl_f32, L->x);
    dnnl_memory_desc_init_by_tag(&y, 4, yd, dnnl_f32, L->y);
    dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any);
    if (desc(tr, FWD, &x, &w, &y, s, pl, pr, &fd) != dnnl_success ||
        dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL) != dnnl_success)
        return -1;
    if (stage == FWD) pd = fpd;
    else if (desc(tr, stage, &x, &w, &y, s, pl, pr, &bd) != dnnl_success ||
             dnnl_primitive_desc_create(&pd, &bd, NULL, eng, fpd) != dnnl_success) {
        dnnl_primitive_desc_destroy(fpd);
        return -1;
    }
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)impl);
    tag[0] = tag_name(dnnl_primitive_desc_query_md(pd, stage == BWD_D ? dnnl_query_diff_src_md : dnnl_query_src_md, 0));
    tag[1] = tag_name(dnnl_primitive_desc_query_md(pd, stage == FWD ? dnnl_query_dst_md : dnnl_query_diff_dst_md, 0));
    static const struct { int arg; dnnl_query_t q; } args[3][3] = {
        {{DNNL_ARG_SRC, dnnl_query_src_md}, {DNNL_ARG_WEIGHTS, dnnl_query_weights_md}, {DNNL_ARG_DST, dnnl_query_dst_md}},
        {{DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md}, {DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
         {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md}},
        {{DNNL_ARG_SRC, dnnl_query_src_md}, {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md},
         {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md}}};
    dnnl_exec_arg_t a[3];
    for (int i = 0; i < 3; i++) a[i] = (dnnl_exec_arg_t){args[stage][i].arg, arg_mem(eng, pd, args[stage][i].q)};
    dnnl_primitive_t p = NULL;
    double t[7] = {0}, med = -1;
    if (a[0].memory && a[1].memory && a[2].memory && dnnl_primitive_create(&p, pd) == dnnl_success) {
        int ref = strstr(*impl, "ref") != NULL; /* reference code: ~100x slower, time it once */
        int runs = ref ? 1 : 7, reps = ref ? 1 : 10;
        for (int i = 0; i < (ref ? 1 : 3); i++) dnnl_primitive_execute(p, str, 3, a);
        dnnl_stream_wait(str);
        for (int r = 0; r < runs; r++) {
            double t0 = now_ms();
            for (int i = 0; i < reps; i++) dnnl_primitive_execute(p, str, 3, a);
            dnnl_stream_wait(str);
            t[r] = (now_ms() - t0) / reps;
        }
        qsort(t, (size_t)runs, sizeof *t, cmp);
        med = t[runs / 2];
        dnnl_primitive_destroy(p);
    }
    for (int i = 0; i < 3; i++)
        if (a[i].memory) dnnl_memory_destroy(a[i].memory);
    if (pd != fpd) dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_desc_destroy(fpd);
    return med;
}

/* Median ms of a reorder between two activation layouts of dims d. */
static double time_reorder(dnnl_engine_t eng, dnnl_stream_t str, const dnnl_dims_t d, dnnl_format_tag_t a,
                           dnnl_format_tag_t b)
{
    dnnl_memory_desc_t ma, mb;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_memory_t m[2] = {NULL, NULL};
    double t[7] = {0}, med = -1;
    dnnl_memory_desc_init_by_tag(&ma, 4, d, dnnl_f32, a);
    dnnl_memory_desc_init_by_tag(&mb, 4, d, dnnl_f32, b);
    if (dnnl_reorder_primitive_desc_create(&pd, &ma, eng, &mb, eng, NULL) == dnnl_success &&
        dnnl_memory_create(&m[0], &ma, eng, DNNL_MEMORY_ALLOCATE) == dnnl_success &&
        dnnl_memory_create(&m[1], &mb, eng, DNNL_MEMORY_ALLOCATE) == dnnl_success &&
        dnnl_primitive_create(&p, pd) == dnnl_success) {
        dnnl_exec_arg_t x[2] = {{DNNL_ARG_FROM, m[0]}, {DNNL_ARG_TO, m[1]}};
        for (int i = 0; i < 3; i++) dnnl_primitive_execute(p, str, 2, x);
        dnnl_stream_wait(str);
        for (int r = 0; r < 7; r++) {
            double t0 = now_ms();
            for (int i = 0; i < 10; i++) dnnl_primitive_execute(p, str, 2, x);
            dnnl_stream_wait(str);
            t[r] = (now_ms() - t0) / 10;
        }
        qsort(t, 7, sizeof *t, cmp);
        med = t[3];
    }
    if (p) dnnl_primitive_destroy(p);
    for (int i = 0; i < 2; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return med;
}

/* The reorders a graph may need between a stage's layout and its neighbour's, for an activation. */
static void time_reorders(dnnl_engine_t eng, dnnl_stream_t str, const char *what, const dnnl_dims_t d)
{
    static const struct { dnnl_format_tag_t t; const char *name; } tags[] = {
        {dnnl_nchw, "nchw"}, {dnnl_nhwc, "nhwc"}, {dnnl_nChw16c, "nChw16c"}};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            if (a != b)
                printf("  reorder %s %-8s -> %-8s %8.3f ms\n", what, tags[a].name, tags[b].name,
                       time_reorder(eng, str, d, tags[a].t, tags[b].t));
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s conv|deconv N CIN COUT H W [stride pad]\n", argv[0]);
        return 2;
    }
    int tr = strcmp(argv[1], "deconv") == 0;
    long n = atol(argv[2]), ci = atol(argv[3]), co = atol(argv[4]), h = atol(argv[5]), wi = atol(argv[6]);
    long st = argc > 7 ? atol(argv[7]) : 2, pad = argc > 8 ? atol(argv[8]) : 1, k = 3;
    long ho, wo, prh, prw;
    if (tr) { /* output_padding = stride - 1, as the mirrored decoders use */
        ho = (h - 1) * st - 2 * pad + k + st - 1, wo = (wi - 1) * st - 2 * pad + k + st - 1;
        prh = prw = pad - (st - 1);
    } else {
        ho = (h + 2 * pad - k) / st + 1, wo = (wi + 2 * pad - k) / st + 1;
        prh = (ho - 1) * st + k - h - pad, prw = (wo - 1) * st + k - wi - pad;
    }
    if (n < 1 || ci < 1 || co < 1 || ho < 1 || wo < 1) {
        fprintf(stderr, "%s: bad shape\n", argv[0]);
        return 2;
    }
    dnnl_dims_t xd = {n, ci, h, wi}, yd = {n, co, ho, wo}, wd = {co, ci, k, k}, s = {st, st}, pl = {pad, pad},
                pr = {prh, prw};
    dnnl_engine_t eng;
    dnnl_stream_t str;
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&str, eng, dnnl_stream_default_flags) != dnnl_success)
        return 1;
    static const layout L[] = {{"blocked/blocked", dnnl_format_tag_any, dnnl_format_tag_any},
                               {"nchw/blocked", dnnl_nchw, dnnl_format_tag_any},
                               {"blocked/nchw", dnnl_format_tag_any, dnnl_nchw},
                               {"nhwc/nhwc", dnnl_nhwc, dnnl_nhwc},
                               {"nchw/nchw", dnnl_nchw, dnnl_nchw}};
    double flops = 2.0 * (double)n * (double)ci * (double)co * (double)(k * k) * (double)(tr ? h * wi : ho * wo);
    printf("%s %ldx%ldx%ldx%ld -> %ldx%ldx%ld, 3x3 stride %ld pad %ld (x/y layouts; blocked = oneDNN's "
           "choice)\n", tr ? "deconv" : "conv", n, ci, h, wi, co, ho, wo, st, pad);
    for (int stage = 0; stage < 3; stage++)
        for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
            const char *impl = "-", *tag[2] = {"-", "-"};
            double ms = time_stage(eng, str, tr, stage, &L[i], xd, yd, wd, s, pl, pr, &impl, tag);
            if (ms < 0) printf("  %-16s %-16s  no implementation\n", stage_name[stage], L[i].name);
            else printf("  %-16s %-16s %8.3f ms %7.1f GFLOP/s  %-22s x %s, y %s\n", stage_name[stage], L[i].name,
                        ms, flops / ms / 1e6, impl, tag[0], tag[1]);
        }
    time_reorders(eng, str, "x", xd);
    time_reorders(eng, str, "y", yd);
    dnnl_stream_destroy(str);
    dnnl_engine_destroy(eng);
    return 0;
}

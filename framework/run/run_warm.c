/* Warm start (`model.init.from`): a new run's encoder parameters loaded by name from a finished run
 * (Deep SVDD starting from its DCAE), shapes checked, before its first epoch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_dnnl.h"
#include "ae_report.h"
#include "ae_run.h"

/* The text of placeholder {key} in `from`: the run's name, its seed, or the scalar at a dotted config
 * key (a one-element list gives its element); NULL when there is none. */
static const char *placeholder(const ae_run *r, const char *key, char *buf, size_t len)
{
    if (!strcmp(key, "name")) return r->name;
    if (!strcmp(key, "seed")) return snprintf(buf, len, "%lu", r->seed), buf;
    const ae_cfg *n = ae_cfg_lookup(r->root, key);
    if (n && ae_cfg_len(n) == 1 && ae_cfg_at(n, 0)) n = ae_cfg_at(n, 0);
    return n ? ae_cfg_scalar(n) : NULL;
}

/* `from` with its {placeholders} replaced, relative to the run's output folder; a checkpoint file
 * stands for its folder. */
static int source_dir(const ae_run *r, const char *from, char *out, size_t len, const char *w, ae_err *err)
{
    char exp[4096] = "";
    size_t k = 0;
    for (const char *p = from; *p && k + 1 < sizeof exp; p++) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        if (!end) {
            exp[k++] = *p, exp[k] = 0;
            continue;
        }
        char key[256], buf[64];
        snprintf(key, sizeof key, "%.*s", (int)(end - p - 1), p + 1);
        const char *v = placeholder(r, key, buf, sizeof buf);
        if (!v)
            return ae_errf(err, AE_EINPUT, "%s: model.init.from: {%s} is not {name}, {seed} or a config key with "
                           "one value", w, key);
        k += (size_t)snprintf(exp + k, sizeof exp - k, "%s", v);
        p = end;
    }
    if (k + 1 >= sizeof exp) return ae_errf(err, AE_EINPUT, "%s: model.init.from: path too long", w);
    size_t n = strlen(exp);
    if (n > 6 && !strcmp(exp + n - 6, ".aelab")) {
        char *slash = strrchr(exp, '/');
        if (slash) *slash = 0;
        else snprintf(exp, sizeof exp, ".");
    }
    if (exp[0] == '/') snprintf(out, len, "%s", exp);
    else ae_path_join(out, len, r->out_dir, exp);
    return AE_OK;
}

/* Copies every encoder parameter of dst from src by name; an error names the first that is missing
 * or shaped otherwise. */
static int copy_encoder(ae_params *dst, const ae_params *src, const char *dir, const char *w, ae_err *err)
{
    size_t loaded = 0;
    for (size_t i = 0; i < dst->n; i++) {
        const ae_param_info *p = &dst->p[i];
        if (strncmp(p->name, "encoder[", 8)) continue;
        int j = ae_params_find(src, p->name);
        char a[64], b[64];
        if (j < 0)
            return ae_errf(err, AE_EINPUT, "%s: model.init.from: the run in %s has no parameter %s (%s): its "
                           "encoder must be this one's", w, dir, p->name, ae_shape_str(p->shape, a, sizeof a));
        const ae_param_info *q = &src->p[j];
        if (q->n != p->n || q->shape.nd != p->shape.nd ||
            memcmp(q->shape.d, p->shape.d, (size_t)p->shape.nd * sizeof p->shape.d[0]))
            return ae_errf(err, AE_EINPUT, "%s: model.init.from: %s is %s in the run in %s, %s here", w, p->name,
                           ae_shape_str(q->shape, a, sizeof a), dir, ae_shape_str(p->shape, b, sizeof b));
        memcpy(dst->val + p->off, src->val + q->off, p->n * sizeof *dst->val);
        loaded++;
    }
    if (loaded == 0) return ae_errf(err, AE_EINPUT, "%s: model.init.from: this model has no encoder parameters", w);
    return AE_OK;
}

int ae_run_warm_start(ae_run *r, const ae_run_opts *o, ae_err *err)
{
    const ae_cfg *node = ae_cfg_lookup(r->root, "model.init.from");
    const char *from = node ? ae_cfg_scalar(node) : NULL;
    if (!from || !*from) return AE_OK;
    char w[256], dir[4200], ck[4300];
    ae_cfg_where(node, w, sizeof w);
    if (source_dir(r, from, dir, sizeof dir, w, err)) return err->code;
    FILE *f = fopen(ae_path_join(ck, sizeof ck, dir, "checkpoint.aelab"), "rb");
    if (!f)
        return ae_errf(err, AE_EINPUT, "%s: model.init.from: no finished run in %s (no checkpoint.aelab: run "
                       "that one first, with checkpoints on)", w, dir);
    fclose(f);
    ae_run_opts so = *o;
    so.sets = NULL, so.nsets = 0, so.check_only = 0, so.progress = 0;
    ae_run src;
    memset(&src, 0, sizeof src);
    int rc = ae_run_open(&src, dir, &so, err);
    ae_set_threads(o->threads > 0 ? o->threads : (int)r->threads); /* the source's config set its own */
    if (rc) ae_err_prefix(err, "%s: model.init.from", w);
    else rc = copy_encoder(ae_model_params(r->model), ae_model_params(src.model), dir, w, err);
    ae_run_free(&src);
    if (rc == AE_OK) fprintf(stderr, "aelab: %s: encoder loaded from %s\n", r->name, dir);
    return rc;
}

/* `model.init.dictionary`: a new run's first convolution starts from the atoms of a dictionary learned
 * on patches of its training images (Ruff et al. 2018's Theano code: learn_dictionary). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_run.h"

/* The encoder's first weight, which must be a convolution kernel [out, in, kh, kw] over the data's
 * channels; its index, or -1 with err set. */
static int first_kernel(const ae_run *r, const char *w, ae_err *err)
{
    const ae_params *ps = ae_model_params(r->model);
    for (size_t i = 0; i < ps->n; i++) {
        const ae_param_info *p = &ps->p[i];
        if (strncmp(p->name, "encoder[", 8) || p->kind != AE_PARAM_WEIGHT) continue;
        if (p->shape.nd != 4 || p->shape.d[1] != (r->train.c > 0 ? r->train.c : 1) ||
            p->shape.d[2] > r->train.h || p->shape.d[3] > r->train.w)
            return ae_errf(err, AE_EINPUT, "%s: model.init.dictionary needs the encoder's first layer with "
                           "weights to be a convolution over the %d-channel %dx%d images; %s is not", w,
                           r->train.c, r->train.h, r->train.w, p->name), -1;
        return (int)i;
    }
    return ae_errf(err, AE_EINPUT, "%s: model.init.dictionary: the encoder has no weights", w), -1;
}

/* Every kh x kw patch (all channels, stride 1, layout [c][i][j]) of the chosen images into pt, then
 * each coordinate standardized over the patches (a constant coordinate is only centred). */
static void patches(const ae_dataset *ds, const size_t *img, size_t m, int kh, int kw, float *pt)
{
    const int C = ds->c > 0 ? ds->c : 1, H = ds->h, W = ds->w, ph = H - kh + 1, pw = W - kw + 1;
    const size_t d = (size_t)C * kh * kw, np = m * (size_t)ph * pw;
    float *o = pt;
    for (size_t q = 0; q < m; q++) {
        const float *x = ds->x + img[q] * ds->d;
        for (int y = 0; y < ph; y++)
            for (int xx = 0; xx < pw; xx++, o += d)
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++)
                            o[((size_t)c * kh + i) * kw + j] = x[((size_t)c * H + y + i) * W + xx + j];
    }
    for (size_t j = 0; j < d; j++) {
        double s = 0.0, ss = 0.0;
        for (size_t p = 0; p < np; p++) s += pt[p * d + j];
        const double mean = s / (double)np;
        for (size_t p = 0; p < np; p++) ss += (pt[p * d + j] - mean) * (pt[p * d + j] - mean);
        const double sd = sqrt(ss / (double)np);
        for (size_t p = 0; p < np; p++)
            pt[p * d + j] = (float)(sd > 0.0 ? (pt[p * d + j] - mean) / sd : pt[p * d + j] - mean);
    }
}

/* Learns the dictionary (images chosen and rows shuffled by streams seeded from the run's seed, not
 * the run's own stream) and writes atom o, rotated by 180 degrees, into kernel o. */
static int learn(ae_run *r, const ae_init_dict *o, int k, const char *w, ae_err *err)
{
    ae_params *ps = ae_model_params(r->model);
    const ae_param_info *p = &ps->p[k];
    const int kh = (int)p->shape.d[2], kw = (int)p->shape.d[3];
    const size_t m = (size_t)o->images < r->train.n ? (size_t)o->images : r->train.n;
    const size_t d = (size_t)p->shape.d[1] * kh * kw, np = m * (size_t)(r->train.h - kh + 1) * (r->train.w - kw + 1);
    const size_t atoms = (size_t)p->shape.d[0];
    size_t *img = malloc(r->train.n * sizeof *img);
    float *pt = malloc(np * d * sizeof *pt), *dict = malloc(atoms * d * sizeof *dict);
    ae_rng *rng = ae_rng_new(r->seed);
    int rc = AE_OK;
    if (!img || !pt || !dict || !rng) {
        rc = ae_errf(err, AE_EINTERNAL, "%s: model.init.dictionary: out of memory (%zu patches)", w, np);
        goto done;
    }
    for (size_t i = 0; i < r->train.n; i++) img[i] = i;
    ae_rng_shuffle(rng, img, r->train.n); /* the first m: chosen without replacement */
    patches(&r->train, img, m, kh, kw, pt);
    ae_dict_opts dopt = {atoms, (size_t)o->batch, o->iterations, o->alpha, ae_rng_u32(rng)};
    if ((rc = ae_dict_learn(pt, np, d, &dopt, dict, err))) {
        ae_err_prefix(err, "%s: model.init.dictionary", w);
        goto done;
    }
    float *v = ps->val + p->off;
    for (size_t a = 0; a < atoms; a++)
        for (size_t j = 0; j < d; j++) { /* within each channel, (i, j) <- (kh-1-i, kw-1-j) */
            const size_t per = (size_t)kh * kw, c = j / per, ij = j % per;
            v[a * d + c * per + (per - 1 - ij)] = dict[a * d + j];
        }
    fprintf(stderr, "aelab: %s: %s from a dictionary of %zu atoms (%zu patches of %zu images, %ld batches)\n",
            r->name, p->name, atoms, np, m, o->iterations);
done:
    ae_rng_free(rng);
    free(dict), free(pt), free(img);
    return rc;
}

int ae_run_dictionary_init(ae_run *r, ae_err *err)
{
    ae_cfg *node = ae_cfg_lookup(r->root, "model.init.dictionary");
    if (!node) return AE_OK;
    char w[256];
    ae_cfg_where(node, w, sizeof w);
    ae_init_dict o;
    if (ae_schema_read(&ae_init_dict_schema, node, &o, 1, err)) return err->code;
    int k = first_kernel(r, w, err);
    return k < 0 ? err->code : learn(r, &o, k, w, err);
}

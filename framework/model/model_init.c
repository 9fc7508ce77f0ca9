/* model.init: the parameters' initialisation scheme (auto, torch, normal) and the optional
 * data-dependent output bias (the logit of the training data's mean, as Burda et al. 2016 do). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "ae_data.h"
#include "model_internal.h"

static const char *const init_schemes[] = {"auto", "torch", "glorot", "normal", NULL};
static const char *const output_biases[] = {"none", "logit_mean", NULL};

static const ae_key normal_keys[] = {
    AE_KEY_NUM_(ae_init_cfg, std, "std", "0.01", 0.0, 1e3, "the weights' standard deviation (biases are 0)"),
};
static const ae_schema normal = AE_SCHEMA("model.init", normal_keys);
static const ae_key glorot_keys[] = {
    AE_KEY_NUM_(ae_init_cfg, gain, "gain", "1", 0.0, 1e3, "dense weights: U(+-gain*sqrt(6/(fan_in+fan_out)))"),
    AE_KEY_NUM_(ae_init_cfg, conv_gain, "conv_gain", "1.4142135623730951", 0.0, 1e3,
                "convolution kernels: the same bound with this gain (the default is sqrt(2), Lasagne's "
                "'relu' gain; Ruff et al.'s Theano code used sqrt(2/(1+0.01^2)) for leaky ReLU)"),
};
static const ae_schema glorot = AE_SCHEMA("model.init", glorot_keys);
static const ae_schema_case init_cases[] = {{"normal", &normal}, {"glorot", &glorot}};
static const ae_key dict_keys[] = {
    AE_KEY_INT_(ae_init_dict, images, "images", "500", 1, 100000000,
                "training images whose patches (every position, stride 1) are the dictionary's data (all of "
                "them when there are fewer); each patch coordinate is standardized over the patches"),
    AE_KEY_INT_(ae_init_dict, iterations, "iterations", "1000", 0, 100000000, "mini-batches of patches"),
    AE_KEY_INT_(ae_init_dict, batch, "batch", "10", 1, 1000000, "patches per mini-batch"),
    AE_KEY_NUM_(ae_init_dict, alpha, "alpha", "1", 0.0, 1e6, "the codes' L1 weight: min ½‖x − Dᵀc‖² + alpha‖c‖₁"),
};
const ae_schema ae_init_dict_schema = AE_SCHEMA("model.init.dictionary", dict_keys);
static const ae_key init_keys[] = {
    AE_KEY_STR_(ae_init_cfg, scheme, "scheme", "auto", init_schemes,
                "auto: He-uniform before ReLU, else Glorot-uniform, zero biases; torch: PyTorch's "
                "nn.Linear/nn.Conv2d draws from torch.manual_seed(seed); glorot: Lasagne's GlorotUniform with a "
                "gain for dense weights and one for convolutions, zero biases; normal: N(0, std^2) weights, zero "
                "biases (Kingma & Welling 2014: std 0.01)"),
    AE_KEY_CHOICE_(ae_init_cfg, output_bias, "output_bias", AE_KEY_OPTIONAL, output_biases,
                   "logit_mean: the decoder's last bias is logit(p) of the training data's mean p per "
                   "feature (or per channel for a convolution), p clipped to [0.001, 0.999] as in Burda "
                   "et al.'s code; absent or none: the scheme's bias"),
    AE_KEY_STR_(ae_init_cfg, from, "from", AE_KEY_OPTIONAL, NULL,
                "warm start: a finished run's folder (or its checkpoint.aelab) whose encoder parameters "
                "(encoder[*], batch-norm statistics included) replace the scheme's draws by name, shapes "
                "checked, before a new run's first epoch (Deep SVDD after its DCAE); {name}, {seed} and {KEY} "
                "(a dotted config key with one value, e.g. {data.normal_labels}) become this run's values; a "
                "relative path starts at this run's output folder"),
    {"dictionary", AE_KEY_SECTION, AE_KEY_ELSEWHERE, AE_KEY_OPTIONAL, 0, 0, NULL,
     "the encoder's first convolution starts from the atoms of a dictionary learned on patches of the "
     "training images (scikit-learn's MiniBatchDictionaryLearning as Ruff et al. 2018's Theano code "
     "calls it, learn_dictionary: 500 images, 1000 batches of 10, alpha 1), one atom per kernel, each "
     "rotated by 180 degrees (Lasagne's convolution flips its kernels, oneDNN's does not); a new run "
     "only, before model.init.from (which replaces it); absent: none", &ae_init_dict_schema, NULL},
};
const ae_schema ae_model_init_schema = AE_SCHEMA_CASES("model.init", init_keys, "scheme", init_cases);

/* The bias of the decoder's last layer with parameters (its index), or -1 with err set. */
static int output_bias_param(const ae_model *m, const char *w, ae_err *err)
{
    for (int i = m->ndec - 1; i >= 0; i--) {
        char pn[96];
        snprintf(pn, sizeof pn, "%s.bias", m->dec[i].name);
        int b = ae_params_find(m->ps, pn);
        if (b >= 0) return b;
        snprintf(pn, sizeof pn, "%s.weight", m->dec[i].name);
        if (ae_params_find(m->ps, pn) >= 0)
            return ae_errf(err, AE_EINPUT, "%s: model.init.output_bias: the decoder's last layer with parameters "
                           "(%s) has no bias", w, m->dec[i].name), -1;
    }
    return ae_errf(err, AE_EINPUT, "%s: model.init.output_bias: the decoder has no layer with a bias", w), -1;
}

/* output_bias: logit_mean. The mean of every feature (or channel) of the training data in double,
 * clipped to [0.001, 0.999], into the decoder's output bias as log(p / (1 - p)). */
static int logit_mean_bias(ae_model *m, const ae_dataset *data, const ae_cfg *node, ae_err *err)
{
    char w[256];
    ae_cfg_where(node, w, sizeof w);
    int b = output_bias_param(m, w, err);
    if (b < 0) return err->code;
    const ae_param_info *pi = &m->ps->p[b];
    const size_t d = data->d, c = data->c > 0 ? (size_t)data->c : 1, per = d / c;
    if (pi->n != d && pi->n != c)
        return ae_errf(err, AE_EINPUT, "%s: model.init.output_bias: %s has %zu biases; logit_mean needs one per "
                       "input feature (%zu) or channel (%zu)", w, pi->name, pi->n, d, c);
    if (data->n == 0) return ae_errf(err, AE_EINPUT, "%s: model.init.output_bias: no training data", w);
    double *mean = calloc(pi->n, sizeof *mean);
    if (!mean) return ae_errf(err, AE_EINTERNAL, "out of memory");
    const int per_feature = pi->n == d;
    for (size_t r = 0; r < data->n; r++) {
        const float *x = data->x + r * d;
        for (size_t j = 0; j < d; j++) {
            if (!(x[j] >= 0.0f && x[j] <= 1.0f)) {
                free(mean);
                return ae_errf(err, AE_EINPUT, "%s: model.init.output_bias: logit_mean needs training values in "
                               "[0, 1], found %g (row %zu, feature %zu); use `data.scaling: minmax`", w,
                               (double)x[j], r + 1, j + 1);
            }
            mean[per_feature ? j : j / per] += (double)x[j];
        }
    }
    const double count = (double)data->n * (double)(per_feature ? 1 : per);
    float *v = m->ps->val + pi->off;
    for (size_t k = 0; k < pi->n; k++) {
        double p = fmin(fmax(mean[k] / count, 0.001), 0.999);
        v[k] = (float)log(p / (1.0 - p));
    }
    free(mean);
    return AE_OK;
}

int ae_model_read_init(ae_cfg *model, ae_init_cfg *ic, ae_err *err)
{
    ae_cfg *init, *dict = NULL;
    ae_init_dict d;
    *ic = (ae_init_cfg){"auto", 0, 0.01, 1.0, 1.4142135623730951, NULL, NULL};
    if (ae_cfg_map(model, "init", 1, &init, err)) return err->code;
    if (ae_cfg_lookup(init, "dictionary") && /* checked here, learned by the run (run_dict.c) */
        (ae_cfg_map(init, "dictionary", 0, &dict, err) || ae_schema_read(&ae_init_dict_schema, dict, &d, 1, err)))
        return err->code;
    if (ae_schema_read(&ae_model_init_schema, init, ic, 1, err)) return err->code;
    ic->output_bias_at = ae_cfg_lookup(init, "output_bias");
    return AE_OK;
}

int ae_model_init_params(ae_model *m, const ae_init_cfg *ic, const ae_dataset *data, unsigned long seed,
                         ae_err *err)
{
    const ae_init_scheme s = {ic->scheme, ic->std, ic->gain, ic->conv_gain};
    if (ae_params_alloc(m->ps, err) || ae_params_init(m->ps, &s, seed, m->rng, err))
        return err->code;
    return ic->output_bias == 1 ? logit_mean_bias(m, data, ic->output_bias_at, err) : AE_OK;
}

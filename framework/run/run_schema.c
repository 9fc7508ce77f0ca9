/* The config file's keys as schema tables (ae_schema.h): the top level, `train` (+ its optimizer,
 * whose defaults depend on its name, and its lr schedule) and `outputs`, read into an ae_run; and
 * docs/config.md, made from these tables and the registered units' tables; the dotted keys for `--set`
 * completion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_pretrain.h"
#include "ae_registry.h"
#include "ae_run.h"

/* --- train.optimizer: `name` picks the keys and their defaults ---------------------------------- */
#define OPT_COMMON(LR, WD)                                                                                 \
    AE_KEY_NUM_(ae_optim_cfg, lr, "lr", LR, 0.0, 1e3, "learning rate"),                                    \
    AE_KEY_NUM_(ae_optim_cfg, weight_decay, "weight_decay", WD, 0.0, 1e3,                                  \
                "L2 weight decay (adamw: decoupled from the gradient)"),                                   \
    AE_KEY_NUM_(ae_optim_cfg, clip_norm, "clip_grad_norm", "0", 0.0, 1e12,                                 \
                "> 0: clip the global gradient norm to this first")
#define OPT_ADAM                                                                                           \
    AE_KEY_NUM_(ae_optim_cfg, beta1, "beta1", "0.9", 0.0, 1.0, "first-moment decay"),                      \
    AE_KEY_NUM_(ae_optim_cfg, beta2, "beta2", "0.999", 0.0, 1.0, "second-moment decay"),                   \
    AE_KEY_NUM_(ae_optim_cfg, eps, "eps", "1e-8", 0.0, 1.0, "added to the denominator")

static const ae_key sgd_keys[] = {
    OPT_COMMON("0.01", "0"),
    AE_KEY_NUM_(ae_optim_cfg, momentum, "momentum", "0", 0.0, 1.0, "momentum (0 = plain SGD)"),
    AE_KEY_BOOL_(ae_optim_cfg, nesterov, "nesterov", "false", "Nesterov momentum"),
};
static const ae_key adam_keys[] = {OPT_COMMON("1e-3", "0"), OPT_ADAM};
static const ae_key adamw_keys[] = {OPT_COMMON("1e-3", "0.01"), OPT_ADAM};
static const ae_key adagrad_keys[] = {
    OPT_COMMON("0.01", "0"),
    AE_KEY_NUM_(ae_optim_cfg, lr_decay, "lr_decay", "0", 0.0, 1e6,
                "step t uses lr / (1 + (t - 1) * lr_decay) (t counts optimizer steps)"),
    AE_KEY_NUM_(ae_optim_cfg, initial_accumulator_value, "initial_accumulator_value", "0", 0.0, 1e12,
                "the start of every parameter's sum of squared gradients"),
    AE_KEY_NUM_(ae_optim_cfg, eps, "eps", "1e-10", 0.0, 1.0, "added to the square root of the sum"),
};
static const ae_schema sgd = AE_SCHEMA("train.optimizer", sgd_keys), adam = AE_SCHEMA("train.optimizer", adam_keys),
                       adamw = AE_SCHEMA("train.optimizer", adamw_keys),
                       adagrad = AE_SCHEMA("train.optimizer", adagrad_keys);
static const ae_schema_case opt_cases[] = {{"sgd", &sgd}, {"adam", &adam}, {"adamw", &adamw}, {"adagrad", &adagrad}};
static const ae_key opt_keys[] = {
    AE_KEY_CHOICE_(ae_optim_cfg, kind, "name", "adam", ae_opt_names, "the optimizer; its keys follow"),
};
static const ae_schema optimizer = AE_SCHEMA_CASES("train.optimizer", opt_keys, "name", opt_cases);

/* --- train ------------------------------------------------------------------------------------------ */
static const ae_key train_keys[] = {
    AE_KEY_INT_(ae_run, tc.epochs, "epochs", "10", 0, 100000000,
                "passes over the training data (0: no training, the untrained model (after `pretrain`, when "
                "given) evaluated: final.json and the figures; more epochs later resume from it)"),
    AE_KEY_INT_(ae_run, tc.batch_size, "batch_size", "128", 0, 1L << 30, "samples per step (0 = full batch)"),
    AE_KEY_BOOL_(ae_run, tc.shuffle, "shuffle", "true", "reshuffle the training data every epoch"),
    AE_KEY_BOOL_(ae_run, tc.progress, "progress", "true",
                 "progress line on stderr (--quiet turns it off)"),
    AE_KEY_INT_(ae_run, checkpoint_every, "checkpoint_every", "1", 0, 100000000,
                "epochs between checkpoints (0 = none; a run resumes from its checkpoint)"),
    AE_KEY_SECTION_(ae_run, oc, "optimizer", &optimizer, "the optimizer (train.optimizer below)"),
    /* optional: absent, nothing is written into the resolved config (configs from before schedules
     * keep their config hash, so their checkpoints still resume) and the lr is constant */
    {"schedule", AE_KEY_SECTION, offsetof(ae_run, tc.schedule), AE_KEY_OPTIONAL, 0, 0, NULL,
     "the learning rate per epoch (train.schedule below; absent: constant)", &ae_schedule_schema, NULL},
};
const ae_schema ae_train_schema = AE_SCHEMA("train", train_keys);

/* --- outputs ---------------------------------------------------------------------------------------- */
static int read_dir(const ae_key *k, ae_cfg *map, void *out, ae_err *err)
{
    ae_run *r = out;
    const char *dir;
    char def[256];
    snprintf(def, sizeof def, "runs/%s", r->name);
    if (ae_cfg_str(map, k->name, def, NULL, &dir, err)) return err->code;
    snprintf(r->out_dir, sizeof r->out_dir, "%s", dir);
    return AE_OK;
}

static const ae_key outputs_keys[] = {
    AE_KEY_CUSTOM_(ae_run, out_dir, "dir", "runs/<name>", read_dir, "the run folder (--out overrides it)"),
    AE_KEY_BOOL_(ae_run, plots, "plots", "true", "loss curve, reconstructions, code scatter and the figures below (PNG)"),
    AE_KEY_BOOL_(ae_run, save_codes, "codes", "true", "write the test codes (codes.csv)"),
    AE_KEY_BOOL_(ae_run, pca, "pca_baseline", "true", "compare with PCA of the same size (2-D codes: codes_pca.png, "
                 "the codes next to PCA-2); in an experiment its numbers are computed once per data set and code "
                 "size (<experiment>/baseline_cache)"),
    AE_KEY_BOOL_(ae_run, probe, "probe", "true", "linear probe on the codes (labelled data)"),
    AE_KEY_INT_(ae_run, probe_folds, "probe_folds", "5", 2, 100, "cross-validation folds of the probe"),
    AE_KEY_INT_(ae_run, probe_train, "probe_train", "10000", 0, 1L << 40, "at most this many training codes (the "
                "first ones) fit the probe, whose cost grows with them; its seconds are said on stderr (0 = all)"),
    AE_KEY_BOOL_(ae_run, epoch_elbo, "epoch_elbo", AE_KEY_OPTIONAL,
                 "gaussian latent: also write test_neg_elbo (and val_neg_elbo) every epoch: the -ELBO with "
                 "sampled codes (test_loss uses the posterior mean); its draws come from the run's stream, so "
                 "turning it on changes the training draws (off by default)"),
    AE_KEY_INT_(ae_run, eval_every, "eval_every", AE_KEY_OPTIONAL, 1, 100000000,
                "evaluate the test (and validation) split into metrics.jsonl after every N-th epoch and after the "
                "last one only (absent: every epoch); long runs spend less time evaluating (training is unchanged, "
                "but with epoch_elbo the sampled evaluations draw from the run's stream)"),
    AE_KEY_INT_(ae_run, nll_samples, "nll_samples", "0", 0, 100000,
                "gaussian latent: importance samples per test input for nll_is, the k-sample bound on "
                "-log p(x) (0 = off; Burda et al. 2016 use 5000)"),
    AE_KEY_INT_(ae_run, anomaly_elbo, "anomaly_elbo_samples", AE_KEY_OPTIONAL, 0, 100000,
                "one-class runs with a gaussian latent: score each test sample by its -ELBO, the mean over this "
                "many sampled codes (draws from the run's stream, after training); else the objective's own score "
                "or the reconstruction error (absent or 0)"),
    AE_KEY_INT_(ae_run, eval_batch, "eval_batch", "1000", 1, 1L << 30, "samples per evaluation batch"),
    AE_KEY_INT_(ae_run, grid, "grid", "8", 0, 64, "reconstruction grid: NxN images (0 = none)"),
    AE_KEY_INT_(ae_run, manifold, "manifold", "20", 0, 50,
                "gaussian latent of size 2, images: manifold.png, the decoder's images over an NxN grid of "
                "the latent plane at evenly spaced N(0, 1) quantiles (0 = none)"),
    AE_KEY_INT_(ae_run, filters, "filters", "100", 0, 1024,
                "images: filters.png, at most this many of the first layer's filters (dense weight rows "
                "or conv kernels), each scaled to its own range (0 = none)"),
};
const ae_schema ae_outputs_schema = AE_SCHEMA("outputs", outputs_keys);

/* --- the top level: name, seed and threads are read here; the sections by their owners ------------ */
static int read_name(const ae_key *k, ae_cfg *map, void *out, ae_err *err)
{
    ae_run *r = out; /* r->name holds the file's stem: the default */
    const char *name;
    if (ae_cfg_str(map, k->name, r->name, NULL, &name, err)) return err->code;
    snprintf(r->name, sizeof r->name, "%s", name);
    return AE_OK;
}

#define TOP(name, kind, def, help) {name, kind, AE_KEY_ELSEWHERE, def, 0, 0, NULL, help, NULL, NULL}
#define SECTION(name, sub, help) {name, AE_KEY_SECTION, AE_KEY_ELSEWHERE, "{}", 0, 0, NULL, help, sub, NULL}
static const ae_key top_keys[] = {
    AE_KEY_CUSTOM_(ae_run, name, "name", "the file name without .yaml", read_name, "the run's name"),
    TOP("variant", AE_KEY_STR, "undercomplete", "a preset merged under this file (the variants of `aelab list`)"),
    AE_KEY_INT_(ae_run, seed, "seed", "42", 0, 4294967295.0, "random seed"), /* unsigned long: read as long */
    AE_KEY_INT_(ae_run, threads, "threads", "0", 0, 1024,
                "threads for oneDNN and aelab (0 = all cores; --threads overrides it)"),
    TOP("data", AE_KEY_MAP, NULL, "the data: `source` (csv, idx, ...) and its keys"),
    TOP("model", AE_KEY_MAP, NULL, "`encoder` (a list of layers, below), `decoder` (a list or mirror), "
        "`latent`, `init`, `output_activation`"),
    TOP("loss", AE_KEY_MAP, "{type: mse}", "the reconstruction loss: an objective's `type` and its "
        "keys (below); `loss: NAME` is short for `{type: NAME}`"),
    TOP("corruption", AE_KEY_MAP, "{type: none}", "input noise for denoising: a corruption's `type` "
        "and its keys (below)"),
    TOP("regularizers", AE_KEY_SEQ, "[]", "penalty terms: a list of `{type: NAME, ...}` (below)"),
    {"pretrain", AE_KEY_SECTION, AE_KEY_ELSEWHERE, AE_KEY_OPTIONAL, 0, 0, NULL, "greedy layer-wise pretraining "
     "before training (below; absent: none)", &ae_pretrain_schema, NULL},
    SECTION("train", &ae_train_schema, "training (below)"),
    SECTION("outputs", &ae_outputs_schema, "what a run writes (below)"),
    TOP("plugins", AE_KEY_SEQ, AE_KEY_OPTIONAL, "shared libraries that register more units (paths "
        "relative to the file)"),
};
const ae_schema ae_config_schema = AE_SCHEMA("the top level", top_keys);

void ae_config_markdown(const ae_registry *reg, FILE *f)
{
    fprintf(f, "# Configuration keys\n\nGenerated by `aelab list --markdown` from the schema tables the "
               "configuration is read with; do not edit by hand.\n\n## Top level\n\n");
    ae_schema_markdown(&ae_config_schema, f);
    fprintf(f, "\n## Data\n\n`data`: the keys every source takes (each source's own keys follow).\n\n");
    ae_schema_markdown(&ae_data_schema, f);
    const char *const *names = ae_source_names(reg);
    fprintf(f, "\n### Sources\n\n`data.source`: NAME and the keys below, beside the ones above.\n");
    for (size_t i = 0; names[i]; i++) {
        const ae_source_ops *o = ae_find_source(reg, names[i]);
        fprintf(f, "\n#### `%s`\n\n%s; `scaling` %s by default.\n\n", o->name, o->help, o->scaling);
        if (o->schema) ae_schema_markdown(o->schema, f);
    }
    fprintf(f, "\n## Model initialisation\n\n`model.init`: the scheme and its keys, and an optional output bias.\n\n");
    ae_schema_markdown(&ae_model_init_schema, f);
    names = ae_layer_names(reg);
    fprintf(f, "\n## Layers\n\n`model.encoder` / `model.decoder` items: `type: NAME` and the keys below "
               "(every layer also takes an optional `name:`).\n");
    for (size_t i = 0; names[i]; i++) {
        const ae_layer_ops *o = ae_find_layer(reg, names[i]);
        fprintf(f, "\n### `%s`\n\n%s\n\n", o->name, o->help);
        if (o->schema) ae_schema_markdown(o->schema, f);
    }
    names = ae_latent_names(reg);
    fprintf(f, "\n## Latents\n\n`model.latent`: `kind: NAME` and the keys below.\n");
    for (size_t i = 0; names[i]; i++) {
        const ae_latent_ops *o = ae_find_latent(reg, names[i]);
        fprintf(f, "\n### `%s`\n\n%s\n\n", o->name, o->help);
        if (o->schema) ae_schema_markdown(o->schema, f);
    }
    names = ae_objective_names(reg);
    fprintf(f, "\n## Objectives\n\n`loss`: `type: NAME` and the keys below (`loss: NAME` for the defaults).\n");
    for (size_t i = 0; names[i]; i++) {
        const ae_objective_ops *o = ae_find_objective(reg, names[i]);
        fprintf(f, "\n### `%s`\n\n%s\n\n", o->name, o->help);
        if (o->schema) ae_schema_markdown(o->schema, f);
    }
    names = ae_corruption_names(reg);
    fprintf(f, "\n## Corruptions\n\n`corruption`: `type: NAME` and the keys below.\n");
    for (size_t i = 0; names[i]; i++) {
        const ae_corruption_ops *o = ae_find_corruption(reg, names[i]);
        fprintf(f, "\n### `%s`\n\n%s\n\n", o->name, o->help);
        if (o->schema) ae_schema_markdown(o->schema, f);
    }
    names = ae_pretrainer_names(reg);
    fprintf(f, "\n## Pretrainers\n\n`pretrain.method`: NAME; its keys below, beside the stage's (`pretrain` above).\n");
    for (size_t i = 0; names[i]; i++) {
        const ae_pretrainer_ops *o = ae_find_pretrainer(reg, names[i]);
        fprintf(f, "\n### `%s`\n\n%s\n\n", o->name, o->help);
        if (o->schema) ae_schema_markdown(o->schema, f);
    }
    names = ae_regularizer_names(reg);
    fprintf(f, "\n## Regularizers\n\n`regularizers:` items: `type: NAME` and the keys below.\n");
    for (size_t i = 0; names[i]; i++) {
        const ae_regularizer_ops *o = ae_find_regularizer(reg, names[i]);
        fprintf(f, "\n### `%s`\n\n%s\n\n", o->name, o->help);
        if (o->schema) ae_schema_markdown(o->schema, f);
    }
}

/* The keys under `path` of one kind of unit, as a schema whose cases are the units: "path.sw",
 * "path.sw=NAME" per unit, then each unit's keys once. schema_of(reg, name) is the unit's table. */
static void unit_keys(const ae_registry *reg, const char *path, const char *sw, const char *const *names,
                      const ae_schema *(*schema_of)(const ae_registry *, const char *), FILE *f)
{
    size_t n = 0;
    while (names[n]) n++;
    ae_schema_case *cases = calloc(n ? n : 1, sizeof *cases);
    if (!cases) return;
    for (size_t i = 0; i < n; i++) cases[i] = (ae_schema_case){names[i], schema_of(reg, names[i])};
    const ae_key key = {sw, AE_KEY_STR, AE_KEY_ELSEWHERE, NULL, 0, 0, names, "", NULL, NULL};
    const ae_schema units = {path, &key, 1, sw, cases, n};
    ae_schema_keys(&units, path, f);
    free(cases);
}

static const ae_schema *latent_schema(const ae_registry *r, const char *n) { return ae_find_latent(r, n)->schema; }
static const ae_schema *objective_schema(const ae_registry *r, const char *n)
{
    return ae_find_objective(r, n)->schema;
}
static const ae_schema *corruption_schema(const ae_registry *r, const char *n)
{
    return ae_find_corruption(r, n)->schema;
}
static const ae_schema *source_schema(const ae_registry *r, const char *n) { return ae_find_source(r, n)->schema; }

void ae_config_keys(const ae_registry *reg, FILE *f)
{
    ae_schema_keys(&ae_config_schema, "", f);
    fprintf(f, "model.latent\n");
    const char *const *variants = ae_variant_names(reg);
    for (size_t i = 0; variants[i]; i++) fprintf(f, "variant=%s\n", variants[i]);
    unit_keys(reg, "model.latent", "kind", ae_latent_names(reg), latent_schema, f);
    unit_keys(reg, "loss", "type", ae_objective_names(reg), objective_schema, f);
    unit_keys(reg, "corruption", "type", ae_corruption_names(reg), corruption_schema, f);
    unit_keys(reg, "data", "source", ae_source_names(reg), source_schema, f);
    /* the keys every source takes, but source (above) */
    const ae_key *shared = ae_data_schema.keys;
    for (size_t i = 0; i < ae_data_schema.nkeys; i++) {
        const ae_schema one = {"data", &shared[i], 1, NULL, NULL, 0};
        if (strcmp(shared[i].name, "source")) ae_schema_keys(&one, "data", f);
    }
}

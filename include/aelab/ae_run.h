/* One training run from a config file: resolve the config (variant preset, --set overrides,
 * defaults), load the data, build the model, train, evaluate, and write every output. */
#ifndef AE_RUN_H
#define AE_RUN_H

#include "ae_config.h"
#include "ae_data.h"
#include "ae_model.h"
#include "ae_optim.h"
#include "ae_schema.h"
#include "ae_train.h"

typedef struct ae_run_opts {
    ae_registry *registry;       /* required: the units and plug-ins (caller-owned: ae_registry_new +
                                    ae_register_builtins); a config's `plugins:` load into it */
    const char *out_dir;         /* --out (overrides outputs.dir) */
    const char *data_dir;        /* --data-dir */
    const char *const *sets;     /* --set key.path=value, applied in order */
    size_t nsets;
    int check_only;              /* validate and print the resolved config, train nothing */
    int progress;                /* -1 auto (terminal), 0 off, 1 on */
    int threads;                 /* > 0 overrides the config's `threads` */
    const char *baseline_cache;  /* a folder for the PCA baseline's results, shared by the runs of an
                                    experiment (NULL: none; ae_run_baselines) */
} ae_run_opts;

/* Everything a run reads from its config, after validation. */
typedef struct ae_run {
    ae_cfg *root;                /* the resolved config (defaults filled, mirror expanded) */
    const char *path;
    char name[128];
    unsigned long seed;
    long threads;
    ae_dataset train, test;      /* test.n == 0 when there is no test split */
    ae_dataset val;              /* data.validation: rows held out of training (val.n == 0: none) */
    ae_train_cfg tc;
    ae_optim_cfg oc;
    char out_dir[4096];
    int plots, save_codes, pca, probe;
    long probe_folds, eval_batch, grid;
    long checkpoint_every;       /* epochs between checkpoints (0 = none; resume needs them) */
    ae_oneclass oneclass;        /* data.normal_labels / data.exclude_label: the classes trained on;
                                    the others are anomalies, scored per test sample (scores.csv,
                                    anomaly_auroc, anomaly_auprc); oneclass.n == 0: none */
    long probe_train;            /* training rows used to fit the probe (0 = all) */
    long nll_samples;            /* gaussian latent: importance samples for the NLL estimate (0 = off) */
    long anomaly_elbo;           /* one-class, gaussian latent: codes per test sample of the -ELBO score
                                    (0: the objective's score or the reconstruction error) */
    int epoch_elbo;              /* gaussian latent: <split>_neg_elbo (sampled codes) every epoch */
    long eval_every;             /* test/validation metrics after every N-th epoch and the last (0: every) */
    long manifold;               /* gaussian 2-D latent, images: NxN decoded latent grid (0 = off) */
    long filters;                /* images: at most this many first-layer filters (0 = off) */
    const char *baseline_cache;  /* ae_run_opts.baseline_cache, else $AELAB_BASELINE_CACHE (NULL: none) */
    ae_rng *rng;
    ae_model *model;
    struct ae_pretrain *pretrain; /* `pretrain:`, the stage before training (ae_pretrain.h); NULL: none */
} ae_run;

/* model.init.from (framework/run/run_warm.c): loads the encoder parameters of the finished run it
 * names into r's model by name (shapes checked; every encoder parameter must be there), opening that
 * run with o's registry and data directory; nothing when the key is absent. Called once before a new
 * run's first epoch (not on resume: the checkpoint holds the parameters). */
int ae_run_warm_start(ae_run *r, const ae_run_opts *o, ae_err *err);
/* model.init.dictionary (framework/run/run_dict.c): the encoder's first convolution from the atoms of
 * a dictionary learned on the training images' patches; nothing when the key is absent. Called once
 * before a new run's first epoch, before the warm start. */
int ae_run_dictionary_init(ae_run *r, ae_err *err);
/* Loads and resolves the config, the data and the model (no training). */
int ae_run_prepare(ae_run *r, const char *path, const ae_run_opts *o, ae_err *err);
/* The same from a config tree (owned by r from here); path names the config in messages and
 * anchors relative plug-in paths. */
int ae_run_prepare_cfg(ae_run *r, ae_cfg *root, const char *path, const ae_run_opts *o, ae_err *err);
void ae_run_free(ae_run *r);
/* Runs a single-run config file (prepare + train + outputs, or print the resolved config when
 * check_only): ae_run_cfg on the loaded tree. A finished run (checkpoint at the last epoch +
 * final.json + every output final.json lists) is skipped; one whose training finished but whose
 * outputs did not (disk full) writes them without training; an interrupted one resumes. (An
 * experiment file, with `runs:` / `experiment:`, is ae_experiment_run's: the caller decides.) */
int ae_run_file(const char *path, const ae_run_opts *o, ae_err *err);
/* A single run from a tree (taken). Before anything is written: the memory estimate
 * (ae_run_check_memory) and the checkpoint/config match are checked, and the run folder is
 * locked. When another process is writing the same folder it returns AE_EINPUT at once with the
 * message "<dir> is being written by process <pid>; nothing done" (or "...by another process;
 * nothing done" when the kernel cannot name it) and leaves the folder untouched. */
int ae_run_cfg(ae_cfg *root, const char *path, const ae_run_opts *o, ae_err *err);
/* Refuses (AE_EINPUT, the estimate and the available memory in the message) a prepared run whose
 * training and evaluation graphs, gradients and optimizer state cannot fit in the memory still
 * available (MemAvailable, or the cgroup's limit when lower); nothing big is allocated to find out.
 * The estimate counts only the largest buffers, so it errs towards letting a run start. */
int ae_run_check_memory(ae_run *r, ae_err *err);
/* 1 when out_dir holds final.json and every file its "files" entry lists (all outputs of a
 * finished run); a final.json without that entry (older runs) counts as complete. */
int ae_run_outputs_complete(const char *out_dir);
/* Opens a finished (or checkpointed) run folder: its config.yaml prepared as a run (data and model)
 * and the parameters of its checkpoint.aelab loaded. For `aelab sample` and friends. */
int ae_run_open(ae_run *r, const char *run_dir, const ae_run_opts *o, ae_err *err);

/* Writes figures, codes and baselines after training, then final.json last, listing them all
 * (run_outputs.c): a run without final.json is not finished. */
int ae_run_outputs(ae_run *r, const double *losses, long nepochs, ae_err *err);
/* The one-class protocol's evaluation (r->oneclass.n > 0; run_anomaly.c): every test sample scored
 * by ae_anomaly_scores (reconstruction error summed over its features), written to scores.csv
 * (index, label, score, is_anomaly), and the AUROC and AUPRC (ae_auroc, ae_auprc) with the anomalous
 * classes positive (NaN when the test split lacks either kind). exclude_label ranks by the score
 * over the feature count, the mean it always used. */
int ae_run_anomaly(ae_run *r, double *auroc, double *auprc, ae_err *err);
/* The baselines of a finished run (run_baselines.c): with outputs.pca_baseline and a code smaller than
 * the input, the PCA at the code size (pca_mse on the evaluation set, pca_acc: the probe on its codes);
 * with outputs.probe and labels, the linear probe on the model's codes (acc); NaN where not computed.
 * With r->baseline_cache, the PCA's numbers are read from / saved to a file there named by a hash of
 * the rows and labels read, the code size and the probe's settings (the same numbers either way).
 * What each cost is said on stderr. */
/* pca_auroc: one-class runs (data.normal_labels), the AUROC of PCA's reconstruction error. */
typedef struct ae_run_baseline { double pca_mse, pca_acc, pca_auroc, acc; } ae_run_baseline;
int ae_run_baselines(ae_run *r, const ae_dataset *ev, size_t cs, const float *codes, ae_run_baseline *b,
                     ae_err *err);
/* kl_sparsity's layer (run_sparsity.c): the `layer:` of the config's first kl_sparsity regularizer into
 * layer ("" when there is none) and the mean activation of that layer over ev (its units and rows):
 * the rho-hat the penalty pulls towards rho. final.json's mean_code_activation is the code's. */
int ae_run_sparsity(ae_run *r, const ae_dataset *ev, char *layer, size_t len, double *mean, ae_err *err);
/* The figures of a finished run that need the model or a baseline (run_figures.c; outputs.plots
 * off: none): manifold.png (a gaussian latent of size 2 on images: decoder outputs over the
 * latent plane), codes_pca.png (2-D codes next to PCA-2 of the same data; outputs.pca_baseline
 * too) and filters.png (images: the first layer's weights), each with its .dat and .gp.
 * ev: the evaluation set, codes its cs-dimensional codes. */
int ae_run_figures(ae_run *r, const ae_dataset *ev, const float *codes, size_t cs, ae_err *err);

/* The config file's sections as schema tables (framework/run/run_schema.c): the top level (its
 * `train` and `outputs` keys are nested sections), `train` (with `train.optimizer`, whose keys
 * depend on its name) and `outputs`, read into an ae_run. */
extern const ae_schema ae_config_schema, ae_train_schema, ae_outputs_schema;
/* The reference of the config keys as Markdown (docs/config.md): the top level, train and outputs,
 * then every layer type and regularizer of `reg` from their tables. */
void ae_config_markdown(const ae_registry *reg, FILE *f);
/* Every dotted key `--set` takes that a schema table describes (the top level, train, outputs,
 * model.latent, loss and corruption with the units of `reg`; data.source), one a line, and "key=value" lines for
 * keys with a fixed set of values (`aelab list --keys`, read by the bash completion). */
void ae_config_keys(const ae_registry *reg, FILE *f);

#endif

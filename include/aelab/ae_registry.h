/* The plug-in registry: layer types, latents (what turns the encoder's output into the code),
 * objectives (reconstruction terms), corruptions (denoising), regularizers (penalty terms), variant
 * presets and data sources (ae_source_ops, ae_data.h), by name.
 * The caller owns it; in-tree units register from one table (ae_register_builtins), out-of-tree
 * ones from a shared library's aelab_plugin_init(ae_registry *). `aelab list` prints it. */
#ifndef AE_REGISTRY_H
#define AE_REGISTRY_H

#include "ae_config.h"
#include "ae_data.h"
#include "ae_graph.h"
#include "ae_rng.h"
#include "ae_schema.h"

#define AE_MAX_HIDDEN 32

/* What a penalty can see of the model graph being built. */
typedef struct ae_taps {
    ae_node *x;        /* clean input (the reconstruction target) */
    ae_node *x_in;     /* the encoder's input (corrupted when denoising, else x) */
    ae_node *code;     /* the code fed to the decoder (z for a gaussian latent) */
    ae_node *mu, *logvar; /* gaussian latent, else NULL */
    ae_node *recon;    /* reconstruction in data space (probabilities when the output is sigmoid) */
    ae_node *logits;   /* pre-sigmoid output when the output activation is sigmoid, else NULL */
    int nhidden;       /* encoder layer outputs, in order (the last one is the code for a
                          deterministic latent) */
    ae_node *hidden[AE_MAX_HIDDEN];
    char hidden_name[AE_MAX_HIDDEN][64]; /* "encoder[0]"; also matched by the layer's `name:` */
    /* per encoder layer: its weight/bias nodes and activation when it is a dense layer, else NULL */
    ae_node *weight[AE_MAX_HIDDEN], *bias[AE_MAX_HIDDEN];
    int act[AE_MAX_HIDDEN];
} ae_taps;

/* What a layer's build function (and a penalty) gets. */
typedef struct ae_build {
    ae_graph *g;
    ae_params *ps;
    ae_rng *rng;        /* the run's RNG (noise ops keep the pointer) */
    ae_taps *taps;
    ae_err *err;
    /* Builds another copy of the encoder (same parameters) on input x and returns its code
     * (deterministic latent: the last encoder layer; gaussian: mu). `tag` makes node names unique.
     * For penalties that need the encoder at other points (finite-difference Jacobians). */
    ae_node *(*encode)(const void *model, struct ae_build *b, ae_node *x, const char *tag);
    const void *model;
} ae_build;

/* A layer type. configure reads its keys from `spec` (a map; "type" is already read) into a
 * private state; build adds its nodes for input x and returns the output (NULL on error, with
 * b->err naming `name`); mirror writes into `out` (an empty map) the spec of the layer that maps
 * this layer's output back to its input shape `in` (NULL = cannot be mirrored); activation /
 * set_activation read and change the layer's activation (NULL when it has none). */
typedef struct ae_layer_ops {
    const char *name;
    const char *help;
    int (*configure)(ae_cfg *spec, void **state, ae_err *err);
    ae_node *(*build)(void *state, ae_build *b, const char *name, ae_node *x);
    int (*mirror)(void *state, ae_shape in, ae_cfg *out, ae_err *err);
    /* the layer's activation (so the decoder can switch its last one to logits), -1 if none */
    int (*activation)(void *state);
    void (*set_activation)(void *state, int act);
    void (*destroy)(void *state);
    const ae_schema *schema; /* its keys (besides type and name), for `aelab list` and docs; may be NULL */
} ae_layer_ops;

/* A regularizer: one scalar node added to the loss with weight 1 (its own weight inside). */
typedef struct ae_regularizer_ops {
    const char *name;
    const char *help;  /* one line (with its keys and defaults when it has no schema) */
    int (*configure)(ae_cfg *spec, void **state, ae_err *err);
    ae_node *(*penalty)(void *state, ae_build *b, const char *name);
    void (*destroy)(void *state);
    const ae_schema *schema; /* its keys (besides type), for `aelab list` and docs; may be NULL */
} ae_regularizer_ops;

/* What a latent's build gets besides ae_build: whether to sample and where its loss terms go. */
typedef struct ae_latent_io {
    int sample;       /* draw from the posterior (training, sampled evaluation); else its mean/mode */
    const char *tag;  /* NULL in the model's graph; else the tag of an encoder copy built for a
                         penalty ("fd+3"): name the nodes with it, add no terms, leave b->taps alone */
    /* Adds a loss term; *weight is read at every step (the unit owns it: a per-epoch change is one
     * store). NULL when tag is set. */
    void (*add_term)(void *ctx, ae_node *term, const char *name, const float *weight);
    void *ctx;
    /* codes to draw per input row when sampling (0 or 1: one): the rows of the code are then
     * sample-major (row s·B + b is sample s of input b), for importance sampling; a latent that draws
     * one whatever is asked has no k-sample NLL graphs */
    int samples;
} ae_latent_io;

/* A latent unit (`model.latent: {kind: NAME, ...}`). configure reads its keys (besides kind) from
 * `lat` into a private state; build adds its nodes from the encoder output h to the code the decoder
 * reads (its parameters declared on b->ps, its loss terms through io->add_term) and returns the code
 * (NULL on error, b->err set); set_epoch updates its term weights before epoch `epoch` (1-based; may
 * be NULL); sample draws n codes of code_size values from its prior (NULL: no prior: no samples,
 * interpolations or `aelab sample`); log_density gives log p(z) and log q(z|x) of row i's sampled
 * code in a graph built with sample = 1 (t as built; i < samples·B when it drew samples per row;
 * NULL: no posterior density: no ELBO or NLL); observe
 * accumulates statistics of the codes of n rows of an evaluation graph and metrics returns them as up
 * to `max` name/value pairs for final.json, then resets (both NULL when it reports nothing). */
typedef struct ae_latent_ops {
    const char *name;
    const char *help;
    int (*configure)(ae_cfg *lat, void **state, ae_err *err);
    ae_node *(*build)(void *state, ae_build *b, const ae_latent_io *io, ae_node *h);
    void (*set_epoch)(void *state, long epoch);
    int (*sample)(void *state, ae_rng *rng, size_t n, size_t code_size, float *z, ae_err *err);
    void (*log_density)(void *state, const ae_taps *t, size_t i, size_t code_size, double *log_prior,
                        double *log_post);
    void (*observe)(void *state, const ae_taps *t, size_t n);
    int (*metrics)(void *state, const char **names, double *values, int max);
    void (*destroy)(void *state);
    const ae_schema *schema; /* its keys (besides kind), for `aelab list` and docs; may be NULL */
    int own_size;            /* 1: the code's size is its own (not the encoder's output): a mirrored
                                decoder starts with a dense layer back to the encoder's output */
} ae_latent_ops;

/* A corruption (`corruption: {type: NAME, ...}`, denoising). configure reads its keys (besides type)
 * from `spec` into a private state, given the training data (its value range is the default of
 * clip bounds and salt/pepper values); build adds the node(s) that corrupt the clean input x and
 * returns the encoder's input (NULL on error, b->err set). The model builds it into training graphs
 * and the AE_MODE_EVAL_NOISY ones (the denoised metrics corrupt the test inputs with it). build NULL:
 * no corruption (`none`: the input goes in clean, no denoised metrics). */
typedef struct ae_corruption_ops {
    const char *name;
    const char *help;
    int (*configure)(ae_cfg *spec, const ae_dataset *data, void **state, ae_err *err);
    ae_node *(*build)(void *state, ae_build *b, ae_node *x);
    void (*destroy)(void *state);
    const ae_schema *schema; /* its keys (besides type), for `aelab list` and docs; may be NULL */
} ae_corruption_ops;

/* What an objective's build gets besides ae_build (whose taps hold x, the target; recon, the
 * decoder's output; logits when it asked for them and the last decoder layer is a sigmoid; code,
 * mu/logvar and the encoder's layers). */
typedef struct ae_objective_io {
    int sample; /* the latent draws from its posterior in this graph (training, sampled evaluation) */
    /* Adds a loss term; *weight is read at every step (owned by the unit). The first term is the
     * reconstruction term the evaluation reads ("recon"). */
    void (*add_term)(void *ctx, ae_node *term, const char *name, const float *weight);
    void *ctx;
    /* Builds another copy of the decoder (same parameters) on the code z, its node names tagged with
     * `tag`; returns its output in data space and, in *logits, the sigmoid's input when the unit asked
     * for logits (else NULL). NULL on error (b->err set). For objectives over several codes. */
    ae_node *(*decode)(ae_build *b, ae_node *z, const char *tag, ae_node **logits);
    /* Leaves the latent's terms (its KL) out of this graph's loss: for objectives whose terms are a
     * whole bound that already holds them (iwae in training graphs). */
    void (*omit_latent_terms)(void *ctx);
} ae_objective_io;

/* An objective (`loss: {type: NAME, ...}`, or `loss: NAME`): the reconstruction term(s) of the loss
 * (the latent's and the regularizers' terms follow them). configure reads its keys (besides type)
 * from `spec`; root is the whole config (for messages that name other keys, e.g. data.scaling) and
 * data the training set (to refuse targets the objective cannot compare). build adds its terms from
 * b->taps through io->add_term (AE_OK, or b->err's code). The Deep SVDD distance (`svdd`) reads
 * taps->code and a centre it keeps in a STATE parameter set by prepare; the IWAE bound reads
 * taps->mu/logvar, draws its k codes with ae_reparam (ae_latent.h) and decodes each with io->decode. */
typedef struct ae_objective_ops {
    const char *name;
    const char *help;
    int (*configure)(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, void **state, ae_err *err);
    int (*build)(void *state, ae_build *b, const ae_objective_io *io);
    int (*sum_per_sample)(void *state); /* 1: its terms sum over a sample's values; NULL or 0: mean */
    void (*destroy)(void *state);
    const ae_schema *schema;       /* its keys (besides type), for `aelab list` and docs; may be NULL */
    int logits;                    /* 1: a sigmoid last decoder layer is built without it, the sigmoid
                                      added as an op after it, and taps->logits is its input */
    const char *output_activation; /* the default `model.output_activation` of a mirrored decoder
                                      (NULL: identity) */
    /* Optional (NULL: none). prepare: called once before the first training epoch of a new run (not on
     * resume) with the codes of the n training rows (n x code_size, evaluation mode) of the model as
     * it starts (after any warm start): state it keeps in parameters (a STATE kind, saved in the
     * checkpoint) is set here (Deep SVDD's centre). score: the anomaly score of each of the k rows of
     * an evaluation graph forwarded to its code (taps->code) into out[0..k), higher = more anomalous;
     * returns 1 when it scored, 0 to leave it to the reconstruction error. */
    int (*prepare)(void *state, ae_params *ps, const float *codes, size_t n, size_t code_size, ae_err *err);
    int (*score)(void *state, const ae_params *ps, const ae_taps *t, size_t k, double *out);
} ae_objective_ops;

/* A variant preset: YAML merged under the user's config (the user's keys win). */
typedef struct ae_variant {
    const char *name;
    const char *help;
    const char *preset_yaml;
} ae_variant;

typedef struct ae_registry ae_registry;

/* An empty registry, owned by its caller (NULL when out of memory): register the built-ins
 * (ae_register_builtins, ae_builtins.h) and units of your own, then hand it to the runs
 * (ae_run_opts.registry). Freeing it dlcloses the plug-ins it loaded. */
ae_registry *ae_registry_new(void);
void ae_registry_free(ae_registry *r);
int ae_register_layer(ae_registry *r, const ae_layer_ops *ops);
int ae_register_regularizer(ae_registry *r, const ae_regularizer_ops *ops);
int ae_register_latent(ae_registry *r, const ae_latent_ops *ops);
int ae_register_variant(ae_registry *r, const ae_variant *v);
int ae_register_source(ae_registry *r, const ae_source_ops *ops);
int ae_register_corruption(ae_registry *r, const ae_corruption_ops *ops);
int ae_register_objective(ae_registry *r, const ae_objective_ops *ops);
const ae_layer_ops *ae_find_layer(const ae_registry *r, const char *name);
const ae_regularizer_ops *ae_find_regularizer(const ae_registry *r, const char *name);
const ae_latent_ops *ae_find_latent(const ae_registry *r, const char *name);
const ae_variant *ae_find_variant(const ae_registry *r, const char *name);
const ae_source_ops *ae_find_source(const ae_registry *r, const char *name);
const ae_corruption_ops *ae_find_corruption(const ae_registry *r, const char *name);
const ae_objective_ops *ae_find_objective(const ae_registry *r, const char *name);
/* Names for "did you mean" and listings (NULL-terminated arrays owned by the registry). */
const char *const *ae_layer_names(const ae_registry *r);
const char *const *ae_regularizer_names(const ae_registry *r);
const char *const *ae_latent_names(const ae_registry *r);
const char *const *ae_variant_names(const ae_registry *r);
const char *const *ae_source_names(const ae_registry *r);
const char *const *ae_corruption_names(const ae_registry *r);
const char *const *ae_objective_names(const ae_registry *r);
/* Loads a plug-in library (dlopen, its ABI checked, aelab_plugin_init). Errors name the path (and
 * dlerror() when it does not load). A
 * library is loaded once per registry: loading the same real path again (every job of an
 * experiment asks) is a no-op success. */
int ae_registry_load_plugin(ae_registry *r, const char *path, ae_err *err);
/* Prints every registered unit with its help and the keys of its schema (for `aelab list`). */
void ae_registry_print(const ae_registry *r, FILE *f);

/* The symbols a plug-in exports: its entry point, int aelab_plugin_init(ae_registry *), which
 * registers its units, and the plug-in ABI it was built for. Every plug-in writes, at file scope,
 *     AE_PLUGIN_EXPORT_ABI;
 * A library without aelab_plugin_abi, or built for another ABI, is refused at load (AE_EINPUT naming
 * the file, its ABI and this aelab's). AE_PLUGIN_ABI goes up when a struct or function a plug-in
 * uses changes incompatibly. The surface it versions: this header and the ones it includes
 * (ae_config.h, ae_schema.h, ae_data.h, ae_graph.h, ae_rng.h, ae_error.h), and ae_taps.h; a plug-in
 * includes only these (installed: pkg-config --cflags aelab, or CMake's aelab::aelab). The other
 * public headers serve programs built on libaelab and are not covered. */
#define AE_PLUGIN_ABI 7 /* 2: ae_layer_ops / ae_regularizer_ops end with `schema`; 3: AE_MAX_IN 16
                          (ae_node's input arrays); 4: ae_dataset gained class names and the
                          binarization draw, ae_act gained leaky ReLU; 5: ae_source_ops ends with
                          `schema` (an older plug-in's source would be read past its end); 6:
                          ae_objective_ops ends with `prepare` and `score`; 7: ae_node's fusion
                          fields (issue 17: chains, loss tails, forks) moved the fields after them */
#define AE_PLUGIN_EXPORT_ABI                                                                       \
    extern const int aelab_plugin_abi;                                                             \
    const int aelab_plugin_abi = AE_PLUGIN_ABI
typedef int (*ae_plugin_init_fn)(ae_registry *r);

#endif

/* Private state of ae_model shared by model_config.c (reading), model_init.c (model.init) and
 * model_build.c (graphs). */
#ifndef AE_MODEL_INTERNAL_H
#define AE_MODEL_INTERNAL_H

#include "ae_ops.h"
#include "ae_model.h"

#define AE_MAX_LAYERS 32
#define AE_MAX_REGS 8
#define AE_MAX_GRAPHS 8

typedef struct ae_layer {
    const ae_layer_ops *ops;
    void *state;
    char name[64];   /* "encoder[0]" or the layer's `name:` */
} ae_layer;

typedef struct ae_reg {
    const ae_regularizer_ops *ops;
    void *state;
    char name[32];
    float weight;    /* its term's weight in the loss (1: a penalty carries its own weight) */
} ae_reg;

struct ae_model {
    int c, h, w;
    size_t d;
    ae_layer enc[AE_MAX_LAYERS], dec[AE_MAX_LAYERS];
    int nenc, ndec;
    const ae_latent_ops *lat; /* the latent unit (model.latent.kind) and its state */
    void *lat_state;
    int lat_terms;         /* loss terms the latent adds */
    const ae_objective_ops *obj; /* the objective unit (loss.type) and its state */
    void *obj_state;
    const ae_corruption_ops *cor; /* the corruption unit (corruption.type) and its state */
    void *cor_state;
    ae_reg regs[AE_MAX_REGS];
    int nregs;
    ae_params *ps;
    ae_rng *rng;
    size_t code_size;
    ae_mgraph *graphs[AE_MAX_GRAPHS];
    int ngraphs;
    ae_graph *decode_g;    /* decoder-only graph for ae_model_decode */
    ae_node *decode_in, *decode_out;
    int64_t decode_batch;
};

/* model_init.c: model.init, read before the model is built (its keys checked with the others) and
 * applied once the parameters are declared: allocation, the scheme's draws, the output bias. */
typedef struct ae_init_cfg {
    const char *scheme;           /* auto | torch | glorot | normal (borrowed from the config tree) */
    int output_bias;              /* 0 none (or absent), 1 logit_mean */
    double std;                   /* normal */
    double gain, conv_gain;       /* glorot */
    const ae_cfg *output_bias_at; /* the key's node (messages) */
    const char *from;             /* a finished run whose encoder parameters are loaded (run layer) */
} ae_init_cfg;
struct ae_dataset;
int ae_model_read_init(ae_cfg *model, ae_init_cfg *ic, ae_err *err);
int ae_model_init_params(ae_model *m, const ae_init_cfg *ic, const struct ae_dataset *data, unsigned long seed,
                         ae_err *err);

/* model_build.c: builds the graph for (batch, mode) into mg; compile when `compile`. */
int ae_model_build(ae_model *m, ae_mgraph *mg, int64_t batch, ae_mode mode, int compile, ae_err *err);
/* The same with `samples` codes per input (AE_MODE_EVAL_IW; 1 for the other modes). */
int ae_model_build_n(ae_model *m, ae_mgraph *mg, int64_t batch, ae_mode mode, int samples, int compile,
                     ae_err *err);

#endif

/* Parameter store of one model: every parameter's values, gradients and optimizer state live in
 * single contiguous buffers (one vectorised optimizer pass), shared by all graphs of the model. */
#ifndef AE_PARAMS_H
#define AE_PARAMS_H

#include "ae_graph.h"
#include "ae_rng.h"

/* WEIGHT and BIAS as dense/conv layers have them; SCALE and SHIFT a multiplicative weight that
 * starts at 1 and an additive one that starts at 0 (batch norm's weight and bias, PyTorch's ones_
 * and zeros_); STATE and STATE_ONE are not trained (batch norm's running statistics, starting at 0
 * and 1): ops write them in training forward passes, the optimizer and its weight decay leave them
 * alone (ae_params_trainable), checkpoints save them with the rest. SCALE, SHIFT and the STATE
 * kinds draw no random numbers under either init scheme (as in PyTorch). */
typedef enum { AE_PARAM_WEIGHT, AE_PARAM_BIAS, AE_PARAM_SCALE, AE_PARAM_STATE, AE_PARAM_STATE_ONE,
               AE_PARAM_SHIFT } ae_param_kind;

typedef struct ae_param_info {
    char name[96];      /* "encoder[0].weight" */
    ae_shape shape;     /* dense weight [out, in]; conv [out, in, kh, kw]; bias [out] */
    size_t off, n;      /* offset and count in the store's buffers */
    int fan_in, fan_out; /* as PyTorch computes them (for init) */
    ae_param_kind kind;
    int gain_relu;      /* the layer is followed by a ReLU (aelab's own default init uses He) */
} ae_param_info;

struct ae_params {
    size_t n, cap;
    ae_param_info *p;
    size_t total;       /* floats */
    float *val, *grad;  /* total floats each, 64-byte aligned; NULL until ae_params_alloc */
};

ae_params *ae_params_new(void);
void ae_params_free(ae_params *ps);
/* Declares a parameter, or finds the one with this name (shape must match). Returns its index, or
 * -1 with err set. Declaring after ae_params_alloc only finds existing parameters. */
int ae_params_declare(ae_params *ps, const char *name, ae_shape shape, int fan_in, int fan_out,
                      ae_param_kind kind, int gain_relu, ae_err *err);
int ae_params_alloc(ae_params *ps, ae_err *err);
/* Initialisation schemes (ae_init_scheme.name):
 *   "torch":  draws in declaration order exactly as PyTorch does for nn.Linear / nn.Conv2d
 *             (weight: kaiming_uniform a=sqrt(5) -> U(+-1/sqrt(fan_in)) up to rounding; bias
 *             U(+-1/sqrt(fan_in))), from an mt19937 seeded like torch.manual_seed(seed);
 *   "auto":   aelab's default: He-uniform for weights of layers followed by ReLU, Glorot-uniform
 *             otherwise, zero biases; drawn from `rng`;
 *   "glorot": Lasagne's GlorotUniform(gain) for every weight, U(+-gain·sqrt(6/(fan_in+fan_out))),
 *             `gain` for dense weights and `conv_gain` for convolution kernels (4-d weights), zero
 *             biases; drawn from `rng` in declaration order (Ruff et al. 2018's Theano code: conv
 *             gain sqrt(2/(1+0.01²)), dense gain 1);
 *   "normal": weights N(0, std²) (GSL's ziggurat gaussian from `rng`, in declaration order), zero
 *             biases (Kingma & Welling 2014 use std 0.01). */
typedef struct ae_init_scheme {
    const char *name;       /* torch | auto | glorot | normal */
    double std;             /* normal */
    double gain, conv_gain; /* glorot */
} ae_init_scheme;
int ae_params_init(ae_params *ps, const ae_init_scheme *s, unsigned long seed, ae_rng *rng, ae_err *err);
/* The index of the parameter called `name` ("decoder[2].bias"), or -1. */
int ae_params_find(const ae_params *ps, const char *name);
/* Trained values (as PyTorch's parameters(): running statistics are buffers, not counted). */
size_t ae_params_count(const ae_params *ps);
/* 1 when the optimizer updates parameter i (every kind but the STATE ones). */
int ae_params_trainable(const ae_params *ps, size_t i);
/* The store's trainable stretches in order: the [off, off + len) ranges of the buffers that hold
 * no STATE parameter (one range, the whole store, when there is none). Returns how many there are
 * and writes the first max of them (off, len may be NULL when max is 0). */
size_t ae_params_trainable_ranges(const ae_params *ps, size_t *off, size_t *len, size_t max);

#endif

/* The autograd core: a static graph of nodes in topological order, built once per batch shape.
 * Building infers shapes (errors name the node); compiling allocates every buffer and creates every
 * oneDNN primitive; a step is then a forward walk and a backward walk with no allocation. */
#ifndef AE_GRAPH_H
#define AE_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "ae_error.h"

#define AE_MAX_IN 16 /* a weighted sum of loss terms takes them all (AE_MAX_TERMS) */
#define AE_MAX_DIMS 4

typedef struct ae_shape {
    int nd;
    int64_t d[AE_MAX_DIMS]; /* row-major; d[0] is the batch for activations */
} ae_shape;

ae_shape ae_shape_make(int nd, const int64_t *d);
ae_shape ae_shape2(int64_t a, int64_t b);
ae_shape ae_shape4(int64_t n, int64_t c, int64_t h, int64_t w);
size_t ae_shape_numel(ae_shape s);
int ae_shape_eq(ae_shape a, ae_shape b);
const char *ae_shape_str(ae_shape s, char *buf, size_t len); /* "128x1x28x28" */

typedef struct ae_node ae_node;
typedef struct ae_graph ae_graph;

/* An optimizer update run inside the backward where a parameter's gradient becomes final
 * (ae_graph_backward_update): fn(ctx, param, lo, hi) updates elements [lo, hi) of parameter
 * `param` (its index in the store) and returns nonzero when a gradient there is not finite; any
 * thread may call it, once per element. bad is set when a call returned nonzero. */
typedef struct ae_update {
    int (*fn)(void *ctx, int param, size_t lo, size_t hi);
    void *ctx;
    _Atomic int bad;
} ae_update;

/* A graph-wide compile pass (fusion and layout planning): runs once per compile, after consumers,
 * views and accumulate flags are known and before buffers and prepares; it writes its decisions
 * into the nodes (ae_node.fuse, ae_node.blk). */
typedef int (*ae_graph_plan_fn)(ae_graph *g, ae_err *err);

/* An op: what a node computes. infer runs when the node is added (set n->shape from the inputs,
 * reject bad shapes with a message naming n->name); plan is the graph-wide pass that decides this
 * op's fusions and layouts (ae_graph_compile runs each distinct plan of the graph's ops once, in
 * order of first appearance, before any prepare); prepare runs at compile time, once buffers
 * exist (create primitives, scratch), reading the plan's decisions; forward computes n->val;
 * backward adds n->grad's effect into each input's grad (overwrite when !n->accum[i], accumulate
 * otherwise); destroy frees state. Any of plan/prepare/backward/destroy may be NULL (backward
 * NULL = no gradient flows through). */
typedef struct ae_op {
    const char *name;
    int (*infer)(ae_node *n, ae_err *err);
    int (*prepare)(ae_graph *g, ae_node *n, ae_err *err);
    void (*forward)(ae_node *n);
    void (*backward)(ae_node *n);
    void (*destroy)(ae_node *n);
    ae_graph_plan_fn plan;
    int view; /* 1: the node is a view of input 0 (shares its value, and its gradient when input 0
                 has no other consumer): forward and backward have nothing to copy */
    /* Parameter-gradient work the node's backward leaves for later (a small dense layer's dW and
     * db: nothing on the walk waits for them), run by ae_graph_backward after the walk as fixed
     * tasks of every such node in one parallel region: tasks(n) how many (0: none), task(n, i,
     * thread) the i-th, on a thread < ae_graph_threads(g). NULL: none. */
    int (*tasks)(const ae_node *n);
    void (*task)(ae_node *n, int i, int thread);
    /* 1: a penalty: its backward writes (or adds to, as the graph says) its inputs' gradients in
     * full, from values and its own gradient alone (l1, KL sparsity, contractive). When it comes
     * after a dense chain in graph order (so runs its backward first), the chain may still link
     * through a layer whose output or weight it reads, adding to those gradients (ops/fuse.c). */
    int penalty;
    /* Its oneDNN primitives wait in barriers for a whole OpenMP team even inside a region (batch norm):
     * the graph never runs it in task lanes or a one-region step, whose other threads serve tasks. */
    int no_lanes;
} ae_op;

/* A consumer edge: node->in[slot] is the node it is listed on. */
typedef struct ae_use {
    ae_node *node;
    int slot;
} ae_use;

/* How a node shares its input 0's buffers (ae_op.view ops; decided at compile). */
typedef enum { AE_SHARE_NONE = 0, AE_SHARE_VAL = 1, AE_SHARE_GRAD = 2 } ae_share;

/* Fusion decisions of the compile pass (framework/ops/fuse.c), read by the ops' prepare and run
 * functions. All 0/NULL when no pass ran. */
typedef struct ae_fusion {
    int post_act;        /* dense, conv: the activation runs as a post-op of the main primitive */
    int dz_ready;        /* dense: its sole gradient writer hands it dZ = dY·act'(Y), not dY (a
                            sigmoid layer read by an MSE, a ReLU layer read by a dense layer) */
    int mask_dx;         /* dense: its dX is a ReLU dense producer's dY: masked into that one's dZ */
    int grad_in_fwd;     /* mse: the prediction's gradient is written in the forward pass */
    int sig_dz;          /* mse: writes its sigmoid dense producer's dZ instead of dY */
    ae_node *chain_prev, *chain_next; /* dense: neighbours in a chain of dense layers */
    ae_node *loss_tail;  /* dense: the last layer of a split chain (conv: an identity conv run in
                            batch blocks) whose BCE-on-logits loss (this node) runs its per-element
                            work in the chain's row blocks (the conv's blocks of images) */
    ae_node *noise_head; /* dense: the first layer of a split chain whose input is this gaussian
                            corruption's or reparameterisation's output, made in the chain's row blocks */
    int in_chain;        /* bce_logits, corrupt, reparam: that loss, corruption or sample (ops_loss.c,
                            ops_latent.c) */
    ae_node *fork[2];    /* dense: the two dense layers (in graph order) that alone read this one's
                            output, split in row blocks with it: their forward and backward run in
                            its blocks, their dW slices in its tasks (a VAE's encoder and heads) */
    ae_node *fork_of;    /* dense: the layer whose fork this one is */
    int keep_blocked;    /* conv: the output stays in the forward primitive's channel-blocked
                            layout (ae_node.blk): every reader is a conv or dense layer */
} ae_fusion;

struct ae_node {
    const ae_op *op;
    int id;
    char name[96];             /* e.g. "model.encoder[1] (dense)" */
    ae_node *in[AE_MAX_IN];
    int nin;
    ae_shape shape;
    size_t numel;
    float *val, *grad;         /* grad is NULL when no gradient is needed */
    int needs_grad;            /* some parameter upstream: gradient must reach this node */
    int param;                 /* >= 0: index in the graph's parameter store, else -1 */
    unsigned char accum[AE_MAX_IN];
    const ae_use *cons;        /* consumer edges, in graph order (set at compile, before any plan) */
    int ncons;
    ae_share share;            /* view ops: what is shared with input 0 (set at compile) */
    ae_fusion fuse;            /* the compile pass's decisions */
    /* op attributes, set by the constructor (each op names its indices) */
    int iattr[8];
    float fattr[4];
    const void *pattr;         /* borrowed pointer attribute (e.g. a taps struct) */
    void *state;               /* op-private, owned through op->destroy */
    int pinned;                /* read by the caller after a step (codes, reconstructions): keeps
                                  the row-major layout (a conv may otherwise keep its output in a
                                  blocked layout that only its conv consumers read) */
    int blk;                   /* > 0: value and gradient are kept channel-blocked (oneDNN's
                                  nChw{blk}c of the [N, C, H, W] its conv consumers read), set by
                                  the compile pass (framework/ops/fuse.c); 0: row-major */
    int skip;                  /* training graphs: not on the way to the loss (ae_graph_forward_loss
                                  leaves it out) */
    double flops;              /* floating-point operations of one forward + backward (set by
                                  heavy ops at prepare; for throughput reports) */
    int threads;               /* threads its prepare, forward and backward run on: 1 when its work
                                  is too small to pay for a parallel region, 0 = the graph's (all);
                                  decided at compile (ae_graph_plan_threads, then the ops' plan) */
    int final_ranges;          /* parameter nodes: its sole gradient writer reports every final
                                  range of the gradient (ae_graph_param_final), set at prepare */
    ae_update *update;         /* parameter nodes with final_ranges, during ae_graph_backward_update */
};

typedef struct ae_params ae_params;

/* A graph for one batch size. params is shared between graphs of the same model (not owned). */
ae_graph *ae_graph_new(ae_params *params, int64_t batch, int training);
void ae_graph_free(ae_graph *g);
int64_t ae_graph_batch(const ae_graph *g);
int ae_graph_training(const ae_graph *g);
ae_params *ae_graph_params(const ae_graph *g);
/* Adds a node; runs op->infer. Returns NULL (err set) on a shape error or a previous error: once
 * an add failed, later adds return NULL too, so builders can check once at the end. */
ae_node *ae_graph_add(ae_graph *g, const ae_op *op, const char *name, ae_node *const *in, int nin,
                      const int *iattr, int niattr, const float *fattr, int nfattr, ae_err *err);
/* An input placeholder of the given shape (the caller fills n->val after compile). */
ae_node *ae_graph_input(ae_graph *g, const char *name, ae_shape shape, ae_err *err);
/* The parameter node bound to store entry `index` (created on first use, then the same node). */
ae_node *ae_graph_param(ae_graph *g, int index, ae_err *err);
/* Marks what the loss needs (skip, needs_grad), lists every node's consumers, decides views and
 * overwrite/accumulate per edge, runs the ops' plan passes, allocates values/grads, runs every
 * prepare. `loss` is the scalar node backward starts from (NULL for inference graphs). */
int ae_graph_compile(ae_graph *g, ae_node *loss, ae_err *err);
/* Compile step (run by ae_graph_compile before the ops' plan passes, which may refine it for their
 * nodes): n->threads = 1 for every node whose largest operand (its value or an input) has fewer
 * than AE_PAR_TEAM_MIN elements, else 0 (framework/graph/graph_threads.c). */
void ae_graph_plan_threads(ae_graph *g);
/* OpenMP threads when the graph was compiled (the most a region of its deferred tasks uses). */
int ae_graph_threads(const ae_graph *g);
/* The deferred parameter-gradient tasks (ae_op.tasks) of every node, in one region (backward order,
 * handed out dynamically); called by ae_graph_backward after its walk. */
void ae_graph_run_tasks(ae_graph *g);
/* The backward walk on one thread while the others run the deferred tasks as their nodes finish
 * (then the walker joins them), in one region; same tasks, same bits. Only when every node on the
 * walk runs on one thread, there are tasks and threads: returns 0 (nothing done) otherwise. */
int ae_graph_backward_lanes(ae_graph *g);
/* Forward walk over every node. */
void ae_graph_forward(ae_graph *g);
/* A training step's forward: only the nodes the loss needs (not, say, the sigmoid of logits). */
void ae_graph_forward_loss(ae_graph *g);
/* Forward up to and including `upto`, every node on the way (codes, reconstructions). */
void ae_graph_forward_to(ae_graph *g, const ae_node *upto);
void ae_graph_backward(ae_graph *g);
/* The backward with the optimizer's update fused into it: every parameter whose gradient writer
 * reports its final ranges (ae_graph_fused_params) is updated through u as each range is done,
 * on the thread that produced it; the caller updates the others after. Returns u->bad. */
int ae_graph_backward_update(ae_graph *g, ae_update *u);
/* A training step: ae_graph_forward_loss, then, when the loss is finite, the backward with the
 * fused update through u (u NULL: none, ae_graph_backward); in one parallel region when every
 * node runs on one thread and the backward has deferred tasks (the second thread wakes during the
 * forward). Returns 0 when the loss is not finite (no backward ran). Same bits either way. */
int ae_graph_train_step(ae_graph *g, ae_update *u);
/* How ae_graph_train_step runs a step on a graph of several threads. One that qualifies for one
 * region: ON, the region on the graph's threads (the others serve the deferred tasks and take half
 * of paired products); OWNERS, on two threads by owners where the graph has a cut (the nodes before
 * it on the first thread, the rest on the second, each running its nodes' deferred tasks: a weight
 * stays on one core; framework/graph/lanes_owner.c), else as ON; OFF, the same schedule on the
 * calling thread alone (forward, backward walk, then the tasks in order; same bits). Any other
 * (nodes on several threads, several regions): ON and OWNERS as compiled, OFF the whole step under a
 * one-thread OpenMP limit (the ops' blocks and slices are fixed at compile: same bits; a oneDNN
 * primitive created for a fixed team, such as a max-pool's backward, still forms it). A profiled
 * step (AELAB_PROFILE) runs as compiled. AUTO, whichever of these the step-time controller
 * (ae_lanes_ctl) measured fastest lately: next to a busy process, one thread; two vCPUs far apart,
 * owners. Compiling sets it from AELAB_LANES (auto, on, owners or off; unset: auto; another value
 * fails the compile); setting it after overrides that and restarts the controller. The controller's
 * state is timing, not training state: the bytes do not depend on it (nothing to checkpoint). */
typedef enum { AE_LANES_AUTO = 0, AE_LANES_ON = 1, AE_LANES_OFF = 2, AE_LANES_OWNERS = 3 } ae_lanes_mode;
void ae_graph_set_lanes(ae_graph *g, ae_lanes_mode mode);
/* How the last ae_graph_train_step ran: 1 the region on the graph's threads, 2 by owners on two, 0
 * its schedule on one thread, -1 not as one region (a node on several threads, no deferred tasks, one thread). */
int ae_graph_step_lanes(const ae_graph *g);
/* The threads the last ae_graph_train_step ran on: the graph's compiled count capped by the current
 * maximum, or 1 (OFF, a graph compiled for one thread). */
int ae_graph_step_threads(const ae_graph *g);

/* The AUTO controller, a pure function of the step times it is given (framework/graph/lanes_ctl.c),
 * over `modes` modes: 0 one thread, 1 the region, 2 by owners (when the graph has a cut). A period
 * starts with a probe: `probe` steps in each region, then `probe` on one thread, each mode's run
 * timed without its first step (the switch: a partner thread that slept through one-thread steps
 * wakes slower, which steady lanes steps do not pay) and its slowest (one preemption of the walking
 * thread, which hits either mode, does not decide); their means choose the mode of the rest of the
 * period (a tie: the region before owners, both before one thread). A probe that confirms the
 * choice doubles the period (up to AE_LANES_SPAN_MAX steps), one that changes it starts again from
 * `period`. Between probes the steps are timed too, in windows of `probe`·AE_LANES_WINDOW: a
 * window whose steps, without its slowest, average more than the fastest other mode's did in the
 * probe (the load or the placement changed) ends the period at once: a probe follows, and doubles
 * the period or restarts it as above. Before its first probe it runs `warm` region steps, untimed
 * (a graph's: AE_LANES_WARM). */
#define AE_LANES_MODES 3 /* one thread, the region, owners */
typedef struct ae_lanes_ctl {
    unsigned period, probe;  /* the shortest period; probe steps per mode */
    unsigned span, pos;      /* this period's steps; steps done in it */
    int modes;               /* 2 or 3 (AE_LANES_MODES) */
    int choice;              /* the mode between probes */
    double sum[AE_LANES_MODES], max[AE_LANES_MODES]; /* [mode]: this probe's seconds (its first step not
                                                         counted), its slowest step */
    double wsum, wmax;       /* the current window's */
    unsigned warm;           /* region steps still to run, untimed, before the first probe */
} ae_lanes_ctl;
#define AE_LANES_PERIOD 256
#define AE_LANES_PROBE 8
/* Lanes steps a graph runs before its first probe (ae_graph_set_lanes): a
 * region's first ~30 steps in a process run slower (W9 near, means of runs of 8: 753, 526, 495,
 * 454, then 333 us a step), and probes taken among them chose one thread for the whole first epoch
 * (bench/analysis_issue17_units.md §7). */
#define AE_LANES_WARM 32
#define AE_LANES_SPAN_MAX 4096
#define AE_LANES_WINDOW 4
void ae_lanes_ctl_init(ae_lanes_ctl *c, unsigned period, unsigned probe, unsigned warm, int modes);
/* The next step's mode (0 one thread, 1 the region, 2 owners); *probing: a probe's step. */
int ae_lanes_ctl_next(const ae_lanes_ctl *c, int *probing);
/* The step is done in `seconds` (time every step: ~50 ns of clock reads). */
void ae_lanes_ctl_done(ae_lanes_ctl *c, double seconds);
/* For ops on the walking thread of a step's region (ae_graph_train_step): runs f(ctx, 0) here and
 * f(ctx, 1) on a thread of the region that waits for tasks (or here, when none has taken it by
 * then); outside such a region both here, in that order. Each half must not depend on the other. */
void ae_graph_pair(void (*f)(void *ctx, int half), void *ctx);
/* 1 when ae_graph_pair would offer the second half to another thread (the calling thread walks a
 * step's region on two or more threads), 0 when it would run both here: an op whose halves round
 * like its whole product may then run the whole, one call instead of two. */
int ae_graph_paired(void);
/* Per parameter of the store (its index): 1 when ae_graph_backward_update updates it; NULL when
 * it updates none (then ae_graph_backward_update is ae_graph_backward). */
const unsigned char *ae_graph_fused_params(const ae_graph *g);
/* For ops, from their backward or tasks: elements [lo, hi) of parameter node p's gradient are
 * final; runs the fused update when one is on (p->update). */
void ae_graph_param_final(ae_node *p, size_t lo, size_t hi);
size_t ae_graph_size(const ae_graph *g);
ae_node *ae_graph_node(const ae_graph *g, size_t i);
/* Σ node flops: one training step's floating-point work of the heavy ops. */
double ae_graph_flops(const ae_graph *g);
/* Bytes of activations + grads + op scratch (for reports). */
size_t ae_graph_bytes(const ae_graph *g);
/* Reserve op scratch at prepare time (zeroed, freed with the graph, 64-byte aligned). */
float *ae_graph_scratch(ae_graph *g, size_t nfloats, ae_err *err);

#endif

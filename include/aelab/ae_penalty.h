/* Penalty ops for the in-tree regularizers: scalar nodes (each with its weight inside) computed in
 * plain C loops, plus the input perturbation used by finite-difference Jacobian estimates. */
#ifndef AE_PENALTY_H
#define AE_PENALTY_H

#include "ae_dnnl.h"
#include "ae_graph.h"
#include "ae_rng.h"

/* weight · mean over the batch of Σ_j |h_j| (subgradient 0 at 0). */
ae_node *ae_l1_penalty(ae_graph *g, const char *name, ae_node *h, float weight, ae_err *err);
/* weight · Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j = batch mean of h_j clamped to [1e-6, 1-1e-6] (no gradient
 * through the clamp). h should lie in (0, 1). */
ae_node *ae_kl_sparsity_penalty(ae_graph *g, const char *name, ae_node *h, float rho, float weight,
                                ae_err *err);
/* Exact contractive penalty of one dense layer h = act(x·Wᵀ + b), W [M,K], h [N,M]:
 * weight · mean over the batch of ‖∂h/∂x‖²_F = Σ_j act'(a_j)² Σ_i W_ji² (act' from h).
 * Gradients flow to h and W. */
ae_node *ae_contractive_exact(ae_graph *g, const char *name, ae_node *h, ae_node *w, ae_act act,
                              float weight, ae_err *err);
/* y = tile(x, copies) + eps·v with v ~ N(0, I) drawn from rng at every forward: y has
 * copies × N samples, row q·N + n is sample n. No gradient flows back to x. */
ae_node *ae_perturb(ae_graph *g, const char *name, ae_node *x, int copies, float eps, ae_rng *rng,
                    ae_err *err);
/* weight · mean over hp's samples of ‖(hp - h)/eps‖²; hp has q × N samples (from a perturbed copy
 * of the encoder), row q·N + n is compared with row n of h. Gradients flow to hp and h. */
ae_node *ae_jvp_sq(ae_graph *g, const char *name, ae_node *hp, ae_node *h, float eps, float weight,
                   ae_err *err);
/* weight · Σ x² over every entry of x (a parameter): weight decay. */
ae_node *ae_sum_squares(ae_graph *g, const char *name, ae_node *x, float weight, ae_err *err);

extern const ae_op ae_op_l1_penalty, ae_op_kl_sparsity, ae_op_contractive_exact, ae_op_perturb,
    ae_op_jvp_sq, ae_op_sum_squares;

#endif

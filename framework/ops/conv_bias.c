/* The conv bias outside oneDNN: added with the activation on a channel-blocked output (oneDNN 2.6's
 * binary primitive runs its reference code there), and its gradient, summed in a fixed order. */
#include "ae_par.h"
#include "conv_internal.h"

/* A team for a loop over n elements: from 65,536 on, and not inside a region already (a batch
 * block's loop, conv_blocks.c, stays on its thread without opening a nested team). */
static int team(int64_t n) { return n >= 65536 && ae_par_threads() > 1; }

/* Image-channel-block i of bias_act_blocked. */
static inline void bias_act_plane(float *y, int64_t i, int64_t cb, int64_t hw, int blk, const float *b, ae_act act)
{
    float *p = y + i * hw * blk;
    const float *bb = b + (i % cb) * blk;
    if (act == AE_ACT_RELU)
        for (int64_t q = 0; q < hw; q++)
            for (int l = 0; l < blk; l++) {
                float v = p[q * blk + l] + bb[l];
                p[q * blk + l] = v > 0.0f ? v : 0.0f;
            }
    else
        for (int64_t q = 0; q < hw; q++)
            for (int l = 0; l < blk; l++) p[q * blk + l] += bb[l];
}

/* y += b per channel, then the activation; y in nChw{blk}c: [n][c/blk][h][w][c%blk]. */
void conv_bias_act_blocked(float *y, ae_shape sh, int blk, const float *b, ae_act act, float slope)
{
    const int64_t nb = sh.d[0], cb = sh.d[1] / blk, hw = sh.d[2] * sh.d[3];
    if (team(nb * cb * hw * blk)) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < nb * cb; i++) bias_act_plane(y, i, cb, hw, blk, b, act);
    } else
        for (int64_t i = 0; i < nb * cb; i++) bias_act_plane(y, i, cb, hw, blk, b, act);
    if (act != AE_ACT_RELU && act != AE_ACT_IDENTITY)
        ae_act_forward_slope(act, slope, y, y, (size_t)(nb * cb * hw * blk));
}

/* dz = dy·act'(y), as ae_act_backward computes it (s: leaky ReLU's slope). */
static inline float dact(ae_act a, float s, float y, float dy)
{
    switch (a) {
    case AE_ACT_LEAKY_RELU: return y > 0.0f ? dy : s * dy;
    case AE_ACT_RELU: return y > 0.0f ? dy : 0.0f;
    case AE_ACT_SIGMOID: return dy * y * (1.0f - y);
    case AE_ACT_TANH: return dy * (1.0f - y * y);
    default: return dy;
    }
}

/* Channel block j of an nChw{B}c tensor: g = g·act'(y) in place (y NULL: g as is), and its sum per
 * channel in B lanes, two interleaved partial sums each. */
static inline void grad_block(ae_act a, float s, const float *y, float *g, int64_t nb, int64_t cb,
                              int64_t hw, int64_t j, const int B, float *out)
{
    float lane[2][16] = {{0}};
    for (int64_t i = 0; i < nb; i++) {
        const int64_t o = (i * cb + j) * hw * B;
        float *p = g + o;
        if (y)
            for (int64_t q = 0; q < hw * B; q++) p[q] = dact(a, s, y[o + q], p[q]);
        for (int64_t q = 0; q < hw; q++)
            for (int l = 0; l < B; l++) lane[q & 1][l] += p[q * B + l];
    }
    for (int l = 0; l < B; l++) out[l] = lane[0][l] + lane[1][l];
}

/* grad_block with the activation a compile-time constant in each branch (vectorised loops). */
static inline void grad_block_act(ae_act a, float s, const float *y, float *g, int64_t nb, int64_t cb,
                                  int64_t hw, int64_t j, const int B, float *out)
{
    if (!y) grad_block(AE_ACT_IDENTITY, s, NULL, g, nb, cb, hw, j, B, out);
    else if (a == AE_ACT_RELU) grad_block(AE_ACT_RELU, s, y, g, nb, cb, hw, j, B, out);
    else if (a == AE_ACT_SIGMOID) grad_block(AE_ACT_SIGMOID, s, y, g, nb, cb, hw, j, B, out);
    else if (a == AE_ACT_LEAKY_RELU) grad_block(AE_ACT_LEAKY_RELU, s, y, g, nb, cb, hw, j, B, out);
    else grad_block(AE_ACT_TANH, s, y, g, nb, cb, hw, j, B, out);
}

typedef struct grad_args {
    ae_act act;
    float slope;
    const float *y;
    float *g, *db;
    int64_t nb, c, hw;
    int blk, accumulate;
} grad_args;

/* Channel block j (blk > 1) or channel j (nchw) of conv_act_bias_grad. */
static void grad_channel(const grad_args *a, int64_t j)
{
    const int64_t nb = a->nb, c = a->c, hw = a->hw;
    if (a->blk > 1) {
        float t[16];
        if (a->blk == 8) grad_block_act(a->act, a->slope, a->y, a->g, nb, c / 8, hw, j, 8, t);
        else grad_block_act(a->act, a->slope, a->y, a->g, nb, c / 16, hw, j, 16, t);
        for (int l = 0; l < a->blk; l++) a->db[j * a->blk + l] = a->accumulate ? a->db[j * a->blk + l] + t[l] : t[l];
        return;
    }
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t i = 0; i < nb; i++) {
        float *p = a->g + (i * c + j) * hw;
        if (a->y)
            for (int64_t q = 0; q < hw; q++) p[q] = dact(a->act, a->slope, a->y[(i * c + j) * hw + q], p[q]);
        int64_t q = 0;
        for (; q + 8 <= hw; q += 8)
            for (int l = 0; l < 8; l++) lane[l] += p[q + l];
        for (; q < hw; q++) lane[q % 8] += p[q];
    }
    float t = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    a->db[j] = a->accumulate ? a->db[j] + t : t;
}

/* One channel (nchw) or one block of channels per iteration, each lane summed in a fixed order:
 * vectorised, and the same bits for any thread count. The activation's backward runs in the same
 * pass, image by image, while the data is in cache. */
void conv_act_bias_grad(ae_act act, float slope, const float *y, float *g, ae_shape sh, int blk, float *db,
                        int accumulate)
{
    const grad_args a = {act, slope, act == AE_ACT_IDENTITY ? NULL : y, g, db, sh.d[0], sh.d[1],
                         sh.d[2] * sh.d[3], blk, accumulate};
    const int64_t n = blk > 1 ? a.c / blk : a.c;
    if (team(a.nb * a.c * a.hw)) {
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < n; j++) grad_channel(&a, j);
    } else
        for (int64_t j = 0; j < n; j++) grad_channel(&a, j);
}

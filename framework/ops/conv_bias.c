/* The conv bias outside oneDNN: added with the activation on a channel-blocked output (oneDNN 2.6's
 * binary primitive runs its reference code there), and its gradient, summed in a fixed order. */
#include <assert.h>
#include "ae_par.h"
#include "conv_internal.h"

/* A team for a loop over n elements: from 65,536 on, and not inside a region already (a batch
 * block's loop, conv_blocks.c, stays on its thread without opening a nested team). */
static int team(int64_t n) { return n >= 65536 && ae_par_threads() > 1; }

/* Image-channel-block i of bias_act_blocked, with the block size B a constant (vectorised). */
static inline void bias_act_plane(float *y, int64_t i, int64_t cb, int64_t hw, const int B, const float *b,
                                  ae_act act)
{
    float *p = y + i * hw * B, bb[16];
    for (int l = 0; l < B; l++) bb[l] = b[(i % cb) * B + l];
    if (act == AE_ACT_RELU)
        for (int64_t q = 0; q < hw; q++)
            for (int l = 0; l < B; l++) {
                float v = p[q * B + l] + bb[l];
                p[q * B + l] = v > 0.0f ? v : 0.0f;
            }
    else
        for (int64_t q = 0; q < hw; q++)
            for (int l = 0; l < B; l++) p[q * B + l] += bb[l];
}

static void bias_act_planes(float *y, int64_t lo, int64_t hi, int64_t cb, int64_t hw, int blk, const float *b,
                            ae_act act)
{
    for (int64_t i = lo; i < hi; i++)
        if (blk == 16) bias_act_plane(y, i, cb, hw, 16, b, act);
        else if (blk == 8) bias_act_plane(y, i, cb, hw, 8, b, act);
        else {
            assert(blk == 1); /* conv_channel_block's 8 or 16, or a plain layout */
            bias_act_plane(y, i, cb, hw, 1, b, act);
        }
}

/* y += b per channel, then the activation; y in nChw{blk}c: [n][c/blk][h][w][c%blk]. */
void conv_bias_act_blocked(float *y, ae_shape sh, int blk, const float *b, ae_act act, float slope)
{
    const int64_t nb = sh.d[0], cb = sh.d[1] / blk, hw = sh.d[2] * sh.d[3];
    if (team(nb * cb * hw * blk)) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < nb * cb; i++) bias_act_planes(y, i, i + 1, cb, hw, blk, b, act);
    } else
        bias_act_planes(y, 0, nb * cb, cb, hw, blk, b, act);
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
 * channel in B lanes, two interleaved partial sums each (even pixels of an image in the first, odd
 * ones in the second), in one pass. */
static inline void grad_block(ae_act a, float s, const float *y, float *g, int64_t nb, int64_t cb,
                              int64_t hw, int64_t j, const int B, float *out)
{
    float l0[16] = {0}, l1[16] = {0};
    for (int64_t i = 0; i < nb; i++) {
        const int64_t o = (i * cb + j) * hw * B;
        float *p = g + o;
        const float *yy = y ? y + o : NULL;
        int64_t q = 0;
        for (; q + 1 < hw; q += 2)
            for (int l = 0; l < B; l++) {
                float u = p[q * B + l], v = p[(q + 1) * B + l];
                if (yy) u = dact(a, s, yy[q * B + l], u), v = dact(a, s, yy[(q + 1) * B + l], v);
                p[q * B + l] = u, p[(q + 1) * B + l] = v;
                l0[l] += u, l1[l] += v;
            }
        if (q < hw)
            for (int l = 0; l < B; l++) {
                float u = p[q * B + l];
                if (yy) u = dact(a, s, yy[q * B + l], u);
                p[q * B + l] = u;
                l0[l] += u;
            }
    }
    for (int l = 0; l < B; l++) out[l] = l0[l] + l1[l];
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

/* One image's plane of an nchw channel: p = p·act'(y) in place (y NULL: as is), summed into 8
 * lanes (pixel q into lane q % 8), in one pass. */
static inline void nchw_plane_act(ae_act a, float s, const float *y, float *p, int64_t hw, float *lane)
{
    int64_t q = 0;
    for (; q + 8 <= hw; q += 8)
        for (int l = 0; l < 8; l++) {
            float u = y ? dact(a, s, y[q + l], p[q + l]) : p[q + l];
            p[q + l] = u;
            lane[l] += u;
        }
    for (; q < hw; q++) {
        float u = y ? dact(a, s, y[q], p[q]) : p[q];
        p[q] = u;
        lane[q % 8] += u;
    }
}

/* nchw_plane_act with the activation a compile-time constant in each branch. */
static void nchw_plane(ae_act a, float s, const float *y, float *p, int64_t hw, float *lane)
{
    if (!y) nchw_plane_act(AE_ACT_IDENTITY, s, NULL, p, hw, lane);
    else if (a == AE_ACT_RELU) nchw_plane_act(AE_ACT_RELU, s, y, p, hw, lane);
    else if (a == AE_ACT_SIGMOID) nchw_plane_act(AE_ACT_SIGMOID, s, y, p, hw, lane);
    else if (a == AE_ACT_LEAKY_RELU) nchw_plane_act(AE_ACT_LEAKY_RELU, s, y, p, hw, lane);
    else nchw_plane_act(AE_ACT_TANH, s, y, p, hw, lane);
}

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
    for (int64_t i = 0; i < nb; i++)
        nchw_plane(a->act, a->slope, a->y ? a->y + (i * c + j) * hw : NULL, a->g + (i * c + j) * hw, hw, lane);
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

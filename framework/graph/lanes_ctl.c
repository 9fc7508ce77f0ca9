/* The controller behind AE_LANES_AUTO: a step runs in one of the graph's regions (on its threads)
 * or on one thread, whichever a few timed steps of each showed fastest lately (ae_graph.h). */
#include "ae_graph.h"

void ae_lanes_ctl_init(ae_lanes_ctl *c, unsigned period, unsigned probe, unsigned warm, int modes)
{
    c->modes = modes < 2 ? 2 : modes > AE_LANES_MODES ? AE_LANES_MODES : modes;
    c->probe = probe < 3 ? 3 : probe; /* one left per mode once its first and slowest are dropped */
    c->period = period < 2 * c->modes * c->probe ? 2 * c->modes * c->probe : period;
    c->span = c->period;
    c->pos = 0;
    c->choice = 1;
    c->warm = warm;
    for (int m = 0; m < AE_LANES_MODES; m++) c->sum[m] = c->max[m] = 0;
    c->wsum = c->wmax = 0;
}

/* The mode of a probe's step at pos: the regions first (1, 2, ...), one thread (0) last. */
static int probe_mode(const ae_lanes_ctl *c, unsigned pos)
{
    const int k = (int)(pos / c->probe) + 1;
    return k < c->modes ? k : 0;
}

int ae_lanes_ctl_next(const ae_lanes_ctl *c, int *probing)
{
    *probing = !c->warm && c->pos < (unsigned)c->modes * c->probe;
    return c->warm ? 1 : *probing ? probe_mode(c, c->pos) : c->choice;
}

static void add(double *sum, double *max, double s)
{
    *sum += s;
    if (s > *max) *max = s;
}

/* A probe's mean step of a mode: without its first step (the switch) and its slowest. */
static double probe_mean(const ae_lanes_ctl *c, int mode) { return (c->sum[mode] - c->max[mode]) / (c->probe - 2); }

/* The fastest mode in the probe but `not` (-1: none excluded); a tie goes to the lower region, a
 * region before one thread. */
static int fastest(const ae_lanes_ctl *c, int not)
{
    int best = -1;
    for (int k = 1; k <= c->modes; k++) {
        const int m = k % c->modes;
        if (m != not && (best < 0 || probe_mean(c, m) < probe_mean(c, best))) best = m;
    }
    return best;
}

/* The probe is over: the fastest mode, and the next period's length. */
static void decide(ae_lanes_ctl *c)
{
    const int choice = fastest(c, -1);
    c->span = choice != c->choice ? c->period : c->span < AE_LANES_SPAN_MAX / 2 ? 2 * c->span : AE_LANES_SPAN_MAX;
    c->choice = choice;
    c->wsum = c->wmax = 0;
}

/* A window of the steady part is over: 1 when its steps ran slower than another mode's in the
 * probe (the chosen mode's own slowing down alone says nothing: on a busy core all slow down). */
static int drifted(ae_lanes_ctl *c)
{
    const double w = c->wsum - c->wmax;
    const unsigned n = AE_LANES_WINDOW * c->probe;
    c->wsum = c->wmax = 0;
    return w / (n - 1) > probe_mean(c, fastest(c, c->choice));
}

void ae_lanes_ctl_done(ae_lanes_ctl *c, double seconds)
{
    if (c->warm) { /* a warm-up step: neither probed nor counted in the period */
        c->warm--;
        return;
    }
    int probing, mode = ae_lanes_ctl_next(c, &probing);
    const unsigned pos = c->pos++, probes = (unsigned)c->modes * c->probe;
    if (probing) {
        if (pos % c->probe == 0) c->sum[mode] = c->max[mode] = 0; /* the switch's step: not timed */
        else add(&c->sum[mode], &c->max[mode], seconds);
        if (pos + 1 == probes) decide(c);
    } else {
        add(&c->wsum, &c->wmax, seconds);
        const unsigned steady = pos + 1 - probes, n = AE_LANES_WINDOW * c->probe;
        if (steady % n == 0 && drifted(c)) {
            c->pos = 0; /* probe again now (the period's length as a probe decides) */
            return;
        }
    }
    if (c->pos >= c->span) c->pos = 0;
}

/* The controller behind AE_LANES_AUTO: a step runs on the graph's threads or on one thread,
 * whichever a few timed steps of each showed faster lately (ae_graph.h). */
#include "ae_graph.h"

void ae_lanes_ctl_init(ae_lanes_ctl *c, unsigned period, unsigned probe, unsigned warm)
{
    c->probe = probe < 3 ? 3 : probe; /* one left per mode once its first and slowest are dropped */
    c->period = period < 4 * c->probe ? 4 * c->probe : period;
    c->span = c->period;
    c->pos = 0;
    c->choice = 1;
    c->warm = warm;
    c->sum[0] = c->sum[1] = c->max[0] = c->max[1] = c->wsum = c->wmax = 0;
}

int ae_lanes_ctl_next(const ae_lanes_ctl *c, int *probing)
{
    *probing = !c->warm && c->pos < 2 * c->probe;
    return c->warm ? 1 : *probing ? c->pos < c->probe : c->choice;
}

static void add(double *sum, double *max, double s)
{
    *sum += s;
    if (s > *max) *max = s;
}

/* A probe's mean step of a mode: without its first step (the switch) and its slowest. */
static double probe_mean(const ae_lanes_ctl *c, int mode) { return (c->sum[mode] - c->max[mode]) / (c->probe - 2); }

/* The probe is over: the faster mode, and the next period's length. */
static void decide(ae_lanes_ctl *c)
{
    int choice = probe_mean(c, 1) <= probe_mean(c, 0);
    c->span = choice != c->choice ? c->period : c->span < AE_LANES_SPAN_MAX / 2 ? 2 * c->span : AE_LANES_SPAN_MAX;
    c->choice = choice;
    c->wsum = c->wmax = 0;
}

/* A window of the steady part is over: 1 when its steps ran slower than the other mode's in the
 * probe (the chosen mode's own slowing down alone says nothing: on a busy core both slow down). */
static int drifted(ae_lanes_ctl *c)
{
    const int other = !c->choice;
    const double w = c->wsum - c->wmax;
    const unsigned n = AE_LANES_WINDOW * c->probe;
    c->wsum = c->wmax = 0;
    return w / (n - 1) > probe_mean(c, other);
}

void ae_lanes_ctl_done(ae_lanes_ctl *c, double seconds)
{
    if (c->warm) { /* a warm-up step: neither probed nor counted in the period */
        c->warm--;
        return;
    }
    int probing, mode = ae_lanes_ctl_next(c, &probing);
    const unsigned pos = c->pos++;
    if (probing) {
        if (pos % c->probe == 0) c->sum[mode] = c->max[mode] = 0; /* the switch's step: not timed */
        else add(&c->sum[mode], &c->max[mode], seconds);
        if (pos + 1 == 2 * c->probe) decide(c);
    } else {
        add(&c->wsum, &c->wmax, seconds);
        const unsigned steady = pos + 1 - 2 * c->probe, n = AE_LANES_WINDOW * c->probe;
        if (steady % n == 0 && drifted(c)) {
            c->pos = 0; /* probe again now (the period's length as a probe decides) */
            return;
        }
    }
    if (c->pos >= c->span) c->pos = 0;
}

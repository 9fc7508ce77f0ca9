/* The controller behind AE_LANES_AUTO: every period, a few timed steps in each mode of a one-region
 * step (the region on the graph's threads, or its schedule on one thread), then the faster mode. */
#include "ae_graph.h"

void ae_lanes_ctl_init(ae_lanes_ctl *c, unsigned period, unsigned probe)
{
    c->probe = probe < 2 ? 2 : probe; /* one left per mode once the slowest is dropped */
    c->period = period < 2 * c->probe ? 2 * c->probe : period;
    c->step = 0;
    c->choice = 1;
    c->sum[0] = c->sum[1] = c->max[0] = c->max[1] = 0;
}

int ae_lanes_ctl_next(const ae_lanes_ctl *c, int *timed)
{
    unsigned long long phase = c->step % c->period;
    *timed = phase < 2ull * c->probe;
    return *timed ? !(phase & 1) : c->choice;
}

void ae_lanes_ctl_done(ae_lanes_ctl *c, double seconds)
{
    int timed, mode = ae_lanes_ctl_next(c, &timed);
    unsigned long long phase = c->step++ % c->period;
    if (!timed) return;
    if (phase < 2) c->sum[mode] = c->max[mode] = 0; /* a new probe */
    c->sum[mode] += seconds;
    if (seconds > c->max[mode]) c->max[mode] = seconds;
    if (phase + 1 == 2ull * c->probe) c->choice = c->sum[1] - c->max[1] <= c->sum[0] - c->max[0];
}

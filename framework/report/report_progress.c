/* The training progress line on stderr: a redrawn status line on a terminal, one plain line per
 * epoch otherwise. Epoch and batch numbers are 1-based, as shown. */
#include "ae_report.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#define REDRAW_EVERY 0.1 /* seconds between terminal redraws */

static char g_label[160]; /* ae_progress_set_label: "LABEL: " or "" */

void ae_progress_set_label(const char *label)
{
    if (label && *label) snprintf(g_label, sizeof g_label, "%s: ", label);
    else g_label[0] = 0;
}

void ae_progress_init(ae_progress *p, long epochs, long batches_per_epoch, int enabled)
{
    snprintf(p->label, sizeof p->label, "%s", g_label);
    p->tty = isatty(STDERR_FILENO);
    p->enabled = enabled;
    p->epochs = epochs;
    p->batches = batches_per_epoch;
    p->t_start = p->t_epoch = p->t_last_draw = ae_now();
    p->samples = p->epoch_samples = 0;
    p->drawn = 0;
}

/* "15.2k" style rate. */
static void fmt_rate(char *b, size_t len, double r)
{
    if (!isfinite(r) || r < 0) snprintf(b, len, "?");
    else if (r >= 1e6) snprintf(b, len, "%.1fM", r / 1e6);
    else if (r >= 1e3) snprintf(b, len, "%.1fk", r / 1e3);
    else snprintf(b, len, "%.0f", r);
}

/* "0:41" or "1:02:03". */
static void fmt_duration(char *b, size_t len, double s)
{
    if (!isfinite(s) || s < 0 || s > 1e8) {
        snprintf(b, len, "?");
        return;
    }
    long t = lround(s);
    if (t >= 3600) snprintf(b, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(b, len, "%ld:%02ld", t / 60, t % 60);
}

void ae_progress_batch(ae_progress *p, long epoch, long batch, double loss, size_t batch_samples)
{
    p->samples += (double)batch_samples;
    p->epoch_samples += (double)batch_samples;
    if (!p->enabled || !p->tty) return;
    double now = ae_now();
    if (now - p->t_last_draw < REDRAW_EVERY) return;
    p->t_last_draw = now;
    double elapsed = now - p->t_start;
    double done = (double)(epoch - 1) * (double)p->batches + (double)batch;
    double total = (double)p->epochs * (double)p->batches;
    char rate[32], eta[32];
    fmt_rate(rate, sizeof rate, now > p->t_epoch ? p->epoch_samples / (now - p->t_epoch) : NAN);
    fmt_duration(eta, sizeof eta, done > 0 && elapsed > 0 ? elapsed / done * (total - done) : NAN);
    fprintf(stderr, "\r\033[K%sepoch %ld/%ld  batch %ld/%ld  loss %.5g  %s samples/s  ETA %s", p->label, epoch,
            p->epochs, batch, p->batches, loss, rate, eta);
    fflush(stderr);
    p->drawn = 1;
}

void ae_progress_epoch(ae_progress *p, long epoch, double loss, double samples_per_s, const char *extra)
{
    double now = ae_now();
    p->epoch_samples = 0;
    if (!p->enabled) {
        p->t_epoch = now;
        return;
    }
    char rate[32];
    fmt_rate(rate, sizeof rate, samples_per_s);
    fprintf(stderr, "%s%sepoch %ld/%ld  loss %.5g  %s samples/s  %.1f s%s%s\n", p->tty ? "\r\033[K" : "", p->label,
            epoch, p->epochs, loss, rate, now - p->t_epoch, extra && *extra ? "  " : "", extra ? extra : "");
    fflush(stderr);
    p->t_epoch = now;
    p->drawn = 0;
}

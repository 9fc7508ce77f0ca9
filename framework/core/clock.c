/* The monotonic clock; see ae_clock.h. */
#include "ae_clock.h"

#include <time.h>

double ae_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

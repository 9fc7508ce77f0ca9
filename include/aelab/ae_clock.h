/* The monotonic clock every timing in aelab reads (epoch seconds, profiles, progress). */
#ifndef AE_CLOCK_H
#define AE_CLOCK_H

double ae_now(void); /* monotonic seconds */

#endif

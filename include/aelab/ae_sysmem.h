/* What the machine can still give this process: available memory (MemAvailable, lowered to a cgroup
 * limit), for checks that refuse a model before allocating it, and byte counts for people. */
#ifndef AE_SYSMEM_H
#define AE_SYSMEM_H

#include <stddef.h>

/* Bytes this process may still allocate, or -1 when unknown; *source (if not NULL) names where the
 * figure comes from ("MemAvailable in /proc/meminfo", "the memory left under this cgroup's limit"). */
double ae_mem_available(const char **source);
/* "1.6 TB", "830 MB", "12 bytes" (powers of 1000) into buf. */
const char *ae_human_bytes(double bytes, char *buf, size_t len);

#endif

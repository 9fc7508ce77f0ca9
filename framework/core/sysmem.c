/* Available memory and byte counts for people; see ae_sysmem.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ae_sysmem.h"

/* One number from a file such as /sys/fs/cgroup/memory.max (or the "key: N kB" line of
 * /proc/meminfo when key is not NULL); -1 when absent or not a number ("max"). */
static double read_number(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    double v = -1;
    size_t kl = key ? strlen(key) : 0;
    while (fgets(line, sizeof line, f)) {
        if (key && strncmp(line, key, kl)) continue;
        double x;
        if (sscanf(line + kl, " %lf", &x) == 1) v = key ? x * 1024.0 : x;
        break;
    }
    fclose(f);
    return v;
}

/* Bytes this process may still allocate: MemAvailable (else free pages), lowered to what is
 * left under the cgroup's limit (v2 memory.max or v1 memory.limit_in_bytes) when that is less. */
double ae_mem_available(const char **source)
{
    double avail = read_number("/proc/meminfo", "MemAvailable:");
    const char *src = "MemAvailable in /proc/meminfo";
    if (avail < 0) {
        avail = (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
        src = "free physical memory";
    }
    static const char *const lim[][2] = {{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                                         {"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                          "/sys/fs/cgroup/memory/memory.usage_in_bytes"}};
    for (int i = 0; i < 2; i++) {
        double max = read_number(lim[i][0], NULL), used = read_number(lim[i][1], NULL);
        if (max > 0 && used >= 0 && max - used < avail) {
            avail = max > used ? max - used : 0;
            src = "the memory left under this cgroup's limit";
        }
    }
    if (source) *source = src;
    return avail;
}

const char *ae_human_bytes(double b, char *buf, size_t len)
{
    static const char *const unit[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (b >= 1000.0 && u < 5) b /= 1000.0, u++;
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
    return buf;
}


/* Helpers shared by the fuzz targets: the fuzz input as a file on disk (an anonymous memfd when
 * available, else a temp file), since the loaders under test read paths. */
#ifndef AE_FUZZ_UTIL_H
#define AE_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUZZ_SLOTS 2

/* Writes data to file slot `slot` (0 or 1), replacing its contents; returns its path (static).
 * Aborts when no file can be made: that is a harness failure, not a finding. */
static inline const char *fuzz_file(int slot, const void *data, size_t len)
{
    static int fd[FUZZ_SLOTS] = {-1, -1};
    static char path[FUZZ_SLOTS][64];
    if (fd[slot] < 0) {
#ifdef SYS_memfd_create
        fd[slot] = (int)syscall(SYS_memfd_create, "aelab-fuzz", 0);
        if (fd[slot] >= 0) snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
#endif
        if (fd[slot] < 0) {
            const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
            snprintf(path[slot], sizeof path[slot], "%.40s/aelab-fuzz-XXXXXX", dir);
            fd[slot] = mkstemp(path[slot]);
            if (fd[slot] < 0) abort();
            unlink(path[slot]); /* nothing to clean up; reached through /proc from here on */
            snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
        }
    }
    if (ftruncate(fd[slot], 0) != 0) abort();
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t n = pwrite(fd[slot], p + off, len - off, (off_t)off);
        if (n <= 0) abort();
        off += (size_t)n;
    }
    return path[slot];
}

/* A failed check of an invariant: report and abort so the fuzzer records the input. */
#define FUZZ_ASSERT(cond, ...)                                                                  \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n  ", #cond, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#endif

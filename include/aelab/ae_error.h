/* Error reporting shared by every aelab unit: a code (which is also the process exit code) and
 * a human message that already names the file:line:col or the layer it is about. */
#ifndef AE_ERROR_H
#define AE_ERROR_H

#include <stddef.h>

enum {
    AE_OK = 0,
    AE_EINPUT = 2,    /* bad config, data, usage, plug-in, shape: the user can fix it */
    AE_EDIVERGED = 3, /* NaN/Inf or divergence during training */
    AE_EIO = 4,       /* could not read or write a file the user did not get wrong (disk full...) */
    AE_EINTERNAL = 5, /* a library call failed unexpectedly (oneDNN, allocation) */
    AE_EINTERRUPTED = 130 /* SIGINT/SIGTERM: checkpoint written, stopped cleanly */
};

typedef struct ae_err {
    int code;
    char msg[1024];
} ae_err;

/* Sets err (if not NULL) and returns code, so callers can write `return ae_errf(err, AE_EINPUT, ...)`.
 * A second call keeps the first message unless the first code was AE_OK. */
int ae_errf(ae_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "prefix: " (for context such as a file name). */
int ae_err_prefix(ae_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ae_err_clear(ae_err *err);

#endif

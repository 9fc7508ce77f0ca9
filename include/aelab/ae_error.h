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

/* What kind of error a message is, so callers branch on it instead of matching the text. */
typedef enum {
    AE_KIND_NONE = 0,           /* any other error (or none) */
    AE_KIND_MISSING_KEY,        /* a required configuration key is absent */
    AE_KIND_UNKNOWN_KEY,        /* a key nobody reads; the message suggests the nearest valid key or
                                   says that no keys are expected there */
    AE_KIND_UNKNOWN_KEY_LISTED, /* the same, with no close key: the message lists the valid keys */
    AE_KIND_BAD_VALUE           /* a value of the wrong type, out of range or not one of the choices */
} ae_err_kind;

typedef struct ae_err {
    int code;
    ae_err_kind kind; /* set by the configuration getters; AE_KIND_NONE otherwise */
    char msg[1024];
} ae_err;

/* Sets err (if not NULL) and returns code, so callers can write `return ae_errf(err, AE_EINPUT, ...)`.
 * A second call keeps the first message unless the first code was AE_OK. */
int ae_errf(ae_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "prefix: " (for context such as a file name). */
int ae_err_prefix(ae_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ae_errf that also sets err->kind (when this call writes the message). */
int ae_errk(ae_err *err, ae_err_kind kind, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ae_err_clear(ae_err *err);

#endif

/* ae_err helpers: formatted error messages with a code. */
#include "ae_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int verr(ae_err *err, ae_err_kind kind, int code, const char *fmt, va_list ap)
{
    if (!err || err->code != AE_OK) return err ? err->code : code;
    err->code = code;
    err->kind = kind;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

int ae_errf(ae_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verr(err, AE_KIND_NONE, code, fmt, ap);
    va_end(ap);
    return rc;
}

int ae_errk(ae_err *err, ae_err_kind kind, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verr(err, kind, code, fmt, ap);
    va_end(ap);
    return rc;
}

int ae_err_prefix(ae_err *err, const char *fmt, ...)
{
    if (!err) return AE_OK;
    char pre[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t lp = strlen(pre), cap = sizeof err->msg - 1;
    if (lp + 2 > cap) return err->code;
    size_t lm = strlen(err->msg);
    if (lp + 2 + lm > cap) lm = cap - lp - 2;
    memmove(err->msg + lp + 2, err->msg, lm);
    memcpy(err->msg, pre, lp);
    err->msg[lp] = ':';
    err->msg[lp + 1] = ' ';
    err->msg[lp + 2 + lm] = '\0';
    return err->code;
}

void ae_err_clear(ae_err *err)
{
    if (!err) return;
    err->code = AE_OK;
    err->kind = AE_KIND_NONE;
    err->msg[0] = '\0';
}

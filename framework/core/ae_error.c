/* ae_err helpers: formatted error messages with a code. */
#include "ae_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ae_errf(ae_err *err, int code, const char *fmt, ...)
{
    if (!err || err->code != AE_OK) return err ? err->code : code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
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
    err->msg[0] = '\0';
}

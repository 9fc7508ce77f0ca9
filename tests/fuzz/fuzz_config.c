/* Fuzz target for the configuration unit: the input up to the first NUL byte is a YAML config,
 * each further NUL-separated piece a --set expression. Checks that nothing crashes or leaks, that
 * every failure is AE_EINPUT with a message, and that emit -> reload gives the same tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_config.h"
#include "fuzz_util.h"

/* emit(root) must reload, and emit the reloaded tree to the same text. */
static void roundtrip(const ae_cfg *root)
{
    char *a = ae_cfg_emit_string(root);
    FUZZ_ASSERT(a != NULL, "emit failed");
    ae_err err = {0};
    ae_cfg *again = ae_cfg_load_string(a, "emitted.yaml", &err);
    FUZZ_ASSERT(again != NULL, "emitted YAML does not reload: %s\n---\n%s---", err.msg, a);
    char *b = ae_cfg_emit_string(again);
    FUZZ_ASSERT(b && !strcmp(a, b), "reloaded tree differs:\n---\n%s---\n%s---", a, b ? b : "(null)");
    free(a);
    free(b);
    ae_cfg_free(again);
}

static void expect_input_error(int rc, const ae_err *err, const char *what)
{
    FUZZ_ASSERT(rc == AE_OK || (rc == AE_EINPUT && err->code == AE_EINPUT && err->msg[0]),
                "%s: rc %d, code %d, msg '%s'", what, rc, err->code, err->msg);
}

/* Walks the tree calling the inspectors, and the typed getters on every map. */
static void exercise(ae_cfg *n, int depth)
{
    char buf[512];
    ae_err err = {0};
    ae_cfg_where(n, buf, sizeof buf);
    ae_cfg_path(n, buf, sizeof buf);
    FUZZ_ASSERT(strlen(buf) < sizeof buf, "path overflow");
    if (depth > 40) return;
    ae_cfg_kind k = ae_cfg_kind_of(n);
    if (k == AE_CFG_SCALAR) {
        long l;
        double d;
        expect_input_error(ae_cfg_to_int(n, -100, 100, &l, &err), &err, "to_int");
        ae_err_clear(&err);
        expect_input_error(ae_cfg_to_num(n, 0.0, 1.0, &d, &err), &err, "to_num");
        return;
    }
    if (k == AE_CFG_SEQ) {
        for (size_t i = 0; i < ae_cfg_len(n); i++) exercise(ae_cfg_at(n, i), depth + 1);
        FUZZ_ASSERT(ae_cfg_at(n, ae_cfg_len(n)) == NULL, "at() past the end");
        return;
    }
    if (k != AE_CFG_MAP) return;
    size_t len = ae_cfg_len(n);
    for (size_t i = 0; i < len; i++) exercise(ae_cfg_value_at(n, i), depth + 1);
    /* typed getters on the map's own first keys (any value kind) and on absent keys */
    static const char *const choices[] = {"mse", "bce", "adam", NULL};
    const char *key0 = len ? ae_cfg_key_at(n, 0) : "absent";
    const char *key1 = len > 1 ? ae_cfg_key_at(n, 1) : "missing";
    const char *key2 = len > 2 ? ae_cfg_key_at(n, 2) : "other";
    char k0[256], k1[256], k2[256];
    snprintf(k0, sizeof k0, "%s", key0); /* the getters may insert defaults: copy the names */
    snprintf(k1, sizeof k1, "%s", key1);
    snprintf(k2, sizeof k2, "%s", key2);
    long l;
    double d;
    int b;
    const char *s;
    ae_cfg *sub;
    expect_input_error(ae_cfg_int(n, k0, 3, 1, 1000, &l, &err), &err, "int"); ae_err_clear(&err);
    expect_input_error(ae_cfg_num(n, k1, 0.5, 0.0, 1.0, &d, &err), &err, "num"); ae_err_clear(&err);
    expect_input_error(ae_cfg_bool(n, k2, 1, &b, &err), &err, "bool"); ae_err_clear(&err);
    expect_input_error(ae_cfg_str(n, k0, "mse", choices, &s, &err), &err, "str"); ae_err_clear(&err);
    expect_input_error(ae_cfg_str(n, "required", NULL, NULL, &s, &err), &err, "str req"); ae_err_clear(&err);
    expect_input_error(ae_cfg_map(n, k1, 0, &sub, &err), &err, "map"); ae_err_clear(&err);
    expect_input_error(ae_cfg_seq(n, k2, 1, &sub, &err), &err, "seq"); ae_err_clear(&err);
    expect_input_error(ae_cfg_int(n, "new_int", 7, 0, 10, &l, &err), &err, "int def"); ae_err_clear(&err);
    FUZZ_ASSERT(ae_cfg_has(n, "new_int"), "default not inserted");
    expect_input_error(ae_cfg_finish(n, NULL, &err), &err, "finish");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    ae_err err = {0};
    ae_cfg *root = ae_cfg_load_string(text, "fuzz.yaml", &err);
    if (!root) {
        FUZZ_ASSERT(err.code == AE_EINPUT && err.msg[0], "load failed with code %d '%s'", err.code, err.msg);
        free(text);
        return 0;
    }
    FUZZ_ASSERT(ae_cfg_kind_of(root) == AE_CFG_MAP, "root is not a map");
    roundtrip(root);

    ae_cfg *copy = ae_cfg_clone(root);
    FUZZ_ASSERT(copy != NULL, "clone failed");
    char *e1 = ae_cfg_emit_string(root), *e2 = ae_cfg_emit_string(copy);
    FUZZ_ASSERT(e1 && e2 && !strcmp(e1, e2), "clone differs");
    free(e1);
    free(e2);
    exercise(copy, 0);
    roundtrip(copy);

    /* --set expressions, then lookups of their keys */
    int nsets = 0;
    for (size_t off = strlen(text) + 1; off <= size && nsets < 8; nsets++) {
        const char *expr = text + off;
        off += strlen(expr) + 1;
        ae_err_clear(&err);
        int rc = ae_cfg_apply_set(root, expr, &err);
        FUZZ_ASSERT(rc == AE_OK || (rc == AE_EINPUT && !strncmp(err.msg, "--set '", 7)),
                    "--set rc %d '%s'", rc, err.msg);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(expr, "="), expr);
        ae_cfg *hit = ae_cfg_lookup(root, key);
        (void)hit;
        roundtrip(root);
    }
    ae_err_clear(&err);
    int rc = ae_cfg_merge(copy, root, &err);
    FUZZ_ASSERT(rc == AE_OK, "merge failed: %s", err.msg);
    roundtrip(copy);
    ae_cfg_free(copy);
    ae_cfg_free(root);
    free(text);
    return 0;
}

/* Shared by the configuration suites (test_config.c, test_config_edit.c): loading text that must
 * load or fail, tree equality (the quoted flag too), emit/reload round trips, a sample config. */
#ifndef CONFIG_FIXTURE_H
#define CONFIG_FIXTURE_H

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_config.h"
#include "ae_test.h"
#include "config_internal.h" /* white-box: the quoted flag, for tree equality */

/* The scalar at a dotted path equals v. */
#define AT_EQ(root, path, v) ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup((root), (path))), (v))

static inline ae_cfg *load(const char *text)
{
    ae_err err = {0};
    ae_cfg *c = ae_cfg_load_string(text, "rain.yaml", &err);
    ck_assert_msg(c != NULL, "load failed: %s", err.msg);
    return c;
}

/* Loads text that must fail and checks the message contains `want`. */
static inline void load_fails(const char *text, const char *want)
{
    ae_err err = {0};
    ae_cfg *c = ae_cfg_load_string(text, "rain.yaml", &err);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err.code, AE_EINPUT);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
}

static inline int tree_equal(const ae_cfg *a, const ae_cfg *b)
{
    if (ae_cfg_kind_of(a) != ae_cfg_kind_of(b) || ae_cfg_len(a) != ae_cfg_len(b)) return 0;
    if (ae_cfg_kind_of(a) == AE_CFG_SCALAR)
        return !strcmp(ae_cfg_scalar(a), ae_cfg_scalar(b)) && a->quoted == b->quoted;
    for (size_t i = 0; i < ae_cfg_len(a); i++) {
        if (ae_cfg_kind_of(a) == AE_CFG_MAP) {
            if (strcmp(ae_cfg_key_at(a, i), ae_cfg_key_at(b, i))) return 0;
            if (!tree_equal(ae_cfg_value_at(a, i), ae_cfg_value_at(b, i))) return 0;
        } else if (!tree_equal(ae_cfg_at(a, i), ae_cfg_at(b, i))) {
            return 0;
        }
    }
    return 1;
}

/* Emits, reloads and checks the trees are equal; returns the emitted text (caller frees). */
static inline char *round_trip(const ae_cfg *c)
{
    char *text = ae_cfg_emit_string(c);
    ck_assert_ptr_nonnull(text);
    ae_err err = {0};
    ae_cfg *back = ae_cfg_load_string(text, "emitted.yaml", &err);
    ck_assert_msg(back != NULL, "reload failed: %s\n%s", err.msg, text);
    ck_assert_msg(tree_equal(c, back), "round trip differs:\n%s", text);
    ae_cfg_free(back);
    return text;
}

#define RAIN \
    "# rain model\n"                                                                                \
    "name: rain\n"                                                                                  \
    "train:\n"                                                                                      \
    "  epochs: 20\n"                                                                                \
    "  lr: 1e-3\n"                                                                                  \
    "  shuffle: yes\n"                                                                              \
    "  optimizer:\n"                                                                                \
    "    name: adam\n"                                                                              \
    "model:\n"                                                                                      \
    "  encoder:\n"                                                                                  \
    "    - units: 64\n"                                                                             \
    "    - units: 32\n"                                                                             \
    "  dims: [1, -2, .5]\n"


static inline void get_fails(int rc, ae_err *err, const char *want)
{
    ck_assert_int_eq(rc, AE_EINPUT);
    ck_assert_msg(strstr(err->msg, want) != NULL, "message '%s' lacks '%s'", err->msg, want);
    ae_err_clear(err);
}

#endif

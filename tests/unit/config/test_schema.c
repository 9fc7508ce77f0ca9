/* Schema tables: one read fills a struct with defaults inserted into the tree in table order, the
 * getters' messages (place, range, choices, unknown keys with a suggestion, required keys) and their
 * kinds, nested sections and per-choice cases, and the same table printed for `aelab list` and as
 * Markdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_schema.h"
#include "ae_test.h"

typedef struct opts {
    long epochs;
    double lr;
    int shuffle;
    const char *name;
    ae_cfg *optimizer, *layers;
} opts;

static const char *const names[] = {"adam", "sgd", NULL};
static const ae_key keys[] = {
    AE_KEY_INT_(opts, epochs, "epochs", "10", 1, 1000, "passes over the data"),
    AE_KEY_NUM_(opts, lr, "lr", "0.001", 0, 10, "learning rate"),
    AE_KEY_BOOL_(opts, shuffle, "shuffle", "true", "reshuffle every epoch"),
    AE_KEY_STR_(opts, name, "name", "adam", names, "the optimizer"),
    AE_KEY_MAP_(opts, optimizer, "optimizer", "its own keys"),
    AE_KEY_SEQ_(opts, layers, "layers", AE_KEY_OPTIONAL, "a list of layers"),
};
static const ae_schema schema = AE_SCHEMA("train", keys);

static ae_cfg *load(const char *text)
{
    ae_err err = {0};
    ae_cfg *c = ae_cfg_load_string(text, "t.yaml", &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    return c;
}

START_TEST(defaults_in_table_order)
{
    ae_cfg *m = ae_cfg_new_map();
    opts o;
    memset(&o, 0, sizeof o);
    ae_err err = {0};
    ck_assert_int_eq(ae_schema_read(&schema, m, &o, 1, &err), AE_OK);
    ck_assert_int_eq(o.epochs, 10);
    ck_assert_double_eq(o.lr, 0.001);
    ck_assert_int_eq(o.shuffle, 1);
    ck_assert_str_eq(o.name, "adam");
    ck_assert_ptr_nonnull(o.optimizer);
    ck_assert_ptr_null(o.layers);
    static const char *const want[] = {"epochs", "lr", "shuffle", "name", "optimizer"};
    ck_assert_int_eq(ae_cfg_len(m), 5);
    for (size_t i = 0; i < 5; i++) ck_assert_str_eq(ae_cfg_key_at(m, i), want[i]);
    ae_cfg_free(m);
}
END_TEST

START_TEST(values_and_messages)
{
    ae_cfg *c = load("train:\n  epochs: 3\n  lr: 0.5\n  shuffle: false\n  name: sgd\n  layers: [1, 2]\n");
    opts o;
    ae_err err = {0};
    ck_assert_int_eq(ae_schema_read(&schema, ae_cfg_lookup(c, "train"), &o, 1, &err), AE_OK);
    ck_assert(o.epochs == 3 && o.lr == 0.5 && !o.shuffle && !strcmp(o.name, "sgd") && ae_cfg_len(o.layers) == 2);
    ae_cfg_free(c);
    static const char *const bad[][2] = {
        {"train: {epochs: 0}\n", "t.yaml:1:17: train.epochs: expected an integer in [1, 1000]"},
        {"train: {name: adma}\n", "did you mean 'adam'"},
        {"train: {shufle: true}\n", "unknown key 'shufle' in train (did you mean 'shuffle'?)"},
        {"train: {optimizer: 3}\n", "expected a mapping"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = load(bad[i][0]);
        ae_err_clear(&err);
        ck_assert_int_eq(ae_schema_read(&schema, ae_cfg_lookup(c, "train"), &o, 1, &err), AE_EINPUT);
        ck_assert_msg(strstr(err.msg, bad[i][1]), "case %zu: %s", i, err.msg);
        ae_cfg_free(c);
    }
}
END_TEST

START_TEST(required_keys)
{
    static const ae_key req[] = {AE_KEY_INT_(opts, epochs, "epochs", NULL, 1, 10, "needed")};
    static const ae_schema s = AE_SCHEMA("train", req);
    ae_cfg *c = load("train: {lr: 1}\n");
    opts o;
    ae_err err = {0};
    ck_assert_int_eq(ae_schema_read(&s, ae_cfg_lookup(c, "train"), &o, 0, &err), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "missing required key 'epochs'"), "%s", err.msg);
    ae_cfg_free(c);
}
END_TEST

START_TEST(printed_from_the_table)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ae_schema_print(&schema, f, "  ");
    ae_schema_markdown(&schema, f);
    fclose(f);
    ck_assert_msg(strstr(buf, "  epochs ([1, 1000], default 10): passes over the data\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "  name (adam | sgd, default adam): the optimizer\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "| `lr` | number | `0.001` | [0, 10] | learning rate |\n"), "%s", buf);
    free(buf);
}
END_TEST

/* Errors carry a kind, so callers never match the message text. */
START_TEST(error_kinds)
{
    static const char *const cases[] = {"train: {lr: 1}\n", "train: {epochs: 3, shufle: true}\n",
                                        "train: {epochs: 3, zzzzzzzz: 1}\n", "train: {epochs: ten}\n"};
    static const ae_err_kind want[] = {AE_KIND_MISSING_KEY, AE_KIND_UNKNOWN_KEY, AE_KIND_UNKNOWN_KEY_LISTED,
                                       AE_KIND_BAD_VALUE};
    static const ae_key req[] = {AE_KEY_INT_(opts, epochs, "epochs", NULL, 1, 10, "needed"),
                                 AE_KEY_BOOL_(opts, shuffle, "shuffle", "true", "reshuffle")};
    static const ae_schema s = AE_SCHEMA("train", req);
    for (size_t i = 0; i < 4; i++) {
        ae_cfg *c = load(cases[i]);
        opts o;
        ae_err err = {0};
        ck_assert_int_eq(ae_schema_read(&s, ae_cfg_lookup(c, "train"), &o, 1, &err), AE_EINPUT);
        ck_assert_msg(err.kind == want[i], "case %zu: kind %d: %s", i, (int)err.kind, err.msg);
        ae_cfg_free(c);
    }
    ae_err err = {0};
    ae_errf(&err, AE_EINPUT, "plain");
    ck_assert_int_eq(err.kind, AE_KIND_NONE);
    ae_errk(&err, AE_KIND_MISSING_KEY, AE_EINPUT, "second"); /* the first message stays, with its kind */
    ck_assert(err.kind == AE_KIND_NONE && !strcmp(err.msg, "plain"));
    ae_err_clear(&err);
    ck_assert(err.kind == AE_KIND_NONE && err.code == AE_OK);
}
END_TEST

/* A missing required key names its place and says what it expects. */
START_TEST(missing_says_what)
{
    static const ae_key req[] = {AE_KEY_INT_(opts, epochs, "epochs", NULL, 1, 10, "needed"),
                                 AE_KEY_STR_(opts, name, "name", NULL, names, "the optimizer")};
    static const ae_schema s = AE_SCHEMA("train", req);
    static const char *const cases[][2] = {
        {"train: {lr: 1}\n", "t.yaml:1:8: train: missing required key 'epochs' (an integer in [1, 10])"},
        {"train: {epochs: 2}\n", "t.yaml:1:8: train: missing required key 'name' (one of: adam, sgd)"},
    };
    for (size_t i = 0; i < 2; i++) {
        ae_cfg *c = load(cases[i][0]);
        opts o;
        ae_err err = {0};
        ck_assert_int_eq(ae_schema_read(&s, ae_cfg_lookup(c, "train"), &o, 0, &err), AE_EINPUT);
        ck_assert_str_eq(err.msg, cases[i][1]);
        ae_cfg_free(c);
    }
    /* the keys after the missing one are still valid: only a real unknown key is left for finish */
    ae_cfg *c = load("train: {name: sgd, epochz: 3}\n");
    opts o;
    ae_err err = {0}, e2 = {0};
    ck_assert_int_eq(ae_schema_read(&s, ae_cfg_lookup(c, "train"), &o, 0, &err), AE_EINPUT);
    ck_assert_int_eq(ae_cfg_finish(ae_cfg_lookup(c, "train"), "train", &e2), AE_EINPUT);
    ck_assert_msg(strstr(e2.msg, "unknown key 'epochz' in train (did you mean 'epochs'?)"), "%s", e2.msg);
    ae_cfg_free(c);
}
END_TEST

/* A nested section with cases: the optimizer's keys and defaults follow its name. */
typedef struct optc {
    int kind;
    double lr, momentum, beta1;
} optc;
typedef struct trainc {
    long epochs;
    optc opt;
    const char *dir;
    ae_cfg *plugins;
} trainc;
static const char *const opt_names[] = {"sgd", "adam", NULL};
static const ae_key sgd_keys[] = {AE_KEY_NUM_(optc, lr, "lr", "0.01", 0, 10, "step"),
                                  AE_KEY_NUM_(optc, momentum, "momentum", "0", 0, 1, "momentum")};
static const ae_key adam_keys[] = {AE_KEY_NUM_(optc, lr, "lr", "1e-3", 0, 10, "step"),
                                   AE_KEY_NUM_(optc, beta1, "beta1", "0.9", 0, 1, "decay")};
static const ae_schema sgd_s = AE_SCHEMA("train.optimizer", sgd_keys), adam_s = AE_SCHEMA("train.optimizer", adam_keys);
static const ae_schema_case opt_cases[] = {{"sgd", &sgd_s}, {"adam", &adam_s}};
static const ae_key opt_keys[] = {AE_KEY_CHOICE_(optc, kind, "name", "adam", opt_names, "which")};
static const ae_schema opt_s = AE_SCHEMA_CASES("train.optimizer", opt_keys, "name", opt_cases);
static int read_dir(const ae_key *k, ae_cfg *map, void *out, ae_err *err)
{
    trainc *t = out;
    return ae_cfg_str(map, k->name, t->epochs > 5 ? "long" : "short", NULL, &t->dir, err);
}
static const ae_key train_keys[] = {
    AE_KEY_INT_(trainc, epochs, "epochs", "10", 1, 100, "passes"),
    AE_KEY_SECTION_(trainc, opt, "optimizer", &opt_s, "the optimizer"),
    AE_KEY_CUSTOM_(trainc, dir, "dir", "long or short", read_dir, "depends on epochs"),
    AE_KEY_SEQ_(trainc, plugins, "plugins", AE_KEY_OPTIONAL, "stays absent"),
};
static const ae_schema train_s = AE_SCHEMA("train", train_keys);

START_TEST(sections_and_cases)
{
    ae_cfg *c = load("train: {epochs: 3, optimizer: {name: sgd, momentum: 0.5}}\n");
    trainc t;
    memset(&t, 0, sizeof t);
    ae_err err = {0};
    ck_assert_int_eq(ae_schema_read(&train_s, ae_cfg_lookup(c, "train"), &t, 1, &err), AE_OK);
    ck_assert(t.opt.kind == 0 && t.opt.lr == 0.01 && t.opt.momentum == 0.5 && !strcmp(t.dir, "short"));
    char *text = ae_cfg_emit_string(c);
    ck_assert_str_eq(text, "train:\n  epochs: 3\n  optimizer:\n    name: sgd\n    momentum: 0.5\n    lr: 0.01\n"
                           "  dir: short\n");
    free(text);
    ae_cfg_free(c);
    ae_cfg *m = ae_cfg_new_map(); /* all defaults: adam's keys */
    memset(&t, 0, sizeof t);
    ck_assert_int_eq(ae_schema_read(&train_s, m, &t, 1, &err), AE_OK);
    ck_assert(t.opt.kind == 1 && t.opt.lr == 1e-3 && t.opt.beta1 == 0.9 && !strcmp(t.dir, "long"));
    ae_cfg_free(m);
    /* a key of the other case is unknown, named in the nested section */
    c = load("train: {optimizer: {name: adam, momentum: 0.5}}\n");
    ck_assert_int_eq(ae_schema_read(&train_s, ae_cfg_lookup(c, "train"), &t, 1, &err), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "unknown key 'momentum' in train.optimizer"), "%s", err.msg);
    ae_cfg_free(c);
    char keys[64];
    ck_assert_str_eq(ae_schema_key_list(&train_s, keys, sizeof keys), "epochs, optimizer, dir, plugins");
    ck_assert_ptr_eq(ae_schema_key(&opt_s, "beta1"), &adam_keys[1]);
    ck_assert_ptr_null(ae_schema_key(&opt_s, "nope"));
}
END_TEST

START_TEST(nested_printed)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ae_schema_print(&train_s, f, "  ");
    ae_schema_markdown(&train_s, f);
    fclose(f);
    static const char *const want[] = {
        "  optimizer (mapping, default {}): the optimizer\n      name (sgd | adam, default adam): which\n",
        "      with name: sgd\n          lr ([0, 10], default 0.01): step\n",
        "  plugins (list, optional): stays absent\n",
        "`train.optimizer`:\n\n| key |",
        "With `name: adam`:\n\n| key |",
        "| `name` | string | `adam` | sgd \\| adam | which |\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) ck_assert_msg(strstr(buf, want[i]), "%zu: %s", i, buf);
    free(buf);
}
END_TEST

/* Dotted keys for completion: nested sections under their path, each case's keys once (lr is in
 * both cases), a choice's values as key=value lines. */
START_TEST(dotted_keys)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ae_schema_keys(&train_s, "train", f);
    fclose(f);
    ck_assert_str_eq(buf, "train.epochs\ntrain.optimizer\ntrain.optimizer.name\ntrain.optimizer.name=sgd\n"
                          "train.optimizer.name=adam\ntrain.optimizer.lr\ntrain.optimizer.momentum\n"
                          "train.optimizer.beta1\ntrain.dir\ntrain.plugins\n");
    free(buf);
}
END_TEST

/* An empty-string default (AE_KEY_EMPTY) is written as "" and printed so; a list with default []
 * is inserted empty when absent, an optional one stays absent. */
typedef struct strs {
    const char *label;
    ae_cfg *drop, *na;
} strs;

START_TEST(empty_string_and_list_defaults)
{
    static const ae_key k[] = {
        AE_KEY_STR_(strs, label, "label", AE_KEY_EMPTY, NULL, "a column"),
        AE_KEY_SEQ_(strs, drop, "drop", "[]", "columns"),
        AE_KEY_SEQ_(strs, na, "na", AE_KEY_OPTIONAL, "texts"),
    };
    static const ae_schema s = AE_SCHEMA("data", k);
    ae_cfg *m = ae_cfg_new_map();
    strs o = {"x", NULL, NULL};
    ae_err err = {0};
    ck_assert_int_eq(ae_schema_read(&s, m, &o, 1, &err), AE_OK);
    ck_assert_str_eq(o.label, "");
    ck_assert_ptr_nonnull(o.drop);
    ck_assert_int_eq(ae_cfg_len(o.drop), 0);
    ck_assert_ptr_null(o.na);
    ck_assert_int_eq(ae_cfg_len(m), 2);
    char *text = ae_cfg_emit_string(m);
    ck_assert_msg(text && strstr(text, "label: \"\"") && strstr(text, "drop: []") && !strstr(text, "na:"), "%s",
                  text);
    free(text);
    ae_cfg_free(m);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ae_schema_print(&s, f, "");
    fclose(f);
    ck_assert_msg(strstr(buf, "label (string, default \"\"): a column\n") && strstr(buf, "drop (list, default []): ")
                      && strstr(buf, "na (list, optional): "), "%s", buf);
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schema");
    TCase *t = tcase_create("schema");
    tcase_add_test(t, defaults_in_table_order);
    tcase_add_test(t, values_and_messages);
    tcase_add_test(t, required_keys);
    tcase_add_test(t, printed_from_the_table);
    tcase_add_test(t, error_kinds);
    tcase_add_test(t, missing_says_what);
    tcase_add_test(t, sections_and_cases);
    tcase_add_test(t, nested_printed);
    tcase_add_test(t, dotted_keys);
    tcase_add_test(t, empty_string_and_list_defaults);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}

/* Schema tables: one read fills a struct with defaults inserted into the tree in table order, the
 * getters' messages (place, range, choices, unknown keys with a suggestion, required keys), and
 * the same table printed for `aelab list` and as Markdown. */
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

int main(void)
{
    Suite *s = suite_create("schema");
    TCase *t = tcase_create("schema");
    tcase_add_test(t, defaults_in_table_order);
    tcase_add_test(t, values_and_messages);
    tcase_add_test(t, required_keys);
    tcase_add_test(t, printed_from_the_table);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}

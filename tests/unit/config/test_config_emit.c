/* Check suite for how config.yaml is written: strings that YAML 1.1 readers would take for bools,
 * nulls or numbers are quoted (values and keys), and the hashed canonical text is unchanged. */
#include "ae_config.h"
#include "ae_test.h"

#include <stdlib.h>
#include <string.h>

/* The file text s holds needle. */
static void has(const char *s, const char *needle)
{
    ck_assert_msg(s && strstr(s, needle), "'%s' not in:\n%s", needle, s ? s : "(null)");
}

/* Strings that look like bools, nulls or numbers (no, y, 1, 2024-01-01, keys No/Yes) are written
 * quoted, so that PyYAML & co. read strings too; real bools and numbers stay plain; the text reads
 * back to the same values and the same text. */
START_TEST(config_emit_quotes_yaml11_strings)
{
    const char *text = "name: no\nlabel: 1\nflag: yes\nlist: [n, 'off', 2, Y]\n"
                       "cat: {No: 0, \"Yes\": 1, y: 2, '3': 4, null: 5, ok: 6}\nnum: 0.5\nwhen: 2024-01-01\n"
                       "hex: 0x1F\nplain: dense\n";
    ae_err err = {0};
    ae_cfg *c = ae_cfg_load_string(text, "t.yaml", &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    const char *name, *label;
    int flag;
    double num;
    ck_assert_int_eq(ae_cfg_str(c, "name", NULL, NULL, &name, &err), AE_OK); /* read as strings */
    ck_assert_int_eq(ae_cfg_str(c, "label", NULL, NULL, &label, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_bool(c, "flag", 0, &flag, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_num(c, "num", 0, 0, 1, &num, &err), AE_OK);
    char *out = ae_cfg_emit_string(c);
    has(out, "name: \"no\"\n");
    has(out, "label: \"1\"\n");
    has(out, "flag: yes\n");
    has(out, "list: [\"n\", \"off\", 2, \"Y\"]\n");
    has(out, "  \"No\": 0\n  \"Yes\": 1\n  \"y\": 2\n  \"3\": 4\n  \"null\": 5\n  ok: 6\n");
    has(out, "num: 0.5\n");
    has(out, "when: \"2024-01-01\"\n");
    has(out, "hex: \"0x1F\"\n");
    has(out, "plain: dense\n");

    ae_cfg *back = ae_cfg_load_string(out, "config.yaml", &err);
    ck_assert_msg(back != NULL, "%s", err.msg);
    const char *name2, *label2;
    int flag2;
    ck_assert_int_eq(ae_cfg_str(back, "name", NULL, NULL, &name2, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_str(back, "label", NULL, NULL, &label2, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_bool(back, "flag", 0, &flag2, &err), AE_OK);
    ck_assert_str_eq(name2, "no");
    ck_assert_str_eq(label2, "1");
    ck_assert_int_eq(flag2, 1);
    ck_assert_str_eq(ae_cfg_key_at(ae_cfg_get(back, "cat"), 0), "No");
    char *again = ae_cfg_emit_string(back);
    ck_assert_str_eq(again, out);
    free(again);
    free(out);
    ae_cfg_free(back);
    ae_cfg_free(c);
}
END_TEST

/* The hashed (canonical) text keeps keys in their old plain form, so checkpoints made before the
 * quoting still match their configs, and a saved config.yaml hashes like its source once both were
 * read; marking a string is a no-op for plain-reading text and non-scalars. */
START_TEST(config_emit_canonical_unchanged)
{
    ae_err err = {0};
    ae_cfg *c = ae_cfg_load_string("name: no\ncat: {No: 0}\nt: dense\nq: \"yes\"\nw: y\n", "t.yaml", &err);
    ck_assert_ptr_nonnull(c);
    ae_cfg_mark_string(ae_cfg_get(c, "name"));
    ae_cfg_mark_string(ae_cfg_get(c, "t"));
    ae_cfg_mark_string(ae_cfg_get(c, "w"));
    ae_cfg_mark_string(ae_cfg_get(c, "cat"));
    char *canon = ae_cfg_emit_canonical(c), *out = ae_cfg_emit_string(c);
    ck_assert_str_eq(canon, "name: \"no\"\ncat:\n  No: 0\nt: dense\nq: \"yes\"\nw: \"y\"\n");
    ck_assert_str_eq(out, "name: \"no\"\ncat:\n  \"No\": 0\nt: dense\nq: \"yes\"\nw: \"y\"\n");
    ae_cfg *saved = ae_cfg_load_string(out, "config.yaml", &err); /* the saved config, read again */
    ck_assert_ptr_nonnull(saved);
    ae_cfg_mark_string(ae_cfg_get(saved, "name"));
    char *canon2 = ae_cfg_emit_canonical(saved);
    ck_assert_str_eq(canon2, canon);
    free(canon2);
    free(canon);
    free(out);
    ae_cfg_free(saved);
    ae_cfg_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_emit");
    TCase *tc = tcase_create("config_emit");
    tcase_add_test(tc, config_emit_quotes_yaml11_strings);
    tcase_add_test(tc, config_emit_canonical_unchanged);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}

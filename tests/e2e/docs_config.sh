#!/usr/bin/env bash
# docs/config.md is generated (`aelab list --markdown`) from the schema tables the configuration is
# read with: the committed file must equal the generated text, so it never goes stale; `aelab list`
# prints the same tables (keys with their defaults) and refuses an unknown argument.
# Usage: tests/e2e/docs_config.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

"$aelab" list --markdown > "$tmp/config.md"; rc=$?
[ $rc -eq 0 ] && ok || bad "list --markdown: exit $rc"
if cmp -s "$tmp/config.md" "$src/docs/config.md"; then ok; else
  bad "docs/config.md is stale: regenerate it with \`aelab list --markdown > docs/config.md\`"
  diff "$src/docs/config.md" "$tmp/config.md" | head -20
fi
# the same tables: a default, a required key, an optimizer case, a nested section, a unit's key
for want in '| `epochs` | integer | `10` | [0, 100000000] |' '| `units` | integer | required |' \
            'With `name: sgd`:' '`train.optimizer`:' '| `rho` | number | `0.05` |' '| `dir` | value | `runs/<name>` |' \
            '| `exclude_label` | integer | `-1` | [-1, 1048576] |' '#### `csv`' '| `path` | string | required |' \
            '| `dropna` | string | `none` | any \| none |' '| `test_path` | string | `""` |'; do
  grep -qF -- "$want" "$tmp/config.md" && ok || bad "markdown lacks: $want"
done
"$aelab" list > "$tmp/list.txt"
grep -qF '      units ([1, 16777216], required): output features' "$tmp/list.txt" && ok || bad "list: units row"
grep -qF '      weight ([0, 1e+06], default 1e-4): ' "$tmp/list.txt" && ok || bad "list: l1 weight row"
"$aelab" list --markdwn > "$tmp/o.txt" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "unexpected argument '--markdwn'" "$tmp/o.txt" && ok || bad "list --markdwn: exit $rc"
echo "docs_config: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

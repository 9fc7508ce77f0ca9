#!/usr/bin/env bash
# Dependencies run one way (scripts/check_layers.py): the tree passes, and a deliberate back-edge
# (the graph including the run module) and a private header used across modules are caught.
# Usage: tests/e2e/include_order.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
check=$src/scripts/check_layers.py
python3 "$check" "$src" > "$tmp/tree.out" 2>&1 && ok || bad "the tree has back-edges: $(cat "$tmp/tree.out")"
for d in framework variants plugins cli include scripts; do cp -r "$src/$d" "$tmp/$d"; done
sed -i '0,/#include "ae_graph.h"/s//#include "ae_graph.h"\n#include "ae_run.h"/' "$tmp/framework/graph/graph.c"
python3 "$check" "$tmp" > "$tmp/edge.out" 2>&1 && bad "a back-edge passed" ||
  { grep -q "framework/graph/graph.c:[0-9]*: includes ae_run.h of module 'run', above 'graph'" "$tmp/edge.out" && ok ||
    bad "back-edge message: $(cat "$tmp/edge.out")"; }
sed -i '/#include "ae_run.h"/d' "$tmp/framework/graph/graph.c"
printf '#include "../config/config_internal.h"\n' >> "$tmp/framework/data/data_csv.c"
python3 "$check" "$tmp" > "$tmp/priv.out" 2>&1 && bad "a private header across modules passed" ||
  { grep -q "a private header of module 'config'" "$tmp/priv.out" && ok || bad "private header message: $(cat "$tmp/priv.out")"; }
echo "include_order: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

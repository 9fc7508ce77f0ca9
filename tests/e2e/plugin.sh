#!/usr/bin/env bash
# Out-of-tree plug-ins: builds plugins/ortho.c as its own shared library (as a user would), runs a
# config that loads it, checks its penalty reaches final.json and decorrelates the code, checks its
# gradient by finite differences through `aelab`'s public API, checks the errors for a missing
# library and for a library without aelab_plugin_init, and runs a 70-job experiment in one process
# (the library is loaded once, not once per job).
# Usage: tests/e2e/plugin.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

cc -shared -fPIC -O2 -Wall -Wextra -Werror -I "$src/include/aelab" "$src/plugins/ortho.c" -o "$tmp/libortho.so" && ok || bad "plug-in does not build"
printf 'int unrelated(void) { return 0; }\n' > "$tmp/nosym.c"
cc -shared -fPIC "$tmp/nosym.c" -o "$tmp/libnosym.so"
awk 'BEGIN{srand(5); print "a,b,c,d,e,f,g,h"; for(i=0;i<400;i++){x=rand(); y=rand(); l=""; for(j=0;j<8;j++) l=l sprintf("%s%.4f", j?",":"", (j%2?x:y)*0.8+rand()*0.2); print l}}' > "$tmp/d.csv"
cat > "$tmp/p.yaml" <<YAML
plugins: [libortho.so]
data: {source: csv, path: $tmp/d.csv, scaling: none}
model: {encoder: [{type: dense, units: 6, activation: tanh}, {type: dense, units: 3}]}
regularizers: [{type: ortho, weight: 1.0}]
train: {epochs: 30, batch_size: 50, progress: false}
outputs: {plots: false, probe: false}
YAML
"$aelab" list 2>/dev/null | grep -q ortho && bad "ortho registered without its plug-in" || ok
"$aelab" run "$tmp/p.yaml" --out "$tmp/out" --quiet 2>"$tmp/err" && ok || bad "run with plug-in failed: $(cat "$tmp/err")"
grep -q '"ortho":' "$tmp/out/final.json" 2>/dev/null && ok || bad "final.json has no ortho term"
# the penalty works: the trained code's off-diagonal covariance is small next to a run without it
sed 's/regularizers: .*/regularizers: []/' "$tmp/p.yaml" > "$tmp/q.yaml"
"$aelab" run "$tmp/q.yaml" --out "$tmp/out2" --quiet 2>/dev/null
python3 - "$tmp/out/codes.csv" "$tmp/out2/codes.csv" <<'PY' && ok || bad "ortho did not decorrelate the code"
import csv, sys
def offdiag(path):
    rows = [[float(v) for v in r[:3]] for r in list(csv.reader(open(path)))[1:]]
    n = len(rows); m = [sum(r[k] for r in rows) / n for k in range(3)]
    c = [[sum((r[j]-m[j])*(r[k]-m[k]) for r in rows)/n for k in range(3)] for j in range(3)]
    return sum(c[j][k]**2 for j in range(3) for k in range(3) if j != k)
a, b = offdiag(sys.argv[1]), offdiag(sys.argv[2])
print("offdiag cov^2 with ortho %.3g, without %.3g" % (a, b))
sys.exit(0 if a < 0.25 * b else 1)
PY
# the plug-in uses the public tap API (ae_taps.h) as the built-in regularizers do: `layer:` picks an
# encoder layer; an unknown one is the same error as theirs (the item's position, the valid names)
sed -e 's/regularizers: .*/regularizers: [{type: ortho, weight: 1.0, layer: "encoder[0]"}]/' \
    -e 's/epochs: 30/epochs: 2/' "$tmp/p.yaml" > "$tmp/t.yaml"
"$aelab" run "$tmp/t.yaml" --out "$tmp/tap" --quiet 2>"$tmp/tap.err" && grep -q '"ortho":' "$tmp/tap/final.json" && ok ||
  bad "ortho on layer encoder[0]: $(tail -2 "$tmp/tap.err")"
sed -i 's/layer: "encoder\[0\]"/layer: "encodr[0]"/' "$tmp/t.yaml"
out=$("$aelab" run "$tmp/t.yaml" --out "$tmp/tap2" --quiet 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"t.yaml:4:"*"(ortho): unknown layer 'encodr[0]' (did you mean 'encoder[0]'?"* ]] && ok ||
  bad "ortho on an unknown layer: exit $rc: $out"
"$aelab" list 2>/dev/null | grep -q ortho && bad "list shows a plug-in it did not load" || ok
# errors: a missing library, a library without the entry point
sed 's#plugins: \[libortho.so\]#plugins: [nope.so]#' "$tmp/p.yaml" > "$tmp/m.yaml"
out=$("$aelab" check "$tmp/m.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"m.yaml:1:"*"nope.so"*"cannot be loaded"* ]] && ok || bad "missing plug-in: exit $rc: $out"
sed 's#plugins: \[libortho.so\]#plugins: [libnosym.so]#' "$tmp/p.yaml" > "$tmp/n.yaml"
out=$("$aelab" check "$tmp/n.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"has no function aelab_plugin_init"* ]] && ok || bad "plug-in without init: exit $rc: $out"
# an experiment of 70 jobs in one process: every job asks for the plug-in, which is loaded once
# (by real path), so there is no 65th load ("too many plug-ins"); a second path to the same file too
seeds=$(seq -s, 1 70)
cat > "$tmp/e.yaml" <<YAML
experiment: many
base:
  plugins: [$tmp/libortho.so, $tmp/./libortho.so]
  data: {source: csv, path: $tmp/d.csv, scaling: none}
  model: {encoder: [{type: dense, units: 3}]}
  regularizers: [{type: ortho, weight: 1.0}]
  train: {epochs: 1, batch_size: 100, progress: false}
  outputs: {plots: false, probe: false, pca_baseline: false}
seeds: [$seeds]
YAML
"$aelab" run "$tmp/e.yaml" --out "$tmp/many" --jobs 1 --quiet > /dev/null 2> "$tmp/many.err"; rc=$?
[ $rc -eq 0 ] && [ "$(ls "$tmp"/many/base/seed-*/final.json 2>/dev/null | wc -l)" -eq 70 ] && ok ||
  bad "70-job experiment with a plug-in: exit $rc: $(grep error "$tmp/many.err" | head -2)"
# in an experiment a relative plug-in path starts from the experiment file's folder (as in
# `aelab check`), whatever the working directory
sed -e 's#plugins: .*#plugins: [libortho.so]#' -e 's#seeds: .*#seeds: [1, 2]#' "$tmp/e.yaml" > "$tmp/rel.yaml"
abs=$(cd "$(dirname "$aelab")" && pwd)/$(basename "$aelab")
(cd / && "$abs" run "$tmp/rel.yaml" --out "$tmp/rel" --quiet > /dev/null 2> "$tmp/rel.err") && ok ||
  bad "relative plug-in path in an experiment: $(grep error "$tmp/rel.err" | head -2)"
echo "plugin: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

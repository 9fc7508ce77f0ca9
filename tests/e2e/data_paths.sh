#!/usr/bin/env bash
# Data paths that travel: a relative data path resolves next to the config file that names it first
# (also a base config of an experiment), then the working directory, --data-dir, AELAB_DATA; found next
# to the config it is saved absolute in the run's config.yaml, which then runs again from any folder
# (copied elsewhere too); found on the search path it stays as written. A missing file lists every
# place tried, in order. Also: the csv delimiter `auto` says what it found on stderr.
# Usage: tests/e2e/data_paths.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1
unset AELAB_DATA
aelab=$(cd "$(dirname "$aelab")" && pwd)/$(basename "$aelab")
mkdir -p "$tmp/project/configs" "$tmp/project/data" "$tmp/elsewhere" "$tmp/copy" "$tmp/search"
printf 'Town;a;b\nSyd;0.1;0.2\nAlb;0.5;0.6\nSyd;0.2;0.1\nMel;0.4;0.4\nAlb;0.9;0.8\nSyd;0.3;0.7\n' > "$tmp/project/data/t.csv"
cat > "$tmp/project/configs/c.yaml" <<YAML
name: c
data: {source: csv, path: ../data/t.csv, delimiter: auto, scaling: none, categorical: {Town: onehot}}
model: {encoder: [{type: dense, units: 2}]}
train: {epochs: 2, batch_size: 3, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
cd "$tmp/elsewhere" || exit 1
out=$("$aelab" run ../project/configs/c.yaml --out "$tmp/run1" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "next to the config: exit $rc: $out"
[[ $out == *"data.delimiter auto: ';' (2 in the header line)"* ]] && ok || bad "auto delimiter not reported: $out"
real=$(cd "$tmp/project/data" && pwd -P)/t.csv
grep -qF "path: $real" "$tmp/run1/config.yaml" && ok || bad "config.yaml path: $(grep path: "$tmp/run1/config.yaml")"
grep -qF 'onehot: ["Alb", "Mel", "Syd"]' "$tmp/run1/config.yaml" && ok || bad "one-hot list: $(grep -A2 Town: "$tmp/run1/config.yaml")"
# the run's config.yaml, copied elsewhere, runs again from yet another folder: same numbers
cp "$tmp/run1/config.yaml" "$tmp/copy/again.yaml"
cd "$tmp/search" || exit 1
out=$("$aelab" run ../copy/again.yaml --out "$tmp/run2" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "copied config.yaml: exit $rc: $out"
strip() { sed -E 's/"[a-z_]*seconds":[^,}]*,?//g; s/"samples_per_s":[^,}]*,?//g' "$1"; }
cmp -s <(strip "$tmp/run1/final.json") <(strip "$tmp/run2/final.json") && ok || bad "rerun differs: $(strip "$tmp/run2/final.json")"
cmp -s "$tmp/run1/config.yaml" "$tmp/run2/config.yaml" && ok || bad "rerun config.yaml differs"
# an experiment's base config in another folder: its data path is read next to the base file
cat > "$tmp/project/exp.yaml" <<YAML
experiment: e
base: configs/c.yaml
runs: [{name: one}]
YAML
out=$("$aelab" run "$tmp/project/exp.yaml" --out "$tmp/exp" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "experiment base: exit $rc: $out"
# on the search path: kept as written (it travels with the search path)
sed 's|path: ../data/t.csv|path: t.csv|' "$tmp/project/configs/c.yaml" > "$tmp/copy/s.yaml"
out=$(AELAB_DATA="$tmp/project/data" "$aelab" run ../copy/s.yaml --out "$tmp/run3" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q '^  path: t.csv$' "$tmp/run3/config.yaml" && ok || bad "search path: exit $rc: $out $(grep path: "$tmp/run3/config.yaml" 2>/dev/null)"
# missing: every place, in order
out=$(AELAB_DATA=/nonexistent-a:/nonexistent-b "$aelab" check ../copy/s.yaml --data-dir /nonexistent-d 2>&1); rc=$?
want="tried, in order: ../copy/t.csv, ./t.csv, /nonexistent-d/t.csv, /nonexistent-a/t.csv, /nonexistent-b/t.csv;"
[ $rc -eq 2 ] && [[ $out == *"../copy/s.yaml:2:"*"data.path: data file 't.csv' not found; $want"* ]] && ok || bad "missing: exit $rc: $out"
echo "data_paths: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

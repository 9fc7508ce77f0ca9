#!/usr/bin/env bash
# End-to-end checks of the aelab command line: help/version/list, exit codes, error messages with
# file:line:col and suggestions, a full run's outputs, divergence (exit 3), bad output folders.
# Usage: tests/cli.sh path/to/aelab SOURCE_DIR
set -u
aelab=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect CODE SUBSTRING -- command...: exit code and a substring of stdout+stderr
expect() {
  local code=$1 want=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$code" ] && [[ "$out" == *"$want"* ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    printf 'FAIL: %s\n  expected exit %s and "%s", got exit %s:\n%s\n' "$*" "$code" "$want" "$rc" "$(echo "$out" | tail -5)"
  fi
}

python3=$(command -v python3 || true)
# a small table: 240 rows, 6 columns in [0,1], and a label
awk 'BEGIN{srand(3); print "a,b,c,d,e,f,y"; for(i=0;i<240;i++){s=0; line=""; for(j=0;j<6;j++){v=rand(); s+=v; line=line sprintf("%.4f,",v)}; print line (s>3?"Yes":"No")}}' > "$tmp/t.csv"
cat > "$tmp/ok.yaml" <<YAML
name: tiny
data:
  source: csv
  path: t.csv
  categorical: {y: {"No": 0, "Yes": 1}}
  label: y
  scaling: none
  test_fraction: 0.25
model:
  encoder: [{type: dense, units: 4, activation: relu}, {type: dense, units: 2}]
loss: bce
train: {epochs: 3, batch_size: 32}
YAML

expect 0 "usage: aelab" -- "$aelab" --help
expect 0 "aelab 0." -- "$aelab" --version
expect 0 "kl_sparsity" -- "$aelab" list
expect 0 "dense" -- "$aelab" list
expect 2 "unknown command 'trian'" -- "$aelab" trian x.yaml
expect 2 "missing the config file" -- "$aelab" run
expect 2 "unknown or incomplete option '--bogus'" -- "$aelab" run "$tmp/ok.yaml" --bogus
expect 2 "cannot open" -- "$aelab" check "$tmp/none.yaml"

# check: resolved config, data found through --data-dir
expect 0 "decoder:" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp"
expect 2 "not found" -- "$aelab" check "$tmp/ok.yaml"
AELAB_DATA="/nowhere:$tmp" expect 0 "units: 4" -- env AELAB_DATA="/nowhere:$tmp" "$aelab" check "$tmp/ok.yaml"

# typos: file:line:col and the nearest key
sed 's/batch_size/batch_sise/' "$tmp/ok.yaml" > "$tmp/typo.yaml"
expect 2 "typo.yaml:12:20: unknown key 'batch_sise' in train (did you mean 'batch_size'?)" -- "$aelab" check "$tmp/typo.yaml" --data-dir "$tmp"
sed 's/type: dense, units: 4/type: dnese, units: 4/' "$tmp/ok.yaml" > "$tmp/typo2.yaml"
expect 2 "did you mean 'dense'" -- "$aelab" check "$tmp/typo2.yaml" --data-dir "$tmp"
printf 'model:\n\tencoder: []\n' > "$tmp/tab.yaml"
expect 2 "tab.yaml:2:" -- "$aelab" check "$tmp/tab.yaml"
expect 2 "train.epochs" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set train.epochs=-1
expect 2 "--set" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set train.epochs
expect 2 "expected 6" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set 'model.decoder=[{type: dense, units: 5}]'

# a full run and its outputs
expect 0 "tiny" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/run" --quiet
for f in config.yaml metrics.jsonl final.json loss.png loss.dat loss.gp codes.csv codes.png; do
  if [ -s "$tmp/run/$f" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: missing output $f"; fi
done
if [ "$(wc -l < "$tmp/run/metrics.jsonl")" -eq 3 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: metrics.jsonl should have 3 lines"; fi
# the saved config runs again as it is
expect 0 "tiny" -- "$aelab" run "$tmp/run/config.yaml" --data-dir "$tmp" --out "$tmp/run2" --quiet
strip() { sed -E 's/"(train_seconds|samples_per_s)":[^,}]*//g' "$1"; }
if cmp -s <(strip "$tmp/run/final.json") <(strip "$tmp/run2/final.json"); then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: rerun of config.yaml differs"; fi

# divergence: exit 3 naming epoch and batch
expect 3 "diverged at epoch" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/div" --quiet --set train.optimizer.name=sgd --set train.optimizer.lr=1000 --set loss=mse --set 'model.encoder=[{type: dense, units: 4, activation: relu}, {type: dense, units: 2}]'
# output folder that cannot be made
expect 4 "/dev/null" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out /dev/null/x --quiet

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

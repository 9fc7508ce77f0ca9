#!/usr/bin/env bash
# End-to-end checks of the aelab command line: help/version/list, exit codes, error messages with
# file:line:col and suggestions, a full run's outputs, divergence (exit 3), bad output folders.
# Usage: tests/e2e/cli.sh path/to/aelab SOURCE_DIR
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
    local cmd="$*"
    printf 'FAIL: %s\n  expected exit %s and "%s", got exit %s:\n%s\n' "${cmd:0:300}" "$code" "${want:0:300}" "$rc" "$(echo "$out" | tail -5 | cut -c1-600)"
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

# check: resolved config, data found next to the config, else through --data-dir / AELAB_DATA
expect 0 "decoder:" -- "$aelab" check "$tmp/ok.yaml"
mkdir -p "$tmp/cfg" && cp "$tmp/ok.yaml" "$tmp/cfg/ok.yaml"
expect 0 "decoder:" -- "$aelab" check "$tmp/cfg/ok.yaml" --data-dir "$tmp"
expect 2 "not found" -- "$aelab" check "$tmp/cfg/ok.yaml"
AELAB_DATA="/nowhere:$tmp" expect 0 "units: 4" -- env AELAB_DATA="/nowhere:$tmp" "$aelab" check "$tmp/cfg/ok.yaml"

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
# config.yaml: strings YAML 1.1 would read as bools are quoted (the categorical keys No/Yes)
if grep -q '^      "No": 0$' "$tmp/run/config.yaml" && grep -q '^      "Yes": 1$' "$tmp/run/config.yaml"; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: config.yaml: No/Yes keys not quoted"; fi
# the saved config runs again as it is
expect 0 "tiny" -- "$aelab" run "$tmp/run/config.yaml" --data-dir "$tmp" --out "$tmp/run2" --quiet
strip() { sed -E 's/"(train_seconds|samples_per_s)":[^,}]*//g' "$1"; }
if cmp -s <(strip "$tmp/run/final.json") <(strip "$tmp/run2/final.json"); then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: rerun of config.yaml differs"; fi

# divergence: exit 3 naming epoch and batch
expect 3 "diverged at epoch" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/div" --quiet --set train.optimizer.name=sgd --set train.optimizer.lr=1000 --set loss=mse --set 'model.encoder=[{type: dense, units: 4, activation: relu}, {type: dense, units: 2}]'
# output folder that cannot be made
expect 4 "/dev/null" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out /dev/null/x --quiet

# option values: whole numbers in range, else exit 2 naming the option, the value and the range
for v in 1000 -1 abc 1.5 '' ' 4' 4x 99999999999999999999; do
  expect 2 "--threads '$v': expected a whole number in [0, 512]" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --threads "$v"
done
for v in 0 -1 1000 2x 1e2; do
  expect 2 "--jobs '$v': expected a whole number in [1, 256]" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --jobs "$v"
done
for v in 2/2x 0/2 3/2 2 /2 1/ 1/0 -1/2 a/b 1/2/3; do
  expect 2 "--shard '$v': expected I/N, whole numbers with 1 <= I <= N" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --shard "$v"
done
expect 2 "--threads needs a value" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --threads
# --shard slices an experiment: an error on a single-run config (1-based: 2/2 is the last slice)
expect 2 "--shard 2/2: $tmp/ok.yaml is a single-run config" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/sh" --quiet --shard 2/2
if [ ! -e "$tmp/sh" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: --shard on a single run trained"; fi
# more threads than cores: a warning, not an error (no machine here has 512 cores)
expect 0 "warning: --threads 512 is more than the" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --threads 512
expect 0 "units: 4" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --threads 0 --jobs 1
for v in 0 abc 5x -3 4097; do
  expect 2 "--n '$v': expected a whole number in [1, 4096]" -- "$aelab" sample "$tmp/run" --n "$v"
done
for v in -1 1.5 x 4294967296; do
  expect 2 "--seed '$v': expected a whole number in [0, 4294967295]" -- "$aelab" sample "$tmp/run" --seed "$v"
done
expect 2 "unknown or incomplete option '--bogus' (see aelab sample --help)" -- "$aelab" sample "$tmp/run" --bogus

# --help anywhere: the usage on stdout, exit 0
for args in "--help" "-h" "run --help" "check -h" "report --help" "list --help" "run $tmp/ok.yaml --threads 4 --help"; do
  # shellcheck disable=SC2086
  expect 0 "usage: aelab" -- "$aelab" $args
done
expect 0 "usage: aelab sample RUN_DIR" -- "$aelab" sample --help
expect 0 "--data-dir DIR" -- "$aelab" sample "$tmp/run" --n 4 --help
if "$aelab" run --help 2>/dev/null | grep -q "^usage: aelab"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: run --help: usage not on stdout"; fi
expect 2 "--set '--help': expected KEY=VALUE" -- "$aelab" check "$tmp/ok.yaml" --set --help

# a 10,000-character --set key: the key is shortened in the message, the reason kept
long=$(printf 'k%.0s' $(seq 1 10000))
expect 2 "…' at the top level (valid keys: " -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set "$long=1"
expect 2 "…' in train (valid keys: epochs" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set "train.$long=1"
expect 2 "…: name is a scalar" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set "name.$long=1"
expect 2 "…: index 5 is out of range: model.encoder has 2 items" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set "model.encoder[5].$long=1"
expect 2 "…': syntax error: did not find expected" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set "name=[$long"
expect 2 "got '$(printf 'k%.0s' $(seq 1 60))…'" -- "$aelab" check "$tmp/ok.yaml" --data-dir "$tmp" --set "train.epochs=$long"

# divergence to NaN: printed as "nan" (never "-nan") with what to try
out=$("$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/nan" --quiet --set train.optimizer.name=sgd --set train.optimizer.lr=1000 2>&1); rc=$?
if [ $rc -eq 3 ] && [[ $out == *"diverged at epoch"* && $out == *" is nan;"* && $out != *"-nan"* &&
      $out == *"lower learning rate (train.optimizer.lr is 1000, e.g. 100)"* && $out == *"train.optimizer.clip_grad_norm"* ]]; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: divergence message (exit $rc): $out"
fi

# sample: the run's data found through --data-dir (it is nowhere else)
if [ -n "$python3" ]; then
  mkdir -p "$tmp/imgdata"
  "$python3" - "$tmp/imgdata" <<'PY'
import random, struct, sys
random.seed(1)
n = 40
open(sys.argv[1] + '/imgs.idx', 'wb').write(struct.pack('>IIII', 0x803, n, 4, 4) + bytes(random.randrange(256) for _ in range(n * 16)))
open(sys.argv[1] + '/labs.idx', 'wb').write(struct.pack('>II', 0x801, n) + bytes(i % 3 for i in range(n)))
PY
  cat > "$tmp/vae.yaml" <<YAML
name: vae
data: {source: idx, images: imgs.idx, labels: labs.idx}
model:
  encoder: [{type: dense, units: 8, activation: relu}]
  latent: {kind: gaussian, size: 2}
train: {epochs: 1, batch_size: 16}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
  expect 0 "vae" -- "$aelab" run "$tmp/vae.yaml" --data-dir "$tmp/imgdata" --out "$tmp/vrun" --quiet
  expect 2 "not found" -- "$aelab" sample "$tmp/vrun" --n 4
  expect 0 "$tmp/vrun/s.png" -- "$aelab" sample "$tmp/vrun" --n 4 --data-dir "$tmp/imgdata" --out "$tmp/vrun/s.png"
  if [ -s "$tmp/vrun/s.png" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: sample wrote no PNG"; fi
else
  fail=$((fail + 1)); echo "FAIL: python3 is needed to write the IDX test data"
fi

# a string value that reads as a bool (name: no) is saved quoted, and the saved config.yaml hashes
# like its source: run again into its own folder, it is recognised as finished
expect 0 "" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/named" --quiet --set name=no --set train.epochs=1
if grep -q '^name: "no"$' "$tmp/named/config.yaml"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: name: no not quoted"; fi
expect 0 "no: finished already" -- "$aelab" run "$tmp/named/config.yaml" --data-dir "$tmp" --out "$tmp/named" --quiet
expect 0 "no: finished already" -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/named" --quiet --set name=no --set train.epochs=1
# counts: "1 epoch", not "1 epochs"
expect 0 "80 parameters, 1 epoch -> " -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/one" --quiet --set train.epochs=1
expect 0 "finished already (1 epoch, " -- "$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/one" --quiet --set train.epochs=1
# the progress line's samples/s at each epoch end is metrics.jsonl's samples_per_s (as "41.8k")
"$aelab" run "$tmp/ok.yaml" --data-dir "$tmp" --out "$tmp/prog" --set train.progress=true 2> "$tmp/prog.err" > /dev/null
shown=$(sed -n 's/^epoch [0-9]*\/3  loss [^ ]*  \([^ ]*\) samples\/s .*/\1/p' "$tmp/prog.err" | tr '\n' ' ')
want=$(sed 's/.*"samples_per_s":\([^,}]*\).*/\1/' "$tmp/prog/metrics.jsonl" |
  awk '{r = $1 + 0; if (r >= 1e6) printf "%.1fM ", r / 1e6; else if (r >= 1e3) printf "%.1fk ", r / 1e3; else printf "%.0f ", r}')
if [ -n "$want" ] && [ "$(echo "$shown" | wc -w)" -eq 3 ] && [ "$shown" = "$want" ]; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL: progress samples/s '$shown' differ from metrics.jsonl '$want'"; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

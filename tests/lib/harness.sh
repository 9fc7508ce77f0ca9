# Shared start of the shell test suites (sourced, not a test itself): arguments, a temp folder
# removed on exit, and the pass/fail counters whose "N passed, N failed" line each suite prints.
# Usage in a suite: . "$(dirname "$0")/lib/harness.sh" "$@"   (args: path/to/aelab SOURCE_DIR)
set -u
aelab=$1
src=${2:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# Writes to FILE an experiment (named NAME) whose first run diverges (exit 3) and whose second is a
# config error (exit 2); further run lines may follow as arguments. The exit-code rule's fixture.
diverge_experiment() {
  local file=$1 name=$2
  shift 2
  cat > "$file" <<YAML
experiment: $name
base:
  data: {source: csv, path: $src/tests/bad/data/diverge.csv, scaling: none}
  model: {encoder: [{type: dense, units: 2}]}
  train: {epochs: 5, batch_size: 2, progress: false, optimizer: {name: sgd, lr: 1000}}
  outputs: {plots: false, probe: false, pca_baseline: false}
runs:
  - {name: diverges}
  - {name: broken, set: {train.epochs: -1}}
YAML
  local line
  for line in "$@"; do printf '  - %s\n' "$line" >> "$file"; done
}

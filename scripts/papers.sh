#!/usr/bin/env bash
# The paper reproductions of experiments/papers/<name>/: runs every experiment file of the named papers
# (all when none is named) into runs/papers/<name>/<file>/, two runs at a time; an interrupted call
# resumes from the checkpoints when called again. `--smoke DATA_DIR OUT` runs each file for a few
# batches instead (the common --set below plus the paper's smoke.sets): what `make test` does. A paper's
# figures.sh RUNS OUT, when there is one, then draws its figures from the runs into the paper's folder.
# --out DIR puts the runs elsewhere (e.g. outside a work tree that a new session lays anew: the runs
# resume from DIR/<name>/... when called again with the same DIR; default runs/papers, or $AELAB_PAPERS_OUT).
# Usage: scripts/papers.sh [--aelab BIN] [--jobs N] [--out DIR] [NAME...] | scripts/papers.sh --smoke DATA_DIR OUT
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
aelab=$here/build/aelab jobs=2 smoke="" out=${AELAB_PAPERS_OUT:-$here/runs/papers}
while [ $# -gt 0 ]; do
  case $1 in
    --aelab) aelab=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --smoke) smoke=$2 out=$3; shift 3 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
export AELAB_DATA=${AELAB_DATA:-$here/../shared/data:$here/data}
names=("$@")
[ ${#names[@]} -gt 0 ] || for d in "$here"/experiments/papers/*/; do names+=("$(basename "$d")"); done
fail=0
for name in "${names[@]}"; do
  dir=$here/experiments/papers/$name
  [ -d "$dir" ] || { echo "papers: no paper '$name' (experiments/papers/: $(ls "$here/experiments/papers" | tr '\n' ' '))" >&2; exit 2; }
  for cfg in "$dir"/*.yaml; do
    stem=$(basename "$cfg" .yaml)
    if [ -n "$smoke" ]; then
      sets=(--set data.limit=200 --set data.test_limit=100 --set train.epochs=1 --set outputs.probe=false
            --set outputs.pca_baseline=false)
      if [ -f "$dir/smoke.sets" ]; then
        while read -r s; do case $s in ''|'#'*) ;; *) sets+=(--set "$s") ;; esac; done < "$dir/smoke.sets"
      fi
      if "$aelab" run "$cfg" --data-dir "$smoke" --out "$out/$name/$stem" --quiet --threads 1 "${sets[@]}" \
           > "$out/$name.$stem.log" 2>&1; then echo "papers: $name/$stem: ok"
      else echo "papers: $name/$stem: FAILED"; tail -5 "$out/$name.$stem.log"; fail=$((fail + 1)); fi
    else
      echo "== $name/$stem -> $out/$name/$stem ($(date -u +%FT%TZ)) =="
      start=$(date +%s)
      "$aelab" run "$cfg" --out "$out/$name/$stem" --jobs "$jobs" --quiet || fail=$((fail + 1))
      echo "($name/$stem: $(( $(date +%s) - start )) s this call)"
    fi
  done
  if [ -x "$dir/figures.sh" ]; then
    if [ -n "$smoke" ]; then
      AELAB_DATA="$smoke:$AELAB_DATA" N_TRAIN=200 "$dir/figures.sh" "$out/$name" "$out/$name/figures" > "$out/$name.figures.log" 2>&1 \
        && echo "papers: $name/figures.sh: ok" || { echo "papers: $name/figures.sh: FAILED"; cat "$out/$name.figures.log"; fail=$((fail + 1)); }
    else "$dir/figures.sh" "$out/$name" "$dir" || fail=$((fail + 1)); fi
  fi
done
[ "$fail" -eq 0 ]

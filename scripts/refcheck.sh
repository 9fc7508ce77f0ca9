#!/usr/bin/env bash
# Same numbers before and after a refactoring: trains the tutorial and the peer workloads W1-W7
# (1 epoch, 5,000 training samples, 2 threads) into OUT, and with REF compares every final.json,
# metrics.jsonl and config.yaml with REF's (timing fields left out). Usage: scripts/refcheck.sh AELAB OUT [REF]
set -u
aelab=$1 out=$2 ref=${3:-}
src=$(cd "$(dirname "$0")/.." && pwd)
export AELAB_DATA=${AELAB_DATA:-$src/../shared/data:$src/data}
# (`lr`, the configured learning rate of the epoch, is left out too: references from before it was
# written compare equal)
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s|eval_seconds|[a-z_]*_seconds|lr)":[^,}]*,?//g' "$1"; }
same=0 differ=0
for c in rain_tutorial peer/w1 peer/w2 peer/w3 peer/w4 peer/w5 peer/w5_estimate peer/w6 peer/w6_l1 peer/w7; do
  name=${c//\//_}
  sets=(--set train.epochs=1)
  case $c in rain_*|peer/w1) ;; *) sets+=(--set data.limit=5000) ;; esac
  if ! "$aelab" run "$src/configs/$c.yaml" --out "$out/$name" --threads 2 --quiet "${sets[@]}" > "$out.$name.log" 2>&1; then
    echo "refcheck: $c failed: $(tail -2 "$out.$name.log")"; differ=$((differ + 1)); continue
  fi
  [ -n "$ref" ] || continue
  for f in final.json metrics.jsonl config.yaml; do
    if cmp -s <(strip "$ref/$name/$f") <(strip "$out/$name/$f"); then same=$((same + 1)); else
      differ=$((differ + 1)); echo "refcheck: $c: $f differs"; diff <(strip "$ref/$name/$f" | tr ',' '\n') <(strip "$out/$name/$f" | tr ',' '\n') | head -6; fi
  done
done
echo "refcheck: $same identical, $differ differ"
[ "$differ" -eq 0 ]

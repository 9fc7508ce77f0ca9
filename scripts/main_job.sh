#!/usr/bin/env bash
# The main job of `make run`: the comparative experiment experiments/variants_fmnist.yaml (six
# variants + PCA, 3 seeds, two runs at a time) ending with its results table; before it, the seed
# tutorial when weatherAUS is found (AELAB_DATA, ./data or ../shared/data), else a note on where to
# put it. Re-running skips every finished run.
set -euo pipefail
aelab=${1:-build/aelab}
here=$(cd "$(dirname "$0")/.." && pwd)
search="${AELAB_DATA:-}:$here/data:$here/../shared/data"
found=""
IFS=: read -ra dirs <<< "$search"
for d in "${dirs[@]}"; do
  [ -n "$d" ] && { [ -f "$d/weatherAUS.csv.gz" ] || [ -f "$d/weatherAUS.csv" ]; } && { found=$d; break; }
done
if [ -n "$found" ]; then
  echo "== seed tutorial (data: $found) -> runs/rain_tutorial =="
  "$aelab" run "$here/configs/rain_tutorial.yaml" --data-dir "$found" --quiet
else
  echo "note: weatherAUS.csv(.gz) not found in: ${search//:/ }" >&2
  echo "      get it from Kaggle ('Rain in Australia') and put it in ./data/ (or a folder in AELAB_DATA)" >&2
  echo "      to also run the seed tutorial (configs/rain_tutorial.yaml)." >&2
fi
echo "== comparative experiment: experiments/variants_fmnist.yaml -> runs/variants_fmnist =="
start=$(date +%s)
"$aelab" run "$here/experiments/variants_fmnist.yaml" --jobs 2 --quiet
echo "(experiment wall time: $(( $(date +%s) - start )) s; re-running skips finished runs)"

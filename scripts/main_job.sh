#!/usr/bin/env bash
# The main job of `make run`: the seed tutorial on weatherAUS when the data file is found (AELAB_DATA,
# ./data or ../shared/data), plus its linear-code extension with the PCA baseline; otherwise says
# where to put the file and trains the Fashion-MNIST undercomplete AE instead.
set -euo pipefail
aelab=${1:-build/aelab}
here=$(cd "$(dirname "$0")/.." && pwd)
search="${AELAB_DATA:-}:$here/data:$here/../shared/data"
found=""
IFS=: read -ra dirs <<< "$search"
for d in "${dirs[@]}"; do
  [ -n "$d" ] && [ -f "$d/weatherAUS.csv.gz" -o -f "$d/weatherAUS.csv" ] && { found=$d; break; }
done
if [ -n "$found" ]; then
  echo "== seed tutorial (data: $found) =="
  "$aelab" run "$here/configs/rain_tutorial.yaml" --data-dir "$found"
  echo "== linear code + PCA baseline + probe =="
  "$aelab" run "$here/configs/rain_linear.yaml" --data-dir "$found"
  echo "outputs: runs/rain_tutorial/ and runs/rain_linear/ (metrics.jsonl, final.json, *.png)"
else
  echo "weatherAUS.csv(.gz) not found in: ${search//:/ }" >&2
  echo "Get it from Kaggle ('Rain in Australia', weatherAUS.csv) and put it in ./data/ or a folder" >&2
  echo "listed in AELAB_DATA. Running the Fashion-MNIST undercomplete autoencoder instead." >&2
  "$aelab" run "$here/configs/undercomplete.yaml"
fi

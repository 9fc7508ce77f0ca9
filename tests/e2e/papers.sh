#!/usr/bin/env bash
# Every paper reproduction config (experiments/papers/*/*.yaml) runs for a few batches, so none goes
# stale: scripts/papers.sh --smoke on MNIST-shaped IDX files generated here (random pixels, labels
# 0-9), then each run folder holds its final.json. Usage: tests/e2e/papers.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

mkdir -p "$tmp/data/mnist" "$tmp/out"
python3 - "$tmp/data/mnist" <<'PY'
import gzip, random, struct, sys
random.seed(1)
for split, n in (("train", 300), ("t10k", 120)):
    with gzip.open(f"{sys.argv[1]}/{split}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(random.randrange(256) for _ in range(n * 784)))
    with gzip.open(f"{sys.argv[1]}/{split}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
PY

if bash "$src/scripts/papers.sh" --aelab "$aelab" --smoke "$tmp/data" "$tmp/out" > "$tmp/smoke.log" 2>&1; then ok
else bad "scripts/papers.sh --smoke: $(cat "$tmp/smoke.log")"; fi
cat "$tmp/smoke.log"
for cfg in "$src"/experiments/papers/*/*.yaml; do
  name=$(basename "$(dirname "$cfg")") stem=$(basename "$cfg" .yaml)
  n=$(find "$tmp/out/$name/$stem" -name final.json 2>/dev/null | wc -l)
  if [ "$n" -ge 1 ]; then ok; else bad "$name/$stem: no final.json"; fi
done
echo "papers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

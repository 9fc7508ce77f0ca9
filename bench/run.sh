#!/usr/bin/env bash
# `make bench`: the side-by-side benchmark against the PyTorch peer (see bench/bench.py).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
exec /usr/bin/python3 "$here/bench/bench.py" --aelab "$build/aelab" "${@:2}"

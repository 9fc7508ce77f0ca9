#!/usr/bin/env bash
# Reproduction check against the PyTorch peer: runs experiments/peer/w*.yaml (configs/peer/w*.yaml,
# 3 seeds each; finished runs are skipped) and writes experiments/peer/README.md comparing aelab's
# test figures (mean over seeds) with the peer's seed-42 figures. Long (about 15-25 minutes on 2
# cores): not part of `make test`. Usage: scripts/peer_quality.sh [build/aelab] [--jobs N]
set -euo pipefail
aelab=${1:-build/aelab}
shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
extra=("$@")
[ ${#extra[@]} -eq 0 ] && extra=(--jobs 2)
# MNIST (W9, W10): ../shared/data next to the checkout unless AELAB_DATA says otherwise
export AELAB_DATA=${AELAB_DATA:-$here/../shared/data}
for w in w2 w3 w4 w5 w6 w6_l1 w7 w9 w10; do
  "$aelab" run "$here/experiments/peer/$w.yaml" --out "$here/runs/peer_$w" --quiet "${extra[@]}" > /dev/null
done
python3 - "$here" <<'PY'
import json, os, statistics, sys, time
here = sys.argv[1]
def runs(w):
    d = os.path.join(here, "runs", "peer_" + w, w)
    return [json.load(open(os.path.join(d, s, "final.json"))) for s in sorted(os.listdir(d))
            if os.path.exists(os.path.join(d, s, "final.json"))]
# (workload, metric label, how to get it from final.json, peer value)
rows = [
    ("W2", "test BCE", lambda f: f["bce"], 0.28250), ("W2", "test MSE", lambda f: f["mse"], 0.013087),
    ("W3", "test BCE", lambda f: f["bce"], 0.27428), ("W3", "test MSE", lambda f: f["mse"], 0.010347),
    ("W4", "-ELBO (nats)", lambda f: f["neg_elbo"], 244.25), ("W4", "recon (nats)", lambda f: f["recon_sum"], 227.71),
    ("W4", "KL (nats)", lambda f: f["kl"], 16.55),
    ("W5", "test BCE", lambda f: f["bce"], 0.27769), ("W5", "mean ‖J‖²_F", lambda f: f["contractive"] / 1e-4, 32.050),
    ("W6", "mean activation", lambda f: f["mean_code_activation"], 0.0517), ("W6", "test BCE", lambda f: f["bce"], 0.4176),
    ("W6-L1", "test BCE", lambda f: f["bce"], 0.27559),
    ("W7", "denoised MSE", lambda f: f["denoised_mse"], 0.016190), ("W7", "noisy input MSE", lambda f: f["noisy_input_mse"], 0.052757),
    ("W9", "test -ELBO, 2 epochs (nats)", lambda f: f["neg_elbo"], 116.3),
    ("W10", "test squared error per image, 2 epochs", lambda f: f["sse"], 40.87),
]
key = {"W2": "w2", "W3": "w3", "W4": "w4", "W5": "w5", "W6": "w6", "W6-L1": "w6_l1", "W7": "w7", "W9": "w9", "W10": "w10"}
out = ["# aelab vs the PyTorch peer: test figures of W2-W10", "",
       "aelab: mean ± sd over seeds 1, 2, 3 (configs/peer/w*.yaml via experiments/peer/w*.yaml); peer: "
       "`/usr/bin/python3 ../shared/peers/torch_ref.py Wn`, seed 42 (figures from ../shared/peers/README.md; "
       "W9 and W10 after 2 epochs on both sides, the W9 peer's std head is log std, ours log variance). "
       "Measured %s with `scripts/peer_quality.sh`." % time.strftime("%Y-%m-%d"), "",
       "| workload | metric | aelab | peer | difference |", "|---|---|---|---|---|"]
for wl, label, get, peer in rows:
    vals = [get(f) for f in runs(key[wl])]
    if not vals:
        out.append("| %s | %s | (not run) | %.5g | |" % (wl, label, peer)); continue
    m = statistics.mean(vals); sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    out.append("| %s | %s | %.5g ± %.2g (n=%d) | %.5g | %+.1f%% |" % (wl, label, m, sd, len(vals), peer, 100 * (m - peer) / peer))
open(os.path.join(here, "experiments", "peer", "README.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY

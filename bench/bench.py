#!/usr/bin/env python3
"""aelab vs the PyTorch peer, side by side: for each reference workload, run aelab's config and the
peer script (at its fastest thread setting) alternately, R rounds, and report median training
throughput (samples/s, epoch 1 without its first warm-up batches, as the peer measures), the ratio,
peak RSS of each, aelab's achieved GFLOP/s and its fraction of this machine's FP32 GEMM peak (measured
at the start by build/gemm_peak, with the CPU model and the instruction set oneDNN uses).

Then (unless --no-scaling) aelab's thread scaling on W2 and W3: 2 threads vs 1, alternately, same
rounds (target >= 1.7x).

Usage: bench/bench.py [--aelab build/aelab] [--rounds 2] [--only W2,W3] [--no-scaling] [--out bench/results.md]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(ROOT, "..", "shared", "peers", "torch_ref.py")

# workload: aelab config, peer workload, peer thread setting (fastest per ../shared/peers/README.md),
# the peer JSON key for throughput, epochs (aelab, peer) used for timing
WORKLOADS = [
    ("W1", "configs/peer/w1.yaml", "W1", ["--threads", "1", "--blas-threads", "2"], None),
    ("W2", "configs/peer/w2.yaml", "W2", ["--threads", "1", "--blas-threads", "2"], 2),
    ("W3", "configs/peer/w3.yaml", "W3", ["--threads", "2", "--blas-threads", "1"], 1),
    ("W4", "configs/peer/w4.yaml", "W4", ["--threads", "1", "--blas-threads", "2"], 2),
    ("W5", "configs/peer/w5.yaml", "W5", ["--threads", "1", "--blas-threads", "2"], 2),
    ("W5-est", "configs/peer/w5_estimate.yaml", "W5-autograd", ["--threads", "1", "--blas-threads", "2", "--subset", "2000"], 1),
    ("W6", "configs/peer/w6.yaml", "W6", ["--threads", "1", "--blas-threads", "2"], 2),
    ("W6-L1", "configs/peer/w6_l1.yaml", "W6-L1", ["--threads", "1", "--blas-threads", "2"], 2),
    ("W7", "configs/peer/w7.yaml", "W7", ["--threads", "1", "--blas-threads", "2"], 2),
]
TARGET = {"W1": 3, "W2": 2, "W3": 3, "W4": 2, "W5": 2, "W5-est": 50, "W6": 2, "W6-L1": 2, "W7": 2}


def timed(cmd, env=None):
    """Runs cmd under GNU time; returns (stdout, stderr, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd, capture_output=True, text=True,
                           env=env)
        if p.returncode != 0:
            sys.exit("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
        rss = int(tf.read().strip().splitlines()[-1]) / 1024.0
    return p.stdout, p.stderr, rss


def machine(args):
    """(CPU model, oneDNN's ISA, {threads: measured sgemm GFLOP/s}) from build/gemm_peak, next to aelab."""
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    out = subprocess.run([os.path.join(os.path.dirname(os.path.abspath(args.aelab)), "gemm_peak"),
                          str(args.threads or os.cpu_count())], capture_output=True, text=True, check=True).stdout.split()
    return model, out[1], {int(out[2]): float(out[3]), int(out[4]): float(out[5])}


def run_aelab(args, wl, cfg, epochs, threads=0):
    out = tempfile.mkdtemp(prefix="aelab-bench-")
    cmd = [args.aelab, "run", os.path.join(ROOT, cfg), "--out", out, "--quiet", "--set", "outputs.plots=false",
           "--set", "outputs.probe=false", "--set", "outputs.pca_baseline=false", "--set", "train.checkpoint_every=0"]
    if wl == "W1":
        cmd += ["--data-dir", os.path.join(ROOT, "..", "shared", "data")]
    if epochs:
        cmd += ["--set", "train.epochs=%d" % epochs]
    if threads or args.threads:
        cmd += ["--threads", str(threads or args.threads)]
    _, _, rss = timed(cmd)
    eps = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    fin = json.load(open(os.path.join(out, "final.json")))
    subprocess.run(["rm", "-rf", out])
    sps = [e["samples_per_s"] for e in eps]
    if wl == "W1":  # the peer measures full-batch steps 3..N
        sps = sps[2:] or sps
    return sps, rss, fin


def run_peer(wl, peer_wl, targs, epochs):
    cmd = ["/usr/bin/python3", PEER, peer_wl, "--no-save"] + targs
    if epochs and peer_wl != "W1":
        cmd += ["--epochs", str(epochs)]
    env = dict(os.environ)
    out, _, rss = timed(cmd, env)
    recs = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    rec = next(r for r in recs if r["workload"] == peer_wl)
    if "epoch_samples_per_s" in rec:
        return rec["epoch_samples_per_s"], rss, rec
    return [rec["train_samples_per_s"]], rss, rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aelab", default=os.path.join(ROOT, "build", "aelab"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", type=int, default=0, help="aelab threads (0 = all cores)")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--no-scaling", action="store_true", help="skip the 1- vs 2-thread scaling runs")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    cpu, isa, peak = machine(args)
    thr = args.threads or os.cpu_count()
    print("machine: %s, oneDNN ISA %s, sgemm peak %s" % (cpu, isa, ", ".join(
        "%.0f GFLOP/s at %d thread%s" % (g, t, "s" * (t > 1)) for t, g in sorted(peak.items()))), flush=True)
    rows = []
    for wl, cfg, peer_wl, targs, epochs in WORKLOADS:
        if only and wl not in only:
            continue
        if not os.path.exists(os.path.join(ROOT, cfg)):
            print("%-7s skipped: %s not written yet" % (wl, cfg), flush=True)
            continue
        a_sps, p_sps, a_rss, p_rss, fin, per_round = [], [], [], [], {}, []
        for r in range(args.rounds):  # alternate, so both see the same machine conditions
            s, rss, fin = run_aelab(args, wl, cfg, epochs)
            a_sps += s
            a_rss.append(rss)
            ps, rss, _ = run_peer(wl, peer_wl, targs, epochs)
            ps = [v for v in ps if v == v]
            p_sps += ps
            p_rss.append(rss)
            per_round.append(statistics.median(s) / statistics.median(ps))  # this round's own ratio
        a, p = statistics.median(a_sps), statistics.median(p_sps)
        flops = fin.get("train_flops_per_sample", 0.0)
        gf = a * flops / 1e9
        rows.append((wl, a, p, a / p, TARGET[wl], max(a_rss), max(p_rss), gf, gf / peak[thr],
                     min(per_round), max(per_round)))
        print("%-7s aelab %10.0f/s  peer %10.0f/s  ratio %6.2f (target %g; rounds %.2f-%.2f)  RSS %5.0f / %5.0f MiB"
              "  %6.1f GFLOP/s" % (rows[-1][:5] + rows[-1][9:] + rows[-1][5:8]), flush=True)
    scaling = []
    for wl, cfg, _, _, epochs in WORKLOADS:
        if args.no_scaling or wl not in ("W2", "W3") or (only and wl not in only):
            continue
        one, two = [], []
        for r in range(args.rounds):
            one += run_aelab(args, wl, cfg, epochs, threads=1)[0]
            two += run_aelab(args, wl, cfg, epochs, threads=2)[0]
        a1, a2 = statistics.median(one), statistics.median(two)
        scaling.append((wl, a1, a2, a2 / a1))
        print("%-7s scaling: 1 thread %8.0f/s  2 threads %8.0f/s  ratio %.2f (target 1.7)" % scaling[-1], flush=True)
    if not rows:
        return
    lines = ["# aelab vs PyTorch peer: training throughput", "",
             "Measured %s on this 2-core machine; command: `%s`." % (time.strftime("%Y-%m-%d %H:%M"),
                                                                   " ".join(["bench/bench.py"] + sys.argv[1:])),
             "Machine: %s; oneDNN dispatches to %s; \"of peak\": aelab's GFLOP/s over this machine's sgemm "
             "peak measured now (build/gemm_peak, 2048^3, best of 7): %s." % (cpu, isa, ", ".join(
                 "%.0f GFLOP/s at %d thread%s" % (g, t, "s" * (t > 1)) for t, g in sorted(peak.items()))),
             "Rounds alternate aelab and the peer (%d each); samples/s are medians over epochs (epoch 1 without "
             "its first warm-up batches, as the peer measures). Peer thread setting: its fastest (see "
             "../shared/peers/README.md). \"rounds\": the lowest and highest ratio of a single round (its aelab "
             "run against the peer run right after it): the machine's noise." % args.rounds, "",
             "| workload | aelab samples/s | peer samples/s | ratio | rounds | target | aelab RSS MiB | peer RSS MiB | aelab GFLOP/s | of peak |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for wl, a, p, ratio, tgt, ar, pr, gf, frac, rlo, rhi in rows:
        lines.append("| %s | %.0f | %.0f | **%.2f** | %.2f-%.2f | ≥ %g | %.0f | %.0f | %.1f | %.0f%% |"
                     % (wl, a, p, ratio, rlo, rhi, tgt, ar, pr, gf, 100 * frac))
    if scaling:
        lines += ["", "Thread scaling (aelab, same rounds, alternating):", "",
                  "| workload | 1 thread samples/s | 2 threads samples/s | ratio | target |", "|---|---|---|---|---|"]
        lines += ["| %s | %.0f | %.0f | **%.2f** | ≥ 1.7 |" % s for s in scaling]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

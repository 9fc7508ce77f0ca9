#!/usr/bin/env bash
# Who decides and who runs (issue 13): the CLI tells an experiment file from a single run (`aelab
# report` and --shard on a single-run config are refused and train nothing; `check` lists an
# experiment's jobs); the experiment runs with one exit-code rule whether in order or in --jobs
# workers (a diverging first job gives 3 over a later config error's 2); an aelab built without MPI
# refuses to run an experiment when a launcher started it as several processes ("not built with
# MPI", exit 2) instead of running every job in every process; `aelab list` is the built-in table
# (objectives and corruptions with their keys too).
# Usage: tests/e2e/registry_runner.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

awk 'BEGIN{srand(9); print "a,b,c,d"; for(i=0;i<120;i++) printf "%.4f,%.4f,%.4f,%.4f\n", rand(), rand(), rand(), rand()}' > "$tmp/d.csv"
cat > "$tmp/one.yaml" <<YAML
data: {source: csv, path: $tmp/d.csv, scaling: none}
model: {encoder: [{type: dense, units: 2}]}
train: {epochs: 1, batch_size: 40, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
diverge_experiment "$tmp/exp.yaml" order

# the CLI decides: single-run configs are no experiments
out=$("$aelab" report "$tmp/one.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"one.yaml is a single-run config: \`aelab report\` takes an experiment file"* ]] && ok ||
  bad "report on a single run: exit $rc: $out"
out=$("$aelab" run "$tmp/one.yaml" --out "$tmp/s" --shard 1/2 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"--shard 1/2: $tmp/one.yaml is a single-run config"* ]] && [ ! -e "$tmp/s" ] && ok ||
  bad "--shard on a single run: exit $rc: $out"
"$aelab" run "$tmp/one.yaml" --out "$tmp/single" --jobs 2 --quiet 2>/dev/null && [ -f "$tmp/single/final.json" ] && ok ||
  bad "a single run with --jobs 2 did not train"
out=$("$aelab" check "$tmp/exp.yaml" --out "$tmp/chk" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"experiment order: 2 runs x seeds = 2 jobs"* ]] && [[ "$out" == *"run broken seed 42"*"train.epochs"* ]] && ok ||
  bad "check of an experiment with a broken run: exit $rc: $out"

# one exit-code rule for the in-order and the fork runner: the first failed job in job order
for j in 1 2; do
  out=$("$aelab" run "$tmp/exp.yaml" --out "$tmp/o$j" --jobs $j --quiet 2>&1); rc=$?
  [ $rc -eq 3 ] && ok || bad "--jobs $j: exit $rc, expected 3 (the diverging first job): $out"
done

# an aelab without MPI under a launcher that started 2 processes: refused before any job runs
if ldd "$aelab" 2>/dev/null | grep -q libmpi; then
  ok # an MPI build: tests/e2e/mpi.sh runs it under mpirun
else
  for var in OMPI_COMM_WORLD_SIZE PMI_SIZE; do
    out=$(env "$var=2" "$aelab" run "$tmp/exp.yaml" --out "$tmp/m-$var" --quiet 2>&1); rc=$?
    [ $rc -eq 2 ] && [[ "$out" == *"started by mpirun as one of 2 processes, but this aelab is not built with MPI"* ]] &&
      [ ! -e "$tmp/m-$var/diverges" ] && ok || bad "$var=2 without MPI: exit $rc: $out"
  done
  OMPI_COMM_WORLD_SIZE=1 "$aelab" run "$tmp/exp.yaml" --out "$tmp/m1" --quiet >/dev/null 2>&1; rc=$?
  [ $rc -eq 3 ] && ok || bad "one launched process without MPI: exit $rc, expected 3"
fi

# aelab list: the one table of built-ins (variants/builtin.c), in its order
got=$("$aelab" list | awk '/^[a-z]/{k=$1} /^  [^ ]/{printf "%s:%s ", k, $1}')
want="variants:undercomplete variants:sparse variants:denoising variants:contractive variants:variational variants:convolutional layers:dense layers:activation layers:reshape layers:conv2d layers:conv_transpose2d layers:batch_norm layers:max_pool2d layers:upsample latents:deterministic latents:gaussian latents:vq objectives:mse objectives:bce objectives:iwae objectives:svdd corruptions:none corruptions:gaussian corruptions:masking corruptions:salt_pepper regularizers:l1 regularizers:kl_sparsity regularizers:contractive regularizers:weight_decay pretrainers:rbm pretrainers:autoencoder pretrainers:denoising sources:csv sources:idx sources:npy "
[ "$got" = "$want" ] && ok || bad "aelab list: $got"
# objectives and corruptions are listed with their keys
out=$("$aelab" list)
[[ "$out" == *"objectives (\`loss: {type: NAME, ...}\`"*"  bce "*"reduction (mean | sum, default mean)"*"corruptions ("* ]] &&
  [[ "$out" == *"  gaussian "*"sigma ([0, 1e+06], default 0.1)"*"clip (list, optional)"*"  salt_pepper "*"p ([0, 1], default 0.25)"* ]] &&
  ok || bad "aelab list: objectives/corruptions with their keys: $out"
# sources are listed with their keys, after the keys every source takes
[[ "$out" == *"sources ("*"      limit ([0, 1099511627776], default 0): "*"  csv "*"(default scaling: standard)"*"      path (string, required): "*"      dropna (any | none, default none): "*"  idx "*"      name (string, default \"\"): "*"  npy "*"      test_labels (string, default \"\"): "* ]] &&
  ok || bad "aelab list: sources with their keys: $out"
# the vq latent's example config is accepted as it is
out=$("$aelab" check "$src/configs/vq.yaml" 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"kind: vq"* ]] && ok || bad "check configs/vq.yaml: exit $rc: $out"
echo "registry_runner: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

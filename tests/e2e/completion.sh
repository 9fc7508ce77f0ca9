#!/usr/bin/env bash
# The bash completion (cli/aelab.bash): sourced, then COMPREPLY checked for lines split as bash
# splits them (at blanks, and at '=' and ':'): commands, a command's options, --set keys one level
# at a time and a key's values, option values and file arguments. The keys come from
# `aelab list --keys`, which must name keys a config takes.
# Usage: tests/e2e/completion.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
aelab=$(cd "$(dirname "$aelab")" && pwd)/$(basename "$aelab") # the tests below change folder
# shellcheck source=/dev/null
. "$src/cli/aelab.bash"
complete -p aelab 2> /dev/null | grep -q -- '-F _aelab' && ok || bad "aelab.bash registers no completion"

# comp "LINE": COMPREPLY for the cursor at the end of `aelab LINE` (sorted, one line)
comp() {
  local line="$aelab $1" w=()
  read -ra w <<< "$(sed -E 's/([=:]+)/ \1 /g' <<< "$line")"
  [[ $line == *" " ]] && w+=("")
  COMP_LINE=$line COMP_POINT=${#line} COMP_WORDS=("${w[@]}") COMP_CWORD=$((${#w[@]} - 1))
  COMPREPLY=()
  _aelab
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
# expect "LINE" "WANTED REPLY" (exact) / has "LINE" WORD... (among the reply) / lacks "LINE" WORD...
expect() { local got; got=$(comp "$1"); [ "$got" = "$2" ] && ok || bad "aelab $1<TAB>: got '$got', want '$2'"; }
has() {
  local line=$1 got w; shift; got=" $(comp "$line") "
  for w in "$@"; do [[ $got == *" $w "* ]] && ok || bad "aelab $line<TAB>: '$w' not in '$got'"; done
}
lacks() {
  local line=$1 got w; shift; got=" $(comp "$line") "
  for w in "$@"; do [[ $got != *" $w "* ]] && ok || bad "aelab $line<TAB>: '$w' should not be in '$got'"; done
}

expect "r" "report run"
has "" run check report sample list --help --version
expect "run --s" "--set --shard"
has "run --" --out --set --data-dir --threads --quiet --jobs --shard --help
has "sample --" --n --out --seed --data-dir
lacks "sample --" --set --jobs
expect "list --" "--markdown"
# --set: one level at a time, KEY= for a key, then its values (readline keeps "KEY=" itself)
expect "run c.yaml --set train.opt" "train.optimizer. train.optimizer="
has "run c.yaml --set train.optimizer." train.optimizer.lr= train.optimizer.name= train.optimizer.momentum=
has "run c.yaml --set " train. train= model. seed= outputs. loss. corruption.
has "check c.yaml --set model.latent." model.latent.kind= model.latent.size=
expect "run c.yaml --set train.optimizer.name=a" "adagrad adam adamw"
expect "run c.yaml --set train.optimizer.name=" "adagrad adam adamw sgd"
has "run c.yaml --set loss.type=" mse bce
expect "run c.yaml --set data.source=n" "npy"
has "run c.yaml --set data." data.path= data.name= data.test_labels= data.limit= data.validation= data.exclude_label=
expect "run c.yaml --set data.dropna=" "any none"
expect "run c.yaml --set data.binarize=" "dynamic none static"
expect "run c.yaml --set outputs.plots=" "false true"
expect "run c.yaml --threads " ""
# files: a YAML file or a folder for run/check/report, a folder for sample and --out/--data-dir
mkdir -p "$tmp/w/sub" && touch "$tmp/w/a.yaml" "$tmp/w/b.txt" "$tmp/w/c.yml"
cd "$tmp/w" || exit 1
expect "run " "a.yaml c.yml sub"
expect "sample " "sub"
expect "run a.yaml --out " "sub"
expect "sample sub --out " "a.yaml b.txt c.yml sub"

# every key=value line of `aelab list --keys` is a value a config takes (nesterov: with sgd; sampler:
# with the gaussian corruption)
printf 'data: {source: csv, path: %s/d.csv}\nmodel: {encoder: [{type: dense, units: 2}]}\ntrain: {optimizer: {name: sgd}}\ncorruption: {type: gaussian}\n' "$tmp" > "$tmp/c.yaml"
printf 'a,b,c\n1,2,3\n4,5,6\n' > "$tmp/d.csv"
keys=$("$aelab" list --keys)
[ "$(grep -c . <<< "$keys")" -gt 50 ] && ok || bad "list --keys: $(head -3 <<< "$keys")"
n=0
while IFS= read -r kv; do
  out=$("$aelab" check "$tmp/c.yaml" --set "$kv" 2>&1) || [[ $out != *"unknown key"* && $out != *"expected one of"* && $out != *"expected a boolean"* ]] ||
    { bad "--set $kv: $(tail -1 <<< "$out")"; continue; }
  n=$((n + 1))
done < <(grep '=' <<< "$keys")
[ "$n" -gt 20 ] && ok || bad "only $n key=value lines checked"
echo "completion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

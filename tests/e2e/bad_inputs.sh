#!/usr/bin/env bash
# Broken inputs get a clear error: runs every case tests/bad/NNN-name.yaml through the CLI and checks
# the exit code and a substring of the output. A case starts with comment lines:
#   # expect: CODE | SUBSTRING    required; SUBSTRING is matched in stdout+stderr
#   # also: SUBSTRING             another substring that must be there too (repeatable)
#   # cmd: run                    default: check
#   # args: WORDS                 extra arguments, shell-quoted (e.g. --set 'a.b=[1, 2]')
#   # out: DIR                    --out for `run` (default: a fresh folder in the temp dir;
#                                 @NONE@: no --out, the config's outputs.dir is used)
#   # config: PATH                run this file instead of the case file itself
#   # setup: NAME                 idx | npy | plugin | afile | ckpt-KIND (see setup() below)
#   # known: WHY                  a known unfixed issue: a failure is reported as KNOWN, not FAIL
# @TMP@ (the temp dir, also the working directory) and @SRC@ are replaced in args, out and
# substring. Data files are found through --data-dir tests/bad/data.
# Usage: tests/e2e/bad_inputs.sh path/to/aelab SOURCE_DIR [NAME-PATTERN...]   (BAD_VERBOSE=1 prints
# every case's output)
set -u
aelab=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
shift 2
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
data=$src/tests/bad/data
pass=0 fail=0 known=0 done_setup=" "

# IDX files: 3 images of 4x4 (48 pixel bytes) and their labels, and broken variants.
make_idx() {
  python3 - <<'PY'
import os, struct
def img(count, h, w, payload, magic=0x803):
    return struct.pack('>IIII', magic, count, h, w) + payload
px = bytes(range(0, 240, 5))
files = {
    'images.idx': img(3, 4, 4, px),
    'labels.idx': struct.pack('>II', 0x801, 3) + bytes([0, 1, 2]),
    'two-labels.idx': struct.pack('>II', 0x801, 2) + bytes([0, 1]),
    'short-labels.idx': struct.pack('>II', 0x801, 3) + bytes([0, 1]),
    'trunc-images.idx': img(3, 4, 4, px[:40]),
    'magic-images.idx': img(3, 4, 4, px, magic=0x802),
    'float-images.idx': img(3, 4, 4, px, magic=0xd03),
    'long-images.idx': img(3, 4, 4, px + b'xx'),
    'zero-images.idx': img(0, 4, 4, b''),
    'huge-images.idx': img(0xffffffff, 65536, 1024, px),
    'short-images.idx': img(3, 4, 4, b'')[:10],
    'zerow-images.idx': img(3, 0, 2, px),
    'shapes/mnist/train-images-idx3-ubyte': img(3, 5, 5, bytes(range(75))),
    'shapes/mnist/train-labels-idx1-ubyte': struct.pack('>II', 0x801, 3) + bytes([0, 1, 2]),
    'shapes/mnist/t10k-images-idx3-ubyte': img(3, 4, 4, px),
    'shapes/mnist/t10k-labels-idx1-ubyte': struct.pack('>II', 0x801, 3) + bytes([0, 1, 2]),
}
for name, b in files.items():
    os.makedirs(os.path.dirname(name) or '.', exist_ok=True)
    open(name, 'wb').write(b)
PY
}

# .npy files as np.save writes them (format 1.0): 3 rows of 4 float32 values, and broken variants.
make_npy() {
  python3 - <<'PY'
import struct
def npy(name, descr, shape, payload, fortran=False, dict_text=None):
    d = dict_text or "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    open(name, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(d)) + d.encode() + payload)
npy('x.npy', '<f4', '(3, 4)', bytes(48))
npy('y2.npy', '|u1', '(2,)', bytes([0, 1]))
npy('big-endian.npy', '>f4', '(3, 4)', bytes(48))
npy('fortran.npy', '<f4', '(3, 4)', bytes(48), fortran=True)
npy('truncated.npy', '<f4', '(3, 4)', bytes(40))
npy('notdict.npy', None, None, bytes(48), dict_text="[('descr', '<f4')]")
PY
}

# Plug-ins: one without aelab_plugin_init, one whose init fails, one without a plug-in ABI, one
# built for another ABI (99), one that is not a library.
make_plugins() {
  local cc=(cc -shared -fPIC -I "$src/include/aelab" "$src/tests/bad/plugin.c")
  "${cc[@]}" -DNO_INIT -o noinit.so && "${cc[@]}" -o failinit.so && "${cc[@]}" -DNO_ABI -o noabi.so &&
    "${cc[@]}" -DOTHER_ABI=99 -o otherabi.so && echo "not an ELF file" > fake.so
}

# ckpt-KIND: trains the case's config once into OUT, then damages OUT/checkpoint.aelab.
damage_checkpoint() {
  local kind=$1 file=$2 out=$3
  local ck=$out/checkpoint.aelab
  "$aelab" run "$file" --data-dir "$data" --out "$out" --quiet > "$out.first" 2>&1 ||
    { echo "setup run failed: $(tail -2 "$out.first")"; return 1; }
  [ -s "$ck" ] || { echo "setup run wrote no checkpoint"; return 1; }
  case $kind in
    version) printf '\x63\x00\x00\x00' | dd of="$ck" bs=1 seek=8 conv=notrunc status=none ;;
    flip) # a byte inside the params section (the second section, after the meta section)
      local meta_len
      meta_len=$(od -An -t u8 -j 28 -N 8 "$ck" | tr -d ' ')
      local at=$((24 + 16 + meta_len + 16 + 2))
      local b
      b=$(od -An -t u1 -j "$at" -N 1 "$ck" | tr -d ' ')
      printf "\\x$(printf %02x $((b ^ 0x55)))" | dd of="$ck" bs=1 seek="$at" conv=notrunc status=none ;;
    truncate) head -c 200 "$ck" > "$ck.part" && mv "$ck.part" "$ck" ;;
    foreign) printf 'PK\003\004 this is a zip file, not a checkpoint\n' > "$ck" ;;
    empty) : > "$ck" ;;
    sections) printf '\x05\x00\x00\x00' | dd of="$ck" bs=1 seek=20 conv=notrunc status=none ;;
    dir) rm -f "$ck" && mkdir "$ck" ;;
    forge) # the losses section emptied (with a valid CRC) while the meta section still counts them
      python3 - "$ck" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
b = open(path, 'rb').read()
off, out = 24, [b[:24]]
while off < len(b):
    tag, n, _ = struct.unpack_from('<IQI', b, off)
    body = b[off + 16:off + 16 + n]
    if tag == 7:
        body = b''
    out.append(struct.pack('<IQI', tag, len(body), zlib.crc32(body)) + body)
    off += 16 + n
open(path, 'wb').write(b''.join(out))
PY
      ;;
    keep) ;;
    *) echo "unknown checkpoint damage '$kind'"; return 1 ;;
  esac
}

setup() { # name, case file, out dir
  case $1 in
    idx) [[ $done_setup == *" idx "* ]] || { make_idx && done_setup+="idx "; } ;;
    npy) [[ $done_setup == *" npy "* ]] || { make_npy && done_setup+="npy "; } ;;
    plugin) [[ $done_setup == *" plugin "* ]] || { make_plugins && done_setup+="plugin "; } ;;
    afile) echo "a file, not a folder" > "$tmp/afile" ;;
    ckpt-*) damage_checkpoint "${1#ckpt-}" "$2" "$3" ;;
    *) echo "unknown setup '$1'"; return 1 ;;
  esac
}

header() { sed -n "s/^# $1: //p" "$2" | head -1; }
subst() { local s=${1//@TMP@/$tmp}; echo "${s//@SRC@/$src}"; }

for file in "$src"/tests/bad/[0-9]*.yaml; do
  name=$(basename "$file" .yaml)
  if [ $# -gt 0 ]; then
    keep=0
    for pat in "$@"; do [[ $name == *$pat* ]] && keep=1; done
    [ $keep -eq 1 ] || continue
  fi
  expect=$(header expect "$file")
  code=${expect%% | *}
  want=$(subst "${expect#* | }")
  cmd=$(header cmd "$file"); cmd=${cmd:-check}
  out=$(subst "$(header out "$file")"); out=${out:-$tmp/out-$name}
  outarg=(--out "$out")
  [ "$out" = @NONE@ ] && outarg=()
  config=$(subst "$(header config "$file")"); config=${config:-$file}
  why_known=$(header known "$file")
  args=()
  eval "args=($(subst "$(header args "$file")"))"
  msg=""
  if [ -n "$(header setup "$file")" ]; then
    msg=$(setup "$(header setup "$file")" "$file" "$out" 2>&1) || { fail=$((fail + 1)); echo "FAIL: $name: setup: $msg"; continue; }
  fi
  if [ "$cmd" = run ]; then
    output=$(timeout 120 "$aelab" run "$config" --data-dir "$data" "${outarg[@]}" --quiet "${args[@]}" 2>&1)
  else
    output=$(timeout 120 "$aelab" "$cmd" "$config" --data-dir "$data" "${args[@]}" 2>&1)
  fi
  rc=$?
  [ -n "${BAD_VERBOSE:-}" ] && printf '%s (exit %s):\n%s\n' "$name" "$rc" "$(printf '%s\n' "$output" | sed 's/^/    /')"
  missing=""
  while IFS= read -r more; do
    more=$(subst "$more")
    [[ $output == *"$more"* ]] || missing+="\" and \"$more"
  done < <(sed -n 's/^# also: //p' "$file")
  if [ "$rc" -eq "$code" ] && [[ $output == *"$want"* ]] && [ -z "$missing" ]; then
    pass=$((pass + 1))
    [ -n "$why_known" ] && echo "NOTE: $name passes now: remove its '# known:' line"
  elif [ -n "$why_known" ]; then
    known=$((known + 1))
    printf 'KNOWN: %s: %s\n    got exit %s: %s\n' "$name" "$why_known" "$rc" "$(printf '%s\n' "$output" | tail -1)"
  else
    fail=$((fail + 1))
    why="exit $rc"
    [ "$rc" -eq 124 ] && why="timed out (hang?)"
    [ "$rc" -gt 128 ] && [ "$rc" -ne 130 ] && why="crashed (signal $((rc - 128)))"
    printf 'FAIL: %s: expected exit %s and "%s", got %s:\n%s\n' "$name" "$code" "$want$missing" "$why" \
      "$(printf '%s\n' "$output" | tail -4 | sed 's/^/    /')"
  fi
done
echo "bad_inputs: $pass passed, $fail failed, $known known issues"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]

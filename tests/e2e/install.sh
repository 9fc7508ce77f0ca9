#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then use it as a user would: the example plug-in built
# out of tree against the installed headers with pkg-config and with a CMake project
# (find_package(aelab CONFIG)), each loaded by the installed aelab in a run; plug-ins of another ABI
# or none refused; a program on libaelab.a (aelab::aelab_static); the man page renders.
# Usage: tests/e2e/install.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
build=$(dirname "$aelab")
p=$tmp/prefix
cmake --install "$build" --prefix "$p" > "$tmp/install.log" 2>&1 && ok || bad "cmake --install: $(tail -3 "$tmp/install.log")"
for f in bin/aelab lib/libaelab.so lib/libaelab.a include/aelab/ae_registry.h include/aelab/ae_taps.h \
         lib/pkgconfig/aelab.pc lib/cmake/aelab/aelabConfig.cmake share/aelab/examples/ortho.c \
         share/aelab/configs/sparse.yaml share/man/man1/aelab.1 share/bash-completion/completions/aelab; do
  [ -e "$p/$f" ] && ok || bad "not installed: $f"
done
# the installed aelab runs on the installed library (its RPATH), not on the build tree's
inst=$p/bin/aelab
[ "$("$inst" --version)" = "$("$aelab" --version)" ] && ok || bad "installed aelab --version: $("$inst" --version 2>&1)"
ldd "$inst" | grep -q "libaelab.so.* => $p/bin/../lib/libaelab.so" && ok || bad "installed aelab links: $(ldd "$inst" | grep aelab)"
"$inst" check "$p/share/aelab/configs/sparse.yaml" > /dev/null 2>&1 && ok || bad "installed aelab cannot check a bundled config"

# 1. pkg-config
export PKG_CONFIG_PATH=$p/lib/pkgconfig
mkdir -p "$tmp/pc"
# shellcheck disable=SC2046
cc -shared -fPIC -O2 -Wall -Wextra -Werror $(pkg-config --cflags aelab) "$p/share/aelab/examples/ortho.c" \
  -o "$tmp/pc/libortho.so" $(pkg-config --libs aelab) 2> "$tmp/pc.log" && ok || bad "pkg-config build: $(cat "$tmp/pc.log")"
readelf -d "$tmp/pc/libortho.so" | grep -q 'NEEDED.*libaelab\.so' && ok || bad "pkg-config plug-in does not link libaelab.so"
pkg-config --static --libs aelab | grep -q -- '-ldnnl' && ok || bad "pkg-config --static lacks oneDNN: $(pkg-config --static --libs aelab)"

# 2. CMake: the plug-in (a module on aelab::aelab) and a program on the static library
mkdir -p "$tmp/cm"
cp "$p/share/aelab/examples/ortho.c" "$tmp/cm/"
cat > "$tmp/cm/units.c" <<'C'
/* A program on libaelab.a: prints the built-in regularizers. */
#include <stdio.h>

#include "ae_builtins.h"
#include "ae_registry.h"

int main(void)
{
    ae_registry *r = ae_registry_new();
    if (!r || ae_register_builtins(r)) return 1;
    for (const char *const *n = ae_regularizer_names(r); *n; n++) puts(*n);
    ae_registry_free(r);
    return 0;
}
C
cat > "$tmp/cm/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(ortho C)
find_package(aelab 0.1 CONFIG REQUIRED)
add_library(ortho MODULE ortho.c)
target_link_libraries(ortho PRIVATE aelab::aelab)
add_executable(units units.c)
target_link_libraries(units PRIVATE aelab::aelab_static)
CMAKE
{ cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$p" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$tmp/cm/build"; } > "$tmp/cm.log" 2>&1 && ok || bad "CMake consumer: $(grep -i -m3 error "$tmp/cm.log")"
"$tmp/cm/build/units" 2>&1 | grep -qx contractive && ok || bad "program on aelab::aelab_static: $("$tmp/cm/build/units" 2>&1 | head -3)"

# each plug-in loaded by the installed aelab in a run (plugins: [...], as in tests/e2e/plugin.sh)
awk 'BEGIN{srand(5); print "a,b,c,d,e,f"; for(i=0;i<200;i++){x=rand(); l=""; for(j=0;j<6;j++) l=l sprintf("%s%.4f", j?",":"", x*0.8+rand()*0.2); print l}}' > "$tmp/d.csv"
run_with() {  # run_with PLUGIN TAG
  cat > "$tmp/$2.yaml" <<YAML
plugins: [$1]
data: {source: csv, path: $tmp/d.csv, scaling: none}
model: {encoder: [{type: dense, units: 4, activation: tanh}, {type: dense, units: 2}]}
regularizers: [{type: ortho, weight: 1.0}]
train: {epochs: 2, batch_size: 50, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
  env -u LD_LIBRARY_PATH "$inst" run "$tmp/$2.yaml" --out "$tmp/out-$2" --quiet > /dev/null 2> "$tmp/$2.err" &&
    grep -q '"ortho":' "$tmp/out-$2/final.json" && ok || bad "installed aelab with the $2 plug-in: $(tail -2 "$tmp/$2.err")"
}
run_with "$tmp/pc/libortho.so" pkgconfig
run_with "$tmp/cm/build/libortho.so" cmake

# the plug-in ABI holds out of tree: built against the installed headers, a plug-in of another ABI
# and one that exports none are refused by the installed aelab (as tests/bad/280, 281 in the tree)
cc -shared -fPIC -I "$p/include/aelab" -DOTHER_ABI=99 "$src/tests/bad/plugin.c" -o "$tmp/otherabi.so"
cc -shared -fPIC -I "$p/include/aelab" -DNO_ABI "$src/tests/bad/plugin.c" -o "$tmp/noabi.so"
out=$("$inst" check "$tmp/pkgconfig.yaml" --set "plugins=[$tmp/otherabi.so]" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $out == *"built for plug-in ABI 99; this aelab has plug-in ABI"* ]] && ok || bad "other ABI: exit $rc: $out"
out=$("$inst" check "$tmp/pkgconfig.yaml" --set "plugins=[$tmp/noabi.so]" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $out == *"exports no plug-in ABI"* ]] && ok || bad "no ABI: exit $rc: $out"

# the stable surface (ae_registry.h): the example plug-in builds with only those headers at hand
mkdir -p "$tmp/surface"
for h in ae_registry.h ae_config.h ae_schema.h ae_data.h ae_graph.h ae_rng.h ae_error.h ae_taps.h; do
  cp "$p/include/aelab/$h" "$tmp/surface/"
done
cc -shared -fPIC -Wall -Wextra -Werror -I "$tmp/surface" "$p/share/aelab/examples/ortho.c" -o "$tmp/surface/libortho.so" \
  2> "$tmp/surface.log" && ok || bad "ortho.c needs more than the plug-in surface: $(head -3 "$tmp/surface.log")"

# the man page: renders, and says what --help says
MANWIDTH=100 man -l "$p/share/man/man1/aelab.1" > "$tmp/man.txt" 2> "$tmp/man.err" && ok || bad "man -l: $(cat "$tmp/man.err")"
for w in "SYNOPSIS" "--set KEY=VALUE" "--data-dir DIR" "AELAB SAMPLE"; do
  grep -q -F -- "$w" "$tmp/man.txt" && ok || bad "man page lacks '$w'"
done
[ ! -s "$tmp/man.err" ] && ok || bad "man warns: $(cat "$tmp/man.err")"
MANPATH=$p/share/man man -w aelab 2> /dev/null | grep -q "$p/share/man/man1/aelab.1" && ok || bad "man aelab does not find the page"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

# Shared start of the shell test suites (sourced, not a test itself): arguments, a temp folder
# removed on exit, and the pass/fail counters whose "N passed, N failed" line each suite prints.
# Usage in a suite: . "$(dirname "$0")/lib/harness.sh" "$@"   (args: path/to/aelab SOURCE_DIR)
set -u
aelab=$1
src=${2:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

#!/usr/bin/env bash
# meshbot side by side with conftest, in one run, on the same generated mesh
# (1,000 products, 30-field contracts) and the same policy folder.
# Usage: scripts/bench-conftest.sh PATH_TO_CONFTEST [RUNS]
# Prints the median wall time of whole-process runs and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
conftest=$(realpath "${1:?usage: bench-conftest.sh PATH_TO_CONFTEST [RUNS]}") # runs from inside the mesh
runs=${2:-5}
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/meshbot" ./cmd/meshbot
go run ./internal/meshgen/cmd/meshgen -products 1000 -fields 30 -out "$work/base"
go run ./internal/meshgen/cmd/meshgen -products 1000 -fields 30 -change -out "$work/head"
mapfile -t descriptors < <(cd "$work/head" && find . -name dataproduct.yaml | sort)

ms() { # wall milliseconds of one run of "$@", output discarded, exit code ignored
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
series() { for _ in $(seq "$runs"); do ms "$@"; done | median; }

# Timed runs ignore exit codes (both tools exit 1 on findings), so check once
# that each tool really judged the mesh.
out=$(cd "$work/head" && "$conftest" test --all-namespaces --no-color -p "$root/policy" "${descriptors[@]}" 2>&1 || true)
grep -q ' tests, ' <<<"$out" || { echo "conftest did not run the policy on the mesh: $out" >&2; exit 1; }
out=$("$work/meshbot" check --format json "$work/head" 2>&1 || true)
grep -q '"summary"' <<<"$out" || { echo "meshbot check did not report on the mesh: $out" >&2; exit 1; }

conftest_ms=$(cd "$work/head" && series "$conftest" test --all-namespaces --no-color -p "$root/policy" "${descriptors[@]}")
policy_ms=$(series "$work/meshbot" check "$work/head")
full_ms=$(series "$work/meshbot" check --base "$work/base" "$work/head")

echo
echo "1,000 descriptors (+1,000 contracts for meshbot), bundled policy, median of $runs runs (wall, whole process):"
printf '  conftest test --all-namespaces (1,000 descriptors)           %6d ms\n' "$conftest_ms"
printf '  meshbot check, policy only (1,000 descriptors + contracts)    %6d ms   conftest/meshbot = %s\n' \
  "$policy_ms" "$(awk -v a="$conftest_ms" -v b="$policy_ms" 'BEGIN{printf "%.1fx", a/b}')"
printf '  meshbot check --base (policy + breaking changes + impact)     %6d ms   conftest/meshbot = %s\n' \
  "$full_ms" "$(awk -v a="$conftest_ms" -v b="$full_ms" 'BEGIN{printf "%.1fx", a/b}')"

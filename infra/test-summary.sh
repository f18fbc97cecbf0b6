#!/usr/bin/env bash
# Prints one closing line 'N passed, N failed, N skipped' summed over the .trx files in a folder,
# and fails when no test ran at all.
set -euo pipefail
dir=${1:-TestResults}
passed=0; failed=0; skipped=0; total=0
shopt -s nullglob
for f in "$dir"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$((total + $(get total)))
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed)))
  skipped=$((skipped + $(get notExecuted)))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$total" -gt 0 ] || { echo "no test ran (no results in $dir)" >&2; exit 1; }

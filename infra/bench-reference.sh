#!/usr/bin/env bash
# Times the PyTorch reference (github haihuangcode/CMG) on the settings `unicode bench` measures, with the
# harness in ../shared/design/reference-bench, under both glibc allocator settings, one process per case.
#   infra/bench-reference.sh GIT_DIR [OUT.json]     GIT_DIR: a git directory of haihuangcode/CMG
set -euo pipefail
git_dir=${1:?usage: $0 GIT_DIR_OF_CMG [OUT.json]}
out=${2:-bench-results/reference.json}
here=$(cd "$(dirname "$0")/.." && pwd)
harness=$here/../shared/design/reference-bench
[ -f "$harness/ref_bench.py" ] || { echo "no reference harness at $harness" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
dest=${REF_TREE:-$here/.scratch/cmg-tree}
[ -d "$dest/code" ] || dest=$(bash "$harness/setup.sh" "$git_dir" "$dest" | tail -1)
PY=""
for p in $(type -ap python3); do "$p" -c 'import torch' 2>/dev/null && { PY=$p; break; }; done
[ -n "$PY" ] || { echo "no python3 with torch (setup.sh installs Debian's python3-torch)" >&2; exit 1; }
steps=${REF_STEPS:-10}
rm -f "$out"
for malloc in keep default; do
  for dtype in float32 float64; do
    for batch in 32 80; do
      echo "reference: batch $batch $dtype malloc=$malloc" >&2
      "$PY" "$harness/ref_bench.py" --cmg "$dest" --batch "$batch" --dtype "$dtype" --steps "$steps" \
        --malloc "$malloc" --json "$out" >&2
    done
  done
done
echo "reference timings appended to $out" >&2

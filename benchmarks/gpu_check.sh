#!/usr/bin/env bash
# The GPU check in one command, for a session lent a GPU (the CUDA kernels had never run on one):
# the gpu-marked tests, then benchmarks/attention_gpu.py (bf16, fp16, fp32; d 64/128; N 1k-16k;
# full and causal; against torch SDPA where torch has CUDA). Logs and results go to $OUT
# (default ./gpu-results); each step has its own time limit, about 8 minutes in all.
#
#   bash benchmarks/gpu_check.sh             # on the GPU machine
#   bash benchmarks/gpu_check.sh --dry-run   # anywhere: every step that needs no GPU
#
# The GPU machine has CuPy, torch and Python but no package index: the repository is run from
# its tree (PYTHONPATH); numpy and pytest must be there. BENCH_ARGS passes options to the
# benchmark (e.g. "--max-n 4096" when time is short).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu-results}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
DRY=0
case "${1:-}" in
  --dry-run) DRY=1 ;;
  "") ;;
  *) echo "usage: bash benchmarks/gpu_check.sh [--dry-run]" >&2; exit 2 ;;
esac
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
status=0

step() {
  local name=$1; shift
  echo "== $name"
  local start; start=$(date +%s)
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "   rc=$rc in $(( $(date +%s) - start )) s, log: $OUT/$name.log"
  tail -n 5 "$OUT/$name.log" | sed 's/^/   | /'
  if [[ $rc -ne 0 ]]; then status=1; fi
}

step environment "$PY" -c "
import platform, sys, numpy
print(sys.version.split()[0], platform.machine(), 'numpy', numpy.__version__)
from attnviz.backends import cupy_backend
print('GPU:', cupy_backend.probe())
"
if [[ $DRY -eq 1 ]]; then
  step gpu-tests "$PY" -m pytest -q -m gpu -p no:randomly --collect-only tests/backends
  step benchmark "$PY" benchmarks/attention_gpu.py --dry-run ${BENCH_ARGS:-}
else
  step gpu-tests timeout 240 "$PY" -m pytest -q -m gpu -p no:randomly tests/backends
  # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
  step benchmark timeout 300 "$PY" benchmarks/attention_gpu.py ${BENCH_ARGS:-}
fi
echo "gpu_check: $([[ $status -eq 0 ]] && echo passed || echo FAILED), results in $OUT"
exit $status

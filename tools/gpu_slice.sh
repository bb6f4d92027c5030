#!/usr/bin/env bash
# One whole GPU lease in one command (a machine goes back 30 s after a call, and each start costs
# minutes): the paper-schedule recordings first, then `make bench`'s GPU record. Usage:
#   tools/gpu_slice.sh RECORD_MINUTES BENCH_SECONDS [TIERS] [STACK]
# e.g. tools/gpu_slice.sh 6.5 150 1,2 8 under a 600 s call: the recorder budgets a stack of 8 paper runs at about
# 5 min (125 s a run alone, over the stacking speed-up ltnb.runs.parallel.stack_speedup gives), so one stack, then the
# stage-2 runs on it, fit; a stack of 16 (about 9 min) would not. Everything comes back under $OUT:
# results-paper-<n>.tar.gz (unpack at the repository root, then python -m ltnb.record --check --preset paper),
# cuda.json (copy to results/bench/cuda.json), slice.log, and checkpoints-paper.tar.gz (runs the budget stopped at an
# epoch boundary: leave it at the repository root, passed in the next call's carry, and that call resumes them).
set -uo pipefail
record_minutes=${1:?record minutes}
bench_seconds=${2:?bench seconds}
tiers=${3:-1,2}
stack=${4:-16}
out=${OUT:-/tmp/out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
{
  echo "== $(date -u +%FT%TZ) looking for CIFAR on this machine"
  find / -maxdepth 5 \( -name 'cifar-10-batches-py' -o -name 'cifar-100-python' \) -not -path '/proc/*' -not -path '/tmp/*' 2>/dev/null | head -5
  echo "== $(date -u +%FT%TZ) recording for ${record_minutes} min (tiers $tiers, stack $stack)"
  tools/gpu_record.sh "$record_minutes" "$tiers" "$stack"
  echo "== $(date -u +%FT%TZ) bench (at most ${bench_seconds} s)"
  timeout "$bench_seconds" tools/gpu_bench.sh || echo "bench stopped (exit $?)"
  echo "== $(date -u +%FT%TZ) done"
} 2>&1 | tee "$out/slice.log"

#!/usr/bin/env bash
# One GPU slice of the paper-schedule recordings (issue: record the papers' 200-epoch schedule).
#
# Run on the GPU machine from the repository root, with the Fashion-MNIST files carried in data/
# (data/fashion-mnist/*-ubyte.gz). It needs only torch, numpy, tqdm and the repository itself
# (no notebook tooling). Usage:  tools/gpu_record.sh MINUTES [TIERS] [STACK]
#   MINUTES  start no run (or stack of runs) that would pass this budget; leave time for the copy back
#   TIERS    which tiers to record, e.g. 1 or 1,2 (default 1,2)
#   STACK    compatible stage-1 runs trained as one network (default 16)
# WORKERS (default 4): processes sharing the GPU for what does not stack (multi-expert runs, stage 2) after the stacks
# New recordings come back as results-$preset-<n>.tar.gz under $OUT (at most 8 files of 16 MiB):
# unpack them at the repository root, then: python -m ltnb.record --check --preset "$preset"
set -euo pipefail
minutes=${1:?minutes}
tiers=${2:-1,2}
stack=${3:-16}
preset=${PRESET:-paper}  # smoke: a dry run of this script on any machine
out=${OUT:-/tmp/out}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" LTNB_DATA="$PWD/data" LTNB_PROGRESS=0
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
ls data/cifar-10-batches-py 2>/dev/null && echo "CIFAR-10 is here: record with --dataset cifar10 first" || true
before=$(mktemp)
find results/runs/$preset -name config.json 2>/dev/null | sort > "$before" || true
python -m ltnb.record --preset "$preset" --plan | grep -E "^tier|^missing in all" || true
t0=$(date +%s)
if ! python -m ltnb.record --preset "$preset" --tiers "$tiers" --minutes "$minutes" --stack "$stack" --workers "${WORKERS:-4}" > "$out/record.log" 2>&1; then
  # the stacked path has not yet run on every GPU: keep the slice, record the rest of its budget one run at a time
  tail -25 "$out/record.log"
  left=$(python -c "print(max(0.0, $minutes - ($(date +%s) - $t0) / 60))")
  echo "stacked recording failed (above); the remaining $left min without stacking"
  python -m ltnb.record --preset "$preset" --tiers "$tiers" --minutes "$left" --stack 1 --workers "${WORKERS:-4}" >> "$out/record.log" 2>&1 || true
fi
tail -5 "$out/record.log"
python -m ltnb.record --check --preset "$preset" | tail -3
find results/runs/$preset -name config.json 2>/dev/null | sort | comm -13 "$before" - | xargs -r -n1 dirname > "$out/new.txt"
echo "$(wc -l < "$out/new.txt") new recordings"
# pack the new recordings into archives of at most ~14 MiB each
split -l 400 "$out/new.txt" "$out/part-" || true
n=0
for part in "$out"/part-*; do
  [ -s "$part" ] || continue
  tar -czf "$out/results-$preset-$n.tar.gz" -T "$part"
  n=$((n + 1))
  rm "$part"
done
ls -la "$out"

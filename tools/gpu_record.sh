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
# Runs are recorded with --partial: the minutes left after what fits go to runs that do not (the multi-expert paper
# runs take about 15 min), and every run still training at the budget's end keeps its last epoch. Those checkpoints
# come back as checkpoints-$preset.tar.gz (cut into .000, .001... of 15 MiB when larger): put them at the repository
# root of the next call (git ignores them: pass them in the call's carry) and it resumes those runs where they stopped.
# A paper checkpoint is 3.7 MiB for a ResNet-32, 10.6 MiB for a 3-expert run, 29 MiB for a stack of 8 (two parts) and
# 57 MiB for a stack of 16 (four parts: with the other files, more than a call returns; the budget normally keeps a
# stack from starting unless it fits).
set -euo pipefail
minutes=${1:?minutes}
tiers=${2:-1,2}
stack=${3:-16}
preset=${PRESET:-paper}  # smoke: a dry run of this script on any machine
out=${OUT:-/tmp/out}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" LTNB_DATA="$PWD/data" LTNB_PROGRESS=0
ckpts=$(ls "${CHECKPOINTS_IN:-$PWD}"/checkpoints-"$preset".tar.gz* 2>/dev/null || true)
if [ -n "$ckpts" ]; then python -m ltnb.training.checkpoint unpack $ckpts; fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
ls data/cifar-10-batches-py 2>/dev/null && echo "CIFAR-10 is here: record with --dataset cifar10 first" || true
rec=${LTNB_RECORDED:-results/runs}  # where the recorder writes (a dry run may point it elsewhere)
before=$(mktemp)
find "$rec/$preset" -name config.json 2>/dev/null | sort > "$before" || true
python -m ltnb.record --preset "$preset" --plan | grep -E "^tier|^missing in all" || true
t0=$(date +%s)
if ! python -m ltnb.record --preset "$preset" --tiers "$tiers" --minutes "$minutes" --partial --stack "$stack" --workers "${WORKERS:-4}" > "$out/record.log" 2>&1; then
  # the stacked path has not yet run on every GPU: keep the slice, record the rest of its budget one run at a time
  tail -25 "$out/record.log"
  left=$(python -c "print(max(0.0, $minutes - ($(date +%s) - $t0) / 60))")
  echo "stacked recording failed (above); the remaining $left min without stacking"
  python -m ltnb.record --preset "$preset" --tiers "$tiers" --minutes "$left" --partial --stack 1 --workers "${WORKERS:-4}" >> "$out/record.log" 2>&1 || true
fi
tail -5 "$out/record.log"
python -m ltnb.record --check --preset "$preset" | tail -3
{ find "$rec/$preset" -name config.json 2>/dev/null || true; } | sort | comm -13 "$before" - | xargs -r -n1 dirname > "$out/new.txt"
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
python -m ltnb.training.checkpoint pack "$out" --name "checkpoints-$preset" --preset "$preset"
ls -la "$out"

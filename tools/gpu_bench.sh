#!/usr/bin/env bash
# make bench on the GPU machine, without the notebook tooling: one run, processes at once, stacked runs
# (K = 4, 16, 32) and the stacked-vs-alone tolerance in bf16. The record comes back as $OUT/cuda.json:
# copy it to results/bench/cuda.json, which the Performance page renders.
set -euo pipefail
out=${OUT:-/tmp/out}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" LTNB_PROGRESS=0
python -m ltnb.bench --device "${BENCH_DEVICE:-cuda}" --stacked ${BENCH_STACKED:-4 16 32} ${BENCH_ARGS:-} --save "$out/cuda.json"

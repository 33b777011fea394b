#!/usr/bin/env bash
# The first motion model of real footage: configs/bench-scenes-motion.yaml trained 3000 steps
# on table 2's training videos (one CPU thread), then one `vgpred evaluate` on table 2's test
# clips against copy-first-frame and the bundled pixel model scenes-64 (table 2's `gan`).
#   bash benchmarks/experiments/motion-scenes/run.sh [WORK]   # ~70 minutes on a shared 2-core CPU
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
WORK=${1:-$REPO/benchmarks/work/motion-scenes}
export OMP_NUM_THREADS=1
cd "$REPO/benchmarks"
mkdir -p "$WORK"
python scenes_data.py --work "$WORK/scenes" --size 64 --frames 16 --hop 2 --test-hop 8 > "$WORK/data.json"
python -m vgpred train --config "$REPO/configs/bench-scenes-motion.yaml" --data "$WORK/scenes/caches/train-64x16" \
  --out "$WORK/runs" --no-progress train.steps=3000 train.checkpoint_every=500 train.sample_every=1000 \
  > "$WORK/train.log" 2>&1
RUN=$(ls -d "$WORK"/runs/*-image-train-64x16 | tail -n 1)
python -m vgpred evaluate -c "$RUN/export" --data "$WORK/scenes/caches/test-64x16" -k 10 --seed 0 \
  --baseline scenes-64 --json "$WORK/motion-scenes.json" --no-progress

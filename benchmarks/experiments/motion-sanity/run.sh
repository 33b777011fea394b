#!/usr/bin/env bash
# The motion foreground's sanity run on table 2's real footage: 800 steps of
# configs/bench-scenes-motion.yaml and of configs/bench-scenes.yaml (the pixel recipe),
# one CPU thread each, then one `vgpred evaluate` of both with the bundled scenes-64
# (the pixel recipe at 6000 steps) and the copy-first-frame baseline on table 2's test clips.
#   bash benchmarks/experiments/motion-sanity/run.sh [WORK]   # ~35 minutes on 2 cores
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
WORK=${1:-$REPO/benchmarks/work/motion-sanity}
export OMP_NUM_THREADS=1
cd "$REPO/benchmarks"
mkdir -p "$WORK"
python scenes_data.py --work "$WORK/scenes" --size 64 --frames 16 --hop 2 --test-hop 8 > "$WORK/data.json"
TRAIN=$WORK/scenes/caches/train-64x16
TEST=$WORK/scenes/caches/test-64x16
for recipe in motion pixels; do
  config=$REPO/configs/bench-scenes$([ $recipe = motion ] && echo -motion).yaml
  python -m vgpred train --config "$config" --data "$TRAIN" --out "$WORK/runs-$recipe" --no-progress \
    --steps 800 train.sample_every=200 train.checkpoint_every=200 > "$WORK/train-$recipe.log" 2>&1 &
done
wait
mkdir -p "$WORK/models"
for recipe in motion pixels; do
  rm -rf "$WORK/models/$recipe-800"
  cp -r "$WORK"/runs-$recipe/00000-image-train-64x16/export "$WORK/models/$recipe-800"
done
python -m vgpred evaluate -c "$WORK/models/motion-800" --data "$TEST" -k 10 --baseline "$WORK/models/pixels-800" \
  --baseline scenes-64 --json "$WORK/motion-sanity.json" --metrics psnr,ssim,mae --no-progress

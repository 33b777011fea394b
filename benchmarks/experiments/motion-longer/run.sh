#!/usr/bin/env bash
# Does training the bundled motion recipes longer help? Resumes copies of the two bundled runs
# (scenes-motion at 3500 steps, mfmnist-motion at 3000) to 5000 and 4000 steps, one CPU thread each,
# side by side; scores the scenes model on table 2's test clips (add_row.py), and the Moving
# Fashion-MNIST models and table 1's L1 regressor recipe on validation clips: 256 fresh clips of
# the train split's garments (seed 7; the training clips are seed 0, the test clips the test split).
#   bash benchmarks/experiments/motion-longer/run.sh SCENES_RUN MF_RUN MF_TRAIN SCENES_TEST WORK
# SCENES_RUN, MF_RUN: the bundled models' run folders (their READMEs' Reproduce sections make them);
# MF_TRAIN: their training cache; SCENES_TEST: table 2's test cache. ~2.5 hours on 2 cores.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
SCENES_RUN=$1 MF_RUN=$2 MF_TRAIN=$3 SCENES_TEST=$4 WORK=$5
export OMP_NUM_THREADS=1
cd "$REPO"  # give the paths absolute
mkdir -p "$WORK"
cp -r "$SCENES_RUN" "$WORK/scenes" && cp -r "$MF_RUN" "$WORK/mf"
python -m vgpred train --resume "$WORK/scenes" --steps 5000 --no-progress > "$WORK/scenes.log" 2>&1 &
python -m vgpred train --resume "$WORK/mf" --steps 4000 --no-progress > "$WORK/mf.log" 2>&1 &
wait
python -m vgpred train --config "$REPO/configs/bench-mfmnist.yaml" --data "$MF_TRAIN" --steps 2000 \
  --out "$WORK/regressor" --no-progress loss=l1 train.seed=0 > "$WORK/regressor.log" 2>&1
# the next lever for Moving Fashion-MNIST: the same recipe with a flow that may cross the whole frame
python -m vgpred train --config "$REPO/configs/bench-mfmnist-motion.yaml" --data "$MF_TRAIN" --steps 2000 \
  --out "$WORK/flow2" --no-progress model.max_flow=2 > "$WORK/flow2.log" 2>&1
REGRESSOR=$(ls -d "$WORK"/regressor/*/export) FLOW2=$(ls -d "$WORK"/flow2/*/export)
python -m vgpred data moving-mnist "$WORK/mf-val" --idx /usr/share/datasets/fashion-mnist --digits 2 --num 256 \
  --split train --size 64 --frames 16 --seed 7 --no-progress
cp "$REPO/benchmarks/results/table2_scenes.json" "$HERE/results/"
python "$REPO/benchmarks/add_row.py" --table table2_scenes --row motion-5000 --model "$WORK/scenes/export" \
  --data "$SCENES_TEST" --run "$WORK/scenes" --config configs/bench-scenes-motion.yaml --results "$HERE/results"
rm "$HERE/results/table2_scenes.json"
for model in "mf-3000=$MF_RUN/export" "mf-4000=$WORK/mf/export" "mf-flow2-2000=$FLOW2"; do
  python -m vgpred evaluate -c "${model#*=}" --data "$WORK/mf-val" -k 10 --seed 0 \
    --baseline "regressor=$REGRESSOR" --metrics psnr,ssim,mae,sharpness --json "$HERE/results/val-${model%%=*}.json" --no-progress
done
for model in "scenes-3500=$SCENES_RUN/export" "scenes-5000=$WORK/scenes/export"; do
  python -m vgpred evaluate -c "${model#*=}" --data "$(dirname "$SCENES_TEST")/train-64x16" --max-clips 96 -k 10 --seed 0 \
    --metrics psnr,ssim,mae,sharpness --json "$HERE/results/train-clips-${model%%=*}.json" --no-progress
done
python "$HERE/motion_ramp.py" "$MF_RUN/export" "$WORK/mf-val" 32 > "$HERE/results/ramp-mf-3000.txt"
python "$HERE/motion_ramp.py" "$FLOW2" "$WORK/mf-val" 32 > "$HERE/results/ramp-mf-flow2-2000.txt"

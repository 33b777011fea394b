#!/usr/bin/env bash
# The bundled motion models' noise scale (model.noise_scale), chosen on clips that are not test clips:
# each scale is scored with `vgpred evaluate --noise-scale S`, K = 10, noise seed 0.
#   bash benchmarks/experiments/noise-scale/run.sh MF_VAL SCENES_TRAIN RESULTS
# MF_VAL: 256 validation clips of Moving Fashion-MNIST (the train split's garments, seed 7; see
# ../motion-sweep/README.md); SCENES_TRAIN: table 2's training cache (scenes_data.py's train-64x16), of
# which the first 96 clips are scored (real footage has no held-out videos outside the test set).
# Moving Fashion-MNIST's scale is chosen by choose_mf.py's rule (the regressor's row from motion-longer's
# report on the same clips), real footage's by choose_scenes.py's. Two scorings run at a time, one thread
# each (about 10 minutes on 2 cores). MF_SCALES, SCENES_SCALES: the scales tried; MAX_CLIPS: score only
# the first N clips of each (a smoke test of the script).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MF_VAL=$1 SCENES=$2 RESULTS=$3
mkdir -p "$RESULTS/mf" "$RESULTS/scenes"
export OMP_NUM_THREADS=1
MF_SCALES=${MF_SCALES:-"1 1.25 1.5 2 3 4 6"} SCENES_SCALES=${SCENES_SCALES:-"1 1.5 2 3"}
EVAL=(-k 10 --seed 0 --metrics psnr,ssim,mae,sharpness --no-progress)
MF_CLIPS=() SCENES_CLIPS=(--max-clips 96)
if [ -n "${MAX_CLIPS:-}" ]; then MF_CLIPS=(--max-clips "$MAX_CLIPS") SCENES_CLIPS=(--max-clips "$MAX_CLIPS"); fi
jobs_=()
for s in $MF_SCALES; do
  jobs_+=("vgpred evaluate -c mfmnist-motion --data $MF_VAL ${MF_CLIPS[*]} --noise-scale $s ${EVAL[*]} --json $RESULTS/mf/val-scale$s.json")
done
for s in $SCENES_SCALES; do
  jobs_+=("vgpred evaluate -c scenes-motion --data $SCENES ${SCENES_CLIPS[*]} --noise-scale $s ${EVAL[*]} --json $RESULTS/scenes/train96-scale$s.json")
done
printf '%s\n' "${jobs_[@]}" | xargs -P 2 -I{} sh -c '{} > /dev/null'
python "$HERE/choose_mf.py" "$RESULTS/mf" "$HERE/../motion-longer/results/val-mf-3000.json"
python "$HERE/choose_scenes.py" "$RESULTS/scenes"

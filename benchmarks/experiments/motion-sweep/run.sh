#!/usr/bin/env bash
# Moving Fashion-MNIST motion recipes side by side: nine variants of configs/bench-mfmnist-motion.yaml
# (flow bound, KL weight, early-frame weighting of video_l1, velocity-parametrised flow), each the
# recipe's full 3000 steps of batch 32, and table 1's L1 regressor recipe (bench-mfmnist.yaml loss=l1,
# 2000 steps, seed 0), all trained at once; then every variant scored beside the regressor on
# validation clips (256 new clips of the train split's garments, seed 7; training uses seed 0, the
# test clips the test split) and one chosen by select.py's rule, written down before the runs.
#   bash benchmarks/experiments/motion-sweep/run.sh IDX_DIR WORK RESULTS [DEADLINE_S]
# IDX_DIR: Fashion-MNIST's IDX files (/usr/share/datasets/fashion-mnist); WORK: a scratch folder;
# RESULTS: where the scores, logs and exports go. DEADLINE_S (default none): seconds after the start
# at which unfinished trainings are stopped (SIGTERM: a checkpoint) and exported at the step they
# reached, which select.py reports. Built for one GPU (the ten trainings share it, about 6 minutes on
# an H200); on a 2-core CPU the same runs take about 20 hours. A smoke test of the script itself:
# SMOKE=1 (SMOKE_STEPS, default 3, steps per training, 64 training clips, 16 validation clips scored).
# SET=2 trains the second set instead (eleven variants: three training seeds of the recipe, a smaller
# latent, the KL weight, the mode-seeking term, the reconstruction weight), each with the recipe's cost.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
IDX=$(cd "$1" && pwd) WORK=$2 RESULTS=$3 DEADLINE=${4:-0}
mkdir -p "$WORK" "$RESULTS"
WORK=$(cd "$WORK" && pwd) RESULTS=$(cd "$RESULTS" && pwd)
cd "$REPO"
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
TRAIN_CLIPS=8000 SHORT=() EVAL=()
if [ "${SMOKE:-0}" = 1 ]; then TRAIN_CLIPS=64 SHORT=(--steps "${SMOKE_STEPS:-3}") EVAL=(--max-clips 16); fi

if [ "${SET:-1}" = 1 ]; then
  declare -A VARIANTS=(
    [base]=""
    [kl0.1]="loss.kl=0.1"
    [decay0.85]="loss.video_l1_decay=0.85"
    [flow2]="model.max_flow=2"
    [flow2-kl0.1]="model.max_flow=2 loss.kl=0.1"
    [flow2-kl1]="model.max_flow=2 loss.kl=1"
    [flow2-decay0.85]="model.max_flow=2 loss.video_l1_decay=0.85"
    [flow2-kl0.1-decay0.85]="model.max_flow=2 loss.kl=0.1 loss.video_l1_decay=0.85"
    [vel0.25]="model.flow_param=velocity model.max_flow=0.25"
  )
elif [ "$SET" = 2 ]; then  # training seeds, a smaller latent (ten draws cover it better), the latent terms
  declare -A VARIANTS=(
    [s0]="train.seed=0"
    [s1]="train.seed=1"
    [s2]="train.seed=2"
    [z8]="model.latent_dim=8"
    [z8-s1]="model.latent_dim=8 train.seed=1"
    [z4]="model.latent_dim=4"
    [kl0.001]="loss.kl=0.001"
    [kl1]="loss.kl=1"
    [div0]="loss.diversity=0"
    [l1x2]="loss.video_l1=20"
    [vel0.25-z4]="model.flow_param=velocity model.max_flow=0.25 model.latent_dim=4"
  )
else
  echo "run.sh: SET=$SET: there are variant sets 1 and 2" >&2; exit 2
fi

MM="python -m vgpred data moving-mnist --idx $IDX --digits 2 --split train --size 64 --frames 16 --no-progress"
$MM "$WORK/mf-train" --num "$TRAIN_CLIPS" --seed 0 > "$WORK/data-train.log" 2>&1 &
$MM "$WORK/mf-val" --num 256 --seed 7 > "$WORK/data-val.log" 2>&1 &
wait
echo "data ready at $(elapsed) s"

declare -A PIDS=()
for name in "${!VARIANTS[@]}"; do
  # shellcheck disable=SC2086
  python -m vgpred train --config configs/bench-mfmnist-motion.yaml --data "$WORK/mf-train" --out "$WORK/$name" \
    "${SHORT[@]}" --no-progress train.sample_every=0 ${VARIANTS[$name]} > "$WORK/$name.log" 2>&1 &
  PIDS[$name]=$!
done
python -m vgpred train --config configs/bench-mfmnist.yaml --data "$WORK/mf-train" --out "$WORK/regressor" --steps 2000 \
  "${SHORT[@]}" --no-progress train.sample_every=0 loss=l1 train.seed=0 > "$WORK/regressor.log" 2>&1 &
PIDS[regressor]=$!

# shellcheck source=../finish_trainings.sh
source "$HERE/../finish_trainings.sh"
finish_trainings  # the deadline, if any; then each stopped run exported at the step it reached

REGRESSOR=$(ls -d "$WORK"/regressor/*/export)
for name in "${!VARIANTS[@]}"; do
  python -m vgpred evaluate -c "$(ls -d "$WORK/$name"/*/export)" --data "$WORK/mf-val" -k 10 --seed 0 "${EVAL[@]}" \
    --baseline "regressor=$REGRESSOR" --metrics psnr,ssim,mae,sharpness --json "$RESULTS/val-$name.json" \
    --no-progress > "$WORK/eval-$name.log" 2>&1 &
done
wait
echo "scored at $(elapsed) s"
for name in "${!PIDS[@]}"; do
  run=$(ls -d "$WORK/$name"/*/)
  mkdir -p "$RESULTS/runs/$name"
  for f in config.yaml metrics.jsonl log.txt run.json; do [ ! -e "$run/$f" ] || cp "$run/$f" "$RESULTS/runs/$name/"; done
  cp -r "$run/export" "$RESULTS/runs/$name/export"
done
python "$HERE/select.py" "$RESULTS" | tee "$RESULTS/selection.txt"
echo "all done at $(elapsed) s"

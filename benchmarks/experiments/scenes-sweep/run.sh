#!/usr/bin/env bash
# Real-footage motion recipes side by side, chosen on held-out training videos. Each variant of
# configs/bench-scenes-motion.yaml trains twice at once: on the fitting part of table 2's training
# cache (split.py: carphone_pristine and the last quarter of vtest's training frames held out) and on
# the whole of it. The fitting twins are scored on the held-out clips at noise scales 1, 1.5 and 2
# beside an L1 regressor trained on the same fitting part (bench-scenes.yaml loss=l1, 2000 steps, as
# table 2's), choose.py chooses one (variant, scale) by its rule, and the whole-cache twin of that
# variant is the candidate for the bundled model. No test clip is read.
#   bash benchmarks/experiments/scenes-sweep/run.sh TRAIN_CACHE WORK RESULTS [DEADLINE_S]
# TRAIN_CACHE: scenes_data.py's train-64x16; WORK: a scratch folder; RESULTS: scores, logs, exports.
# DEADLINE_S (default none): seconds after the start at which unfinished trainings are stopped
# (SIGTERM: a checkpoint) and exported at the step they reached, which choose.py reports. Built for
# one GPU (thirteen trainings share it); on a 2-core CPU each training takes 1-2 hours on one thread.
# SMOKE=1: SMOKE_STEPS (default 3) steps per training and 8 validation clips scored (a test of the script).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
TRAIN=$(cd "$1" && pwd) WORK=$2 RESULTS=$3 DEADLINE=${4:-0}
mkdir -p "$WORK" "$RESULTS"
WORK=$(cd "$WORK" && pwd) RESULTS=$(cd "$RESULTS" && pwd)
cd "$REPO"
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
SHORT=() EVAL=() REG_STEPS=2000
if [ "${SMOKE:-0}" = 1 ]; then SHORT=(--steps "${SMOKE_STEPS:-3}") EVAL=(--max-clips 8) REG_STEPS=${SMOKE_STEPS:-3}; fi
SCALES=${SCALES:-"1 1.5 2"}

declare -A VARIANTS=(
  [base]=""                         # the recipe as bundled (seed 0)
  [s1]="train.seed=1"               # its seed-to-seed spread
  [z8]="model.latent_dim=8"         # a smaller latent: ten draws cover it better
  [l1x2]="loss.video_l1=20"         # twice the posterior reconstruction's weight
  [crop0.3]="train.crop=0.3"        # stronger zoom augmentation (crops of 30-100 % of the area)
  [div0.03]="loss.diversity=0.03"   # three times the mode-seeking weight
)

[ -e "$WORK/split/split.json" ] || python "$HERE/split.py" "$TRAIN" "$WORK/split" | tee "$RESULTS/split.txt"
cp "$WORK/split/split.json" "$RESULTS/"
echo "split ready at $(elapsed) s"

declare -A PIDS=()
train() {  # NAME DATA OVERRIDES...
  local name=$1 data=$2; shift 2
  python -m vgpred train --config configs/bench-scenes-motion.yaml --data "$data" --out "$WORK/$name" \
    "${SHORT[@]}" --no-progress train.sample_every=0 "$@" > "$WORK/$name.log" 2>&1 &
  PIDS[$name]=$!
}
for name in "${!VARIANTS[@]}"; do
  # shellcheck disable=SC2086
  train "fit-$name" "$WORK/split/fit" ${VARIANTS[$name]}
  # shellcheck disable=SC2086
  train "full-$name" "$TRAIN" ${VARIANTS[$name]}
done
python -m vgpred train --config configs/bench-scenes.yaml --data "$WORK/split/fit" --out "$WORK/fit-regressor" \
  --steps "$REG_STEPS" --no-progress train.sample_every=0 loss=l1 train.seed=0 > "$WORK/fit-regressor.log" 2>&1 &
PIDS[fit-regressor]=$!

# shellcheck source=../finish_trainings.sh
source "$HERE/../finish_trainings.sh"
finish_trainings  # the deadline, if any; then each stopped run exported at the step it reached

REGRESSOR=$(ls -d "$WORK"/fit-regressor/*/export)
evals=()
for name in "${!VARIANTS[@]}"; do
  for s in $SCALES; do
    evals+=("python -m vgpred evaluate -c $(ls -d "$WORK/fit-$name"/*/export) --data $WORK/split/val -k 10 --seed 0 \
${EVAL[*]} --noise-scale $s --baseline regressor=$REGRESSOR --metrics psnr,ssim,mae,sharpness \
--json $RESULTS/val-$name-scale$s.json --no-progress")
  done
done
printf '%s\n' "${evals[@]}" | xargs -P "${EVAL_JOBS:-6}" -I{} sh -c '{} > /dev/null'
echo "scored at $(elapsed) s"
for name in "${!PIDS[@]}"; do
  run=$(ls -d "$WORK/$name"/*/)
  mkdir -p "$RESULTS/runs/$name"
  for f in config.yaml metrics.jsonl log.txt run.json; do [ ! -e "$run/$f" ] || cp "$run/$f" "$RESULTS/runs/$name/"; done
  [[ $name == fit-* ]] || cp -r "$run/export" "$RESULTS/runs/$name/export"
done
python "$HERE/choose.py" "$RESULTS" | tee "$RESULTS/selection.txt"
echo "all done at $(elapsed) s"

#!/usr/bin/env bash
# Train the mfmnist-64 recipe variants of ../mfmnist-variants/mfmnist_variants.py side by side on one CUDA GPU.
#
#   bash benchmarks/experiments/mfmnist-checkpoints/gpu_variants.sh OUT_DIR [DEADLINE_SECONDS]
#
# Run from the repository root (configs/ and BASE are read from there). Writes the
# training data (table 1's: 8000 clips, seed 0), checks one 30-step run on the GPU,
# then trains every variant at once with `vgpred train` (train.steps 200000, or
# train.steps in EXTRA) until DEADLINE_SECONDS (default 480) after the start. Each
# stops with a checkpoint (SIGTERM at the deadline, or at its train.steps; log.txt
# says which), is rounded down to its last checkpoint at a multiple of 1000 steps (later
# checkpoints and metrics rows dropped, train.steps set to that step, a line in
# log.txt says so; the learning rates are constant, so this equals a run of that many
# steps) and exported with `vgpred train --resume RUN --steps N`. OUT_DIR/<variant>.tgz
# holds each run folder without checkpoints and with only the last sample sheet.
# Environment: IDX (Fashion-MNIST IDX folder, default /usr/share/datasets/fashion-mnist),
# WORK (scratch folder, default /tmp/vgpred-variants), VARIANTS (default: all four);
# for a dry run of this script on a CPU: ALLOW_CPU=1, EXTRA (overrides added to every
# variant, e.g. train.checkpoint_every=10), ROUND (the step multiple kept, default 1000) and
# CLIPS (training clips, default table 1's 8000); PYTHON (default python3).
# Then: python benchmarks/experiments/mfmnist-variants/mfmnist_variants.py --scale full --runs <the unpacked archives>
#
# With FROM=N (the training length chosen on validation clips, on the GPU machine): every
# variant keeps its checkpoints at multiples of ROUND, and instead of the archives above
# mfmnist_checkpoints.py (beside this script) scores those from step N on of all the variants
# (JOBS exports at once, default 8; COMPARE: a model folder scored beside them, e.g.
# assets/models/mfmnist-64; VAL_CLIPS: validation clips, default 1024), writes
# OUT_DIR/mfmnist_checkpoints.{md,json,png} and OUT_DIR/chosen.tgz: the chosen
# candidate's run folder (exported, without checkpoints). Variant b64-rep (the recipe
# with model.time_padding=replicate) and the ft-* variants (fine-tunes of BASE, default
# assets/models/mfmnist-64, with a held generator for the first 300 steps; cap their length
# with EXTRA=train.steps=N) are for this mode; mfmnist_variants.py scores the other four.
# OUT_DIR/runs.tgz holds every run's config, log and metrics (no checkpoints).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: gpu_variants.sh OUT_DIR [DEADLINE_SECONDS]}
DEADLINE=${2:-480}
IDX=${IDX:-/usr/share/datasets/fashion-mnist}
WORK=${WORK:-/tmp/vgpred-variants}
VARIANTS=${VARIANTS:-b16 b16-dw0.5 b64 b64-dw0.5}
EXTRA=${EXTRA:-}
ROUND=${ROUND:-1000}
CLIPS=${CLIPS:-8000}
FROM=${FROM:-}
BASE=${BASE:-assets/models/mfmnist-64}
T0=$(date +%s)
PY=${PYTHON:-python3}
V="$PY -m vgpred"
mkdir -p "$OUT" "$WORK"
overrides() {  # keep in step with VARIANTS in benchmarks/experiments/mfmnist-variants/mfmnist_variants.py
  case $1 in
    b16) echo "train.batch_size=16" ;;
    b16-dw0.5) echo "train.batch_size=16 model.d_width=0.5" ;;
    b64) echo "" ;;
    b64-dw0.5) echo "model.d_width=0.5" ;;
    b64-rep) echo "model.time_padding=replicate" ;;
    # fine-tunes of BASE (default: the bundled mfmnist-64): the generator is held for 300 steps while the
    # fresh discriminator warms up (optim.freeze_g_steps), then learns at optim.lr_g
    ft-rep) echo "--init-from $BASE model.time_padding=replicate optim.freeze_g_steps=300 optim.lr_g=2e-4" ;;
    ft-rep-s1) echo "--init-from $BASE model.time_padding=replicate optim.freeze_g_steps=300 optim.lr_g=2e-4 train.seed=1" ;;
    ft-rep-lr1e-4) echo "--init-from $BASE model.time_padding=replicate optim.freeze_g_steps=300 optim.lr_g=1e-4" ;;
    ft-zeros) echo "--init-from $BASE optim.freeze_g_steps=300 optim.lr_g=2e-4" ;;
    ft-zeros-lr1e-4) echo "--init-from $BASE optim.freeze_g_steps=300 optim.lr_g=1e-4" ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}
$PY -c "import os, torch; assert torch.cuda.is_available() or os.environ.get('ALLOW_CPU'), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')" || exit 1
DATA=$WORK/mfmnist2-train
KEEP=""
[ -n "$FROM" ] && KEEP="train.checkpoint_every=$ROUND train.keep_checkpoints=100000"
$V data moving-mnist "$DATA" --idx "$IDX" --digits 2 --num "$CLIPS" --split train --size 64 --frames 16 --seed 0 --no-progress || exit 1
$V train --mode image --data "$DATA" --config configs/bench-mfmnist.yaml --out "$WORK/check" --steps 30 $EXTRA \
  train.sample_every=0 train.checkpoint_every=0 train.bn_recalibrate=16 --no-progress >/dev/null || exit 1
echo "checked at $(( $(date +%s) - T0 )) s"
if (( $(date +%s) - T0 >= DEADLINE )); then
  echo "the deadline ($DEADLINE s) passed before training started; give a later one" >&2; exit 1
fi
for v in $VARIANTS; do
  # $WORK/$v.rc: timeout's exit status, 124 when the deadline stopped the run
  ( timeout -s TERM $(( DEADLINE - ($(date +%s) - T0) )) $V train train.seed=0 $(overrides "$v") train.steps=200000 \
      $EXTRA $KEEP --mode image --data "$DATA" --config configs/bench-mfmnist.yaml --out "$WORK/runs/$v" \
      --no-progress > "$WORK/$v.log" 2>&1; echo $? > "$WORK/$v.rc" ) &
done
wait
echo "training stopped at $(( $(date +%s) - T0 )) s"
if [ -n "$FROM" ]; then
  runs=()
  for v in $VARIANTS; do runs+=(--run "$(ls -d "$WORK/runs/$v"/0* | tail -n 1)"); done
  $PY "$HERE/mfmnist_checkpoints.py" --scale full --work "$WORK/checkpoints" --out "$OUT" --from-step "$FROM" \
    --every "$ROUND" --jobs "${JOBS:-8}" --val-clips "${VAL_CLIPS:-1024}" "${runs[@]}" ${COMPARE:+--compare "$COMPARE"} || exit 1
  chosen=$($PY -c "import json, sys; r = json.load(open(sys.argv[1]))['results']; print(r['folders'][r['chosen']])" \
    "$OUT/mfmnist_checkpoints.json") || exit 1
  if [ -d "$chosen/checkpoints" ]; then  # a checkpoint's export (a --compare model has none)
    tar -C "$(dirname "$chosen")" -czf "$OUT/chosen.tgz" --exclude=checkpoints "$(basename "$chosen")"
  fi
  # every run's record (config, log, metrics, last sample sheet), without checkpoints or exports
  tar -C "$WORK/runs" -czf "$OUT/runs.tgz" --exclude=checkpoints --exclude=export --exclude='*.mp4' $VARIANTS
  ls -la "$OUT"; echo "done at $(( $(date +%s) - T0 )) s"; exit 0
fi
for v in $VARIANTS; do
  run=$(ls -d "$WORK/runs/$v"/0* | tail -n 1)
  case $(cat "$WORK/$v.rc") in
    124) why="stopped by a wall-clock deadline" ;;
    0) why="finished its train.steps" ;;
    *) why="ended with exit status $(cat "$WORK/$v.rc") (see $WORK/$v.log)" ;;
  esac
  ( keep=$($PY "$HERE/round_run.py" "$run" "$ROUND" "$why") \
    && $V train --resume "$run" --steps "$keep" --no-progress >> "$WORK/$v.log" 2>&1 && echo "$v: step $keep" ) &
done
wait
for v in $VARIANTS; do
  run=$(ls -d "$WORK/runs/$v"/0* | tail -n 1)
  [ -f "$run/export/config.json" ] || { echo "$v: no export, left out"; continue; }
  rm -rf "$run/checkpoints"; ls "$run"/samples/*.png | head -n -1 | xargs -r rm -f
  tar -C "$WORK/runs" -czf "$OUT/$v.tgz" "$v"
done
ls -la "$OUT"; echo "done at $(( $(date +%s) - T0 )) s"

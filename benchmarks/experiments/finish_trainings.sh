# Sourced by the sweeps' run.sh (motion-sweep, scenes-sweep): waits for the trainings they started,
# stopping at DEADLINE seconds (if > 0) those that have not finished (SIGTERM: each stops with a
# checkpoint), then exports each stopped run at the step it reached. Uses the caller's PIDS
# (associative: NAME -> pid of `vgpred train --out $WORK/NAME`, logging to $WORK/NAME.log), WORK,
# DEADLINE and elapsed().
finish_trainings() {
  local name run step
  if [ "$DEADLINE" -gt 0 ]; then
    while [ "$(elapsed)" -lt "$DEADLINE" ] && [ -n "$(jobs -rp)" ]; do sleep 5; done
    for name in "${!PIDS[@]}"; do
      [ -e "$(ls -d "$WORK/$name"/*/ 2>/dev/null)export/model.safetensors" ] && continue
      kill -TERM "${PIDS[$name]}" 2>/dev/null && echo "stopped $name at $(elapsed) s" || true
    done
  fi
  wait
  echo "training done at $(elapsed) s"
  for name in "${!PIDS[@]}"; do
    run=$(ls -d "$WORK/$name"/*/)
    if [ ! -e "$run/export/model.safetensors" ]; then  # stopped: export the step it reached
      step=$(ls "$run/checkpoints" | sort | tail -1) && step=$((10#${step#step-}))
      python -m vgpred train --resume "$run" --steps "$step" --no-progress >> "$WORK/$name.log" 2>&1 &
    fi
  done
  wait
}

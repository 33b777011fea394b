"""Table 1: image-to-video on Moving Fashion-MNIST (1 frame in, 15 frames out).

Chain: ``vgpred data moving-mnist`` (2 digits, 64x64, 16 frames; digits of the
Fashion-MNIST train split for training, of the test split for the held-out clips),
the VideoGAN in two stages: ``gan-base``, ``vgpred train --mode image --config
configs/bench-mfmnist.yaml`` (the recipe, 6000 steps), then ``gan``, a fine-tune of
it (``--init-from``; :func:`fine_tune`: edge frames repeated in the layers that
double or halve time, the generator held for its first 300 steps while the fresh
discriminator warms up, then 700 steps at lr 1e-4), the same network with
``loss=l1`` (the deterministic regressor: latent_dim 0, no discriminator), ``motion``,
``configs/bench-mfmnist-motion.yaml`` (the same network with the motion foreground and a
posterior encoder, 3000 steps), then one ``vgpred evaluate`` of the four with the
copy-first-frame baseline: per-horizon PSNR/SSIM/MAE, best-of-K and mean-of-K, and the
sharpness of each frame against the input frame (the real clips' own beside it).

The full-scale ``gan`` is the bundled model ``mfmnist-64``. Its fine-tune length was
chosen on validation clips (the experiment ``benchmarks/experiments/mfmnist-checkpoints/``,
its results/mfmnist_finetune_gpu/). ``--base DIR`` takes stage 1 from a model folder
instead of training it, e.g. the 6000-step model bundled as ``mfmnist-64`` up to
git commit 917d00b:

    git archive 917d00b assets/models/mfmnist-64 | tar -x -C /tmp && \
        python benchmarks/table1_mfmnist.py --scale full --base /tmp/assets/models/mfmnist-64

    python benchmarks/table1_mfmnist.py --scale smoke   # ~1 minute, tiny sizes
    python benchmarks/table1_mfmnist.py --scale full    # gan-base ~2.2 h on one CPU thread (~6 min on a GPU),
                                                        # gan ~26 min, regressor ~25 min, motion ~1.3 h,
                                                        # evaluation ~10 min
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from common import Benchmark, TrainedRun, evaluate_image_to_video, parse_args

TABLE = "table1_mfmnist"
TITLE = "Table 1: image-to-video on Moving Fashion-MNIST (1 frame in, 15 frames out)"
SCALES = {
    # base_steps, motion_steps None: the YAML's train.steps (base: stage 1 of the bundled model);
    # hold: the fine-tune's optim.freeze_g_steps
    "full": dict(size=64, frames=16, train_clips=8000, test_clips=512, eval_clips=256, k=10,
                 base_steps=None, gan_steps=1000, hold=300, regressor_steps=2000, motion_steps=None),
    "smoke": dict(size=32, frames=8, train_clips=32, test_clips=8, eval_clips=8, k=2,
                  base_steps=4, gan_steps=4, hold=2, regressor_steps=4, motion_steps=4),
}


def fine_tune(hold: int) -> list[str]:
    """Stage 2's overrides on top of the recipe (with ``train.init_from`` = stage 1's export)."""
    return ["model.time_padding=replicate", f"optim.freeze_g_steps={hold}", "optim.lr_g=1e-4"]



def given_base(bench: Benchmark, folder: Path, train: Path) -> TrainedRun:
    """Stage 1 from a model folder: copied into the work folder under its weights' hash (so that another
    --base never reuses a fine-tune of this one)."""
    weights = (folder / "model.safetensors").read_bytes()
    digest = hashlib.sha256(weights).hexdigest()[:12]
    holder = bench.work / "base" / digest  # TrainedRun.export is <path>/export
    if not (holder / "export" / "model.safetensors").is_file():
        shutil.rmtree(holder, ignore_errors=True)
        shutil.copytree(folder, holder / "export")
    steps = json.loads((folder / "config.json").read_text()).get("info", {}).get("steps", 0)
    return TrainedRun("gan-base", holder, train, str(folder), "image", steps, [], digest, True)


def main(argv: list[str] | None = None) -> None:
    def options(parser) -> None:
        parser.add_argument("--base", type=Path, default=None, metavar="DIR",
                            help="stage 1 (gan-base) from this model folder instead of training it (the module "
                                 "docstring: the 6000-step model of git commit 917d00b)")

    args = parse_args(TABLE, __doc__.splitlines()[0], argv, extra=options)
    if args.base is not None and not all((args.base / f).is_file() for f in ("config.json", "model.safetensors")):
        raise SystemExit(f"[{TABLE}] --base {args.base}: not a model folder (config.json + model.safetensors)")
    bench = Benchmark(TABLE, TITLE, args)
    s = SCALES[args.scale]
    train = bench.moving_mnist("mfmnist2-train", 2, s["train_clips"], "train", s["size"], s["frames"])
    test = bench.moving_mnist("mfmnist2-test", 2, s["test_clips"], "test", s["size"], s["frames"])
    if args.base is not None:
        base = given_base(bench, args.base.resolve(), train)
        bench.runs[base.name] = base
    else:
        base = bench.train("gan-base", "bench-mfmnist", "image", train, s["base_steps"])
    gan = bench.train("gan", "bench-mfmnist", "image", train, s["gan_steps"],
                      [*fine_tune(s["hold"]), f"train.init_from={base.export}"])
    gan.base = base.name
    regressor = bench.train("regressor", "bench-mfmnist", "image", train, s["regressor_steps"], ["loss=l1"])
    motion = bench.train("motion", "bench-mfmnist-motion", "image", train, s["motion_steps"])
    result, body, plot = evaluate_image_to_video(bench, [gan, base, motion, regressor], test, s["k"],
                                                 s["eval_clips"])
    intro = (
        f"Condition on frame 0 of {result['settings']['num_clips']} held-out clips (2 digits from the "
        f"Fashion-MNIST test split), predict frames 1 .. {s['frames'] - 1}; `gan-base` is the image-mode VideoGAN "
        f"trained by the recipe ({base.steps} steps; K = {s['k']} sampled futures), `gan` the same network "
        f"fine-tuned from it for {gan.steps} steps (edge frames repeated where time doubles or halves, the "
        f"generator held for {s['hold']} steps while a fresh discriminator warms up, then lr 1e-4; the bundled "
        "`mfmnist-64`), `regressor` the same generator trained with L1 only and no noise (K = 1), "
        f"`motion` ({motion.steps} steps, `configs/bench-mfmnist-motion.yaml`) moves the photo's own pixels along "
        "a flow the network predicts over a generated background, so frame 0 is the photo exactly, with a "
        "posterior encoder in training that makes the noise choose the motion, "
        "`copy-first-frame` repeats the input. Diversity (how much the K futures of a clip differ) is read "
        "against the real clips' motion, and sharpness (each frame's gradient energy over the input frame's) "
        "against the real clips' own, in the row `real clips`."
        + gan.skips_note + "\n"
    )
    bench.finish(settings={**s, "train_data": str(train), "test_data": str(test)},
                 results={"evaluation": result}, body=intro + "\n" + body, plot=plot)


if __name__ == "__main__":
    main()

"""Motion models rolled out past their length on photos they never saw: seams and sharpness.

For each bundled motion model and photo, ``num_samples`` futures of ``--times`` x the model's
length at ``--size`` pixels (long side), seed 0, through :func:`vgpred.models.rollout.rollout`
two ways, side by side:

* ``composed`` (what ``vgpred predict --frames N`` does): each later piece's flow is composed
  with the move that made its photo, so every frame reads the original photo once;
* ``re-sampled``: each piece warps the previous piece's last frame, so the photo is
  re-sampled once per pass.

Reports the seam ratio (:func:`vgpred.models.rollout.seam_ratio`: the mean step at a join
over the mean step inside a piece; bar 1.5) and the sharpness of the last frame over the
first predicted frame's (:func:`vgpred.metrics.sharpness.sharpness`, mean over the samples;
bar 0.7), plus the mean step per frame (a video that freezes has steps near 0).

    python benchmarks/rollout_photos.py                 # the bundled motion models, a few minutes on a CPU
    python benchmarks/rollout_photos.py --quick --out /tmp/r   # one photo, 2x, 64 px: seconds
"""
from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from common import machine, markdown_table  # noqa: E402

from vgpred.io.atomic import atomic_write  # noqa: E402

MODELS = {  # model -> photos it never saw (the README's examples and scikit-image's)
    "scenes-motion": ["assets/examples/street.jpg", "skimage:astronaut.png", "skimage:coffee.png"],
    "mfmnist-motion": ["assets/examples/fashion-digits.png"],
}
SEAM_BAR, SHARPNESS_BAR = 1.5, 0.7


def photo_path(name: str) -> Path:
    if name.startswith("skimage:"):
        import skimage.data

        return Path(skimage.data.__file__).parent / name.split(":", 1)[1]
    return REPO / name


def measure(model: str, photo: Path, times: int, samples: int, size: int, seed: int,
            noise_scale: float | None = None, same_noise: bool = False) -> dict:
    import torch

    from vgpred import VideoPredictor
    from vgpred.metrics.sharpness import sharpness
    from vgpred.models.rollout import rollout, seam_ratio

    p = VideoPredictor.from_pretrained(model, device="cpu")
    if noise_scale is not None:
        p.noise_scale = noise_scale
    t, k = p.cfg.frames, p.cfg.context_frames
    context = p.prepare_context(photo, size=size)  # (C, k, H, W) at the output size
    small = torch.stack([p.network_input(f) for f in context.unbind(1)], dim=1)

    def batch(x):
        x = x.unsqueeze(0).expand(samples, -1, -1, -1, -1)
        return x[:, :, 0] if k == 1 else x

    row = {"model": model, "photo": photo.name, "frames": times * t, "size": list(context.shape[-2:]),
           "noise_scale": p.noise_scale}
    gen = torch.Generator().manual_seed(seed)  # warm-up, untimed: the first call pays for one-time set-up
    rollout(p.model, batch(small)[:1], 2 * t - k, lambda: p.model.sample_noise(1, generator=gen), batch(context)[:1])
    for name, compose in (("composed", True), ("re-sampled", False)):
        gen = torch.Generator().manual_seed(seed)
        start = time.perf_counter()
        video = rollout(p.model, batch(small), times * t, lambda: p.model.sample_noise(samples, generator=gen),
                        batch(context), compose=compose,  # later pieces from N(0, I), as vgpred predict does
                        later_noise=None if same_noise else lambda: p.model.sample_noise(samples, generator=gen,
                                                                                           scale=1.0)).video.float()
        seconds = time.perf_counter() - start
        sharp = sharpness(video, video[:, :, k]).mean(0)
        steps = (video[:, :, 1:] - video[:, :, :-1]).abs().mean(dim=(0, 1, 3, 4))
        row[name] = {"seam_ratio": seam_ratio(video, t, k), "sharpness_last_over_first_predicted": float(sharp[-1]),
                     "sharpness_per_frame": [float(x) for x in sharp], "mean_step_per_frame": float(steps[k:].mean()),
                     "seconds": seconds}
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=4, help="rollout length in model lengths (default 4)")
    parser.add_argument("--samples", type=int, default=4, help="futures per photo (default 4)")
    parser.add_argument("--size", type=int, default=256, help="long side of the output in pixels (default 256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise-scale", type=float, default=None,
                        help="draw every model's noise at this scale (default: each model's model.noise_scale)")
    parser.add_argument("--same-noise", action="store_true",
                        help="later pieces at the first piece's noise scale too, not N(0, I) (a comparison)")
    parser.add_argument("--quick", action="store_true", help="one photo, 2x, 64 px, 2 samples: a smoke run")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    args = parser.parse_args(argv)
    if args.times < 2 or args.samples < 1 or args.size < 16:
        parser.error("--times must be at least 2, --samples at least 1, --size at least 16")
    models = MODELS
    if args.quick:
        models = {"mfmnist-motion": MODELS["mfmnist-motion"]}
        args.times, args.samples, args.size = 2, 2, 64
    import torch

    torch.set_grad_enabled(False)
    started = time.perf_counter()
    rows = []
    for model, photos in models.items():
        for photo in photos:
            rows.append(measure(model, photo_path(photo), args.times, args.samples, args.size, args.seed,
                                args.noise_scale, args.same_noise))
            r = rows[-1]
            print(f"{model} {r['photo']}: seam {r['composed']['seam_ratio']:.2f} / {r['re-sampled']['seam_ratio']:.2f}, "
                  f"sharpness {r['composed']['sharpness_last_over_first_predicted']:.2f} / "
                  f"{r['re-sampled']['sharpness_last_over_first_predicted']:.2f} (composed / re-sampled)",
                  file=sys.stderr)
    command = shlex.join(["python", "benchmarks/rollout_photos.py", *(argv if argv is not None else sys.argv[1:])])
    table = [[r["model"], r["photo"], f"{r['size'][1]}x{r['size'][0]}", r["frames"], f"{r['noise_scale']:g}",
              *(f"{r[name]['seam_ratio']:.2f}" for name in ("composed", "re-sampled")),
              *(f"{r[name]['sharpness_last_over_first_predicted']:.2f}" for name in ("composed", "re-sampled")),
              *(f"{r[name]['mean_step_per_frame']:.4f}" for name in ("composed", "re-sampled"))] for r in rows]
    body = "\n".join([
        "# Motion models rolled out past their length", "",
        f"Command: `{command}`", "",
        f"{args.samples} futures per photo, seed {args.seed}, long side {args.size} px, {args.times}x each model's "
        f"length. `composed`: later pieces composed into moves of the photo (what `vgpred predict --frames N` "
        "does); `re-sampled`: each piece warps the last frame before it. Seam ratio: mean |step| at a join over "
        f"that inside a piece (bar {SEAM_BAR}); sharpness: the last frame's gradient energy over the first "
        f"predicted frame's, mean over the futures (bar {SHARPNESS_BAR}); step: mean |frame t - frame t-1| of "
        "predicted frames, pixels in [-1, 1] (near 0 would be a frozen video). Noise scale: the first piece's "
        "(each model's `model.noise_scale` unless `--noise-scale` is given); later pieces draw N(0, I), as "
        "`vgpred predict` does" + (" (here: at the first piece's scale too, `--same-noise`)" if args.same_noise else "")
        + ". The photos are ones the models never trained on.", "",
        markdown_table(["model", "photo", "size", "frames", "noise scale", "seam composed", "seam re-sampled",
                        "sharpness composed", "sharpness re-sampled", "step composed", "step re-sampled"], table),
        "", f"Machine: {machine()['cpu']}, CPU; {time.perf_counter() - started:.0f} s in all. Seconds per "
        "rollout (all futures of a photo, one CPU thread when run with OMP_NUM_THREADS=1): "
        + ", ".join(f"{r['photo']} {r['composed']['seconds']:.1f} composed vs {r['re-sampled']['seconds']:.1f} "
                    "re-sampled" for r in rows) + ".", "",
    ])
    args.out.mkdir(parents=True, exist_ok=True)
    stem = ("rollout_photos" + ("-quick" if args.quick else "")
            + (f"-scale{args.noise_scale:g}" if args.noise_scale is not None else "")
            + ("-same-noise" if args.same_noise else ""))
    result = {"command": command, "date": datetime.date.today().isoformat(), "machine": machine(),
              "settings": {"times": args.times, "samples": args.samples, "size": args.size, "seed": args.seed,
                           "noise_scale": args.noise_scale, "same_noise": args.same_noise},
              "rows": rows}
    text = json.dumps(result, indent=1) + "\n"
    atomic_write(args.out / f"{stem}.json", lambda tmp: tmp.write_text(text))
    atomic_write(args.out / f"{stem}.md", lambda tmp: tmp.write_text(body))
    print(f"wrote {args.out / stem}.{{md,json}}; reproduce with: {command}")


if __name__ == "__main__":
    main()

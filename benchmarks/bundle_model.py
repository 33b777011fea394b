"""Copy a table's trained GAN into ``assets/models/<name>/`` with a model card.

    python benchmarks/table2_scenes.py --scale full
    python benchmarks/bundle_model.py --table table2_scenes --name scenes-64

The card (``README.md``) takes every figure from the table's results JSON (training
steps, wall time, samples/s, the evaluation on held-out clips) and the checks the
bundled models must pass, measured here on the bundled folder itself: frame-0 PSNR
against the resized input photo, motion between first and last frames, and how much
K futures of one photo differ.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common import horizons_lost  # noqa: E402  (this script's own folder is on sys.path)
from vgpred.evaluation import markdown_summary  # noqa: E402
from vgpred.metrics.pixel import psnr  # noqa: E402
from vgpred.modelfile import CONFIG_NAME, WEIGHTS_NAME  # noqa: E402
from vgpred.predictor import VideoPredictor  # noqa: E402

DESCRIPTIONS = {
    "scenes-64": "image-to-video on real footage (pedestrians, cyclists, cartoon), painted pixel by pixel "
                 "(the paper's foreground)",
    "mfmnist-64": "image-to-video on 2-digit Moving Fashion-MNIST (grayscale)",
    "scenes-motion": "image-to-video on real footage that moves the photo's own pixels (the motion foreground), "
                     "rendered at the photo's resolution; the default for `vgpred predict`",
    "mfmnist-motion": "image-to-video on 2-digit Moving Fashion-MNIST (grayscale) with the motion foreground",
    "mfmnist-label-32": "label-conditioned videos of one Fashion-MNIST garment, 32x32 grayscale "
                        "(`vgpred sample -c mfmnist-label-32 --label Bag`)",
}


def minutes(seconds: float) -> str:
    """``48 minutes``, ``1.1 minutes``: whole minutes from ten on."""
    return f"{seconds / 60:.0f} minutes" if seconds >= 600 else f"{seconds / 60:.1f} minutes"


def motion_and_diversity(videos) -> dict:
    """Mean |last - first frame| and mean pairwise |difference| between K videos, on [0, 1] pixels."""
    k = len(videos)
    motion = ((videos[:, :, -1] - videos[:, :, 0]).abs().mean() / 2).item()
    diffs = [(videos[i] - videos[j]).abs().mean().item() / 2 for i in range(k) for j in range(i + 1, k)]
    return {"motion": round(motion, 4), "diversity": round(sum(diffs) / len(diffs), 4)}


def photo_checks(folder: Path, photos: list[Path], k: int = 4, seed: int = 0) -> list[dict]:
    """Frame-0 PSNR vs the resized photo, first-to-last motion and diversity of K futures."""
    predictor = VideoPredictor.from_pretrained(folder, device="cpu")
    rows = []
    for path in photos:
        image = predictor.prepare_image(path)
        out = predictor(image, num_samples=k, seed=seed).frames
        target = image.unsqueeze(0).expand(k, -1, -1, -1)
        first = psnr(out[:, :, 0], target).clamp(max=100).mean().item()
        rows.append({"photo": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
                     "psnr_frame0_db": round(first, 2), **motion_and_diversity(out)})
    return rows


def label_checks(folder: Path, k: int = 4, seed: int = 0) -> list[dict]:
    """Per class: motion and diversity of K videos sampled for that label."""
    predictor = VideoPredictor.from_pretrained(folder, device="cpu")
    names = predictor.model.cfg.class_names
    return [{"label": name, **motion_and_diversity(predictor(label=c, num_samples=k, seed=seed).frames)}
            for c, name in enumerate(names)]


def clip_checks(folder: Path, caches: list[Path], seed: int = 0, batch: int = 64) -> list[dict]:
    """Frame-0 PSNR (mean over clips) of one future per held-out clip, per clip cache."""
    import torch

    from vgpred.data import open_dataset
    from vgpred.modelfile import load_model

    model = load_model(folder)
    rows = []
    for cache in caches:
        dataset = open_dataset(cache, channels=model.cfg.channels)
        gen = torch.Generator().manual_seed(seed)
        scores = []
        for start in range(0, len(dataset), batch):
            first = torch.stack([dataset[i][0][:, 0] for i in range(start, min(start + batch, len(dataset)))])
            with torch.no_grad():
                video = model(model.sample_noise(len(first), generator=gen), image=first).video
            scores.append(psnr(video[:, :, 0].float(), first).clamp(max=100))
        rows.append({"clips": cache.name, "count": len(dataset),
                     "psnr_frame0_db": round(torch.cat(scores).mean().item(), 2)})
    return rows


def targets(evaluation: dict, checks: list[dict], parts: list[dict], run: str = "gan",
            first_horizon: int = 4) -> list[str]:
    """The bundled-model requirements, each with its measured value and whether it is met (``run``: the
    evaluation's row of this model). Motion models also answer to the motion issue's diversity (at least
    25 % of the real clips' motion) and sharpness (last frame at least 0.8 of frame 0's) targets."""
    models = evaluation["models"]
    gan, copy = models[run], models["copy-first-frame"]
    rows = []
    frame0 = gan["frame0"]["psnr"] if isinstance(gan["frame0"], dict) else gan["frame0"]
    rows.append(("frame 0 reproduces the input: PSNR >= 25 dB (held-out clips)", f"{frame0:.2f} dB", frame0 >= 25))
    for c in parts:
        rows.append((f"frame 0 PSNR >= 25 dB on the {c['count']} held-out clips of `{c['clips']}`",
                     f"{c['psnr_frame0_db']} dB", c["psnr_frame0_db"] >= 25))
    for c in checks:
        rows.append((f"frame 0 PSNR >= 25 dB on {c['photo']}", f"{c['psnr_frame0_db']} dB", c["psnr_frame0_db"] >= 25))
    rows.append(("there is motion (mean abs(last - first frame), [0, 1] pixels)", f"{gan['motion']:.4f}", gan["motion"] > 0.005))
    rows.append(("the K futures differ (mean pairwise abs difference)", f"{gan['diversity']:.4f}", gan["diversity"] > 0.001))
    real = evaluation.get("data", {}).get("motion")
    sharp = gan.get("statistics", {}).get("sharpness", {}).get("per_horizon")
    if real and sharp:  # rows scored with the sharpness statistic (the motion issue's targets)
        share = gan["diversity"] / real
        rows.append(("the K futures differ by at least 25 % of the real clips' motion",
                     f"{100 * share:.0f} % ({gan['diversity']:.4f} / {real:.4f})", share >= 0.25))
        rows.append(("no decay: sharpness of the last frame at least 0.8 of frame 0's", f"{sharp[-1]:.3f}",
                     sharp[-1] >= 0.8))
    for metric in ("psnr", "ssim"):
        lost, compared = horizons_lost(gan, copy, metric, first_horizon)
        rows.append((f"best-of-{gan['k']} {metric.upper()} beats copy-first-frame at every horizon from {first_horizon} on",
                     f"{compared - len(lost)} of {compared} horizons", not lost))
    out = ["## Against the bundled-model requirements", "", "| requirement | measured | met |", "|---|---|---|"]
    out += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in rows]
    return out + [""]


def label_section(results: dict, table: str, followed: float = 0.5) -> list[str]:
    """A label-mode card's evaluation: the table's classifier accuracy per requested label, and what it means."""
    names = results["class_names"]
    rows = [[name, row["videos"], f"{row['accuracy']:.3f}", *(f"{a:.2f}" for a in row["per_class"])]
            for name, row in results["rows"].items()]
    rows.append(["chance", "", f"{results['chance']:.3f}", *([f"{results['chance']:.2f}"] * len(names))])
    generated = next(row for name, row in results["rows"].items() if name.startswith("label-gan"))
    kept = [n for n, a in zip(names, generated["per_class"]) if a is not None and a >= followed]
    missed = [n for n, a in zip(names, generated["per_class"]) if a is not None and a < followed]
    frechet = results["frechet_projectnet"]
    out = ["## Does it follow the label?", "",
           f"From `benchmarks/results/{table}.md` (same run): an independently trained classifier (vgpred's "
           "VideoFeatureNet, trained on real clips) labels real held-out clips and the videos generated for each "
           "requested label; accuracy per requested label:", "",
           "| videos | N | accuracy | " + " | ".join(names) + " |", "|---" * (len(names) + 3) + "|"]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    out += ["",
            f"- Followed (classified as requested in at least {followed:.0%} of its videos): "
            f"{', '.join(kept) or 'none'}; not followed: {', '.join(missed) or 'none'}.",
            "- A class counts as followed when the classifier says so, which is weaker than it looks where the "
            "classifier is weak on real clips (see the reference row).",
            f"- frechet_projectnet to the held-out clips (the classifier's feature space; not FVD; copy-first-frame "
            "is the real clips' frame 0 held still): "
            + ", ".join(f"{k} {v:.1f}" for k, v in frechet.items() if v is not None), ""]
    return out


def collapse_note(labels: list[dict], below: float = 0.01) -> str:
    """A known-limits sentence when the videos sampled for one label barely differ."""
    if not labels or max(c["diversity"] for c in labels) >= below:
        return ""
    lo, hi = min(c["diversity"] for c in labels), max(c["diversity"] for c in labels)
    return (f"\n- Within one label the K videos differ by only {lo}-{hi} on [0, 1] pixels (checks above): close to "
            "one video per label, the noise z has little effect (mode collapse).")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="e.g. table2_scenes (reads benchmarks/results/<table>.json)")
    parser.add_argument("--name", required=True, help="bundled model name, e.g. scenes-64")
    parser.add_argument("--run", default="gan", help="which of the table's runs to bundle (table 3: label-gan)")
    parser.add_argument("--photos", nargs="*", type=Path, default=[], help="held-out photos for the checks")
    parser.add_argument("--clips", nargs="*", type=Path, default=[],
                        help="held-out clip caches (paths relative to --work) whose frame-0 PSNR the card "
                             "lists one by one, e.g. caches/test-static-64x16")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results",
                        help="folder of the table's results JSON (default benchmarks/results)")
    parser.add_argument("--training-note", default="",
                        help="a fact about the training run the files do not hold, for the card's training line "
                             "(e.g. 'the GPU was shared with three other runs')")
    parser.add_argument("--before", default="",
                        help="a command the reproduction runs first, shown above the table's command on the card "
                             "(e.g. fetching the model a --base option names)")
    parser.add_argument("--work", type=Path, default=None, help="the table's work folder (default benchmarks/work/<table>)")
    parser.add_argument("--dest", type=Path, default=REPO / "assets" / "models",
                        help="folder that receives <name>/ (default assets/models)")
    args = parser.parse_args(argv)

    result_path = args.results / f"{args.table}.json"
    if not result_path.is_file():
        parser.error(f"--table {args.table}: no {result_path} (run benchmarks/{args.table}.py --scale full first)")
    result = json.loads(result_path.read_text())
    if args.run not in result["runs"]:
        parser.error(f"--run {args.run}: not a run of {args.table} ({', '.join(result['runs'])})")
    run = result["runs"][args.run]
    export = REPO / run["run"] / "export"  # results name paths inside the repository relative to it
    dst = args.dest / args.name
    tmp = dst.with_name(f".{args.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copyfile(export / WEIGHTS_NAME, tmp / WEIGHTS_NAME)
    config = json.loads((export / CONFIG_NAME).read_text())
    description = DESCRIPTIONS.get(args.name, "")
    config["info"] = {**config.get("info", {}), "description": description, "config_hash": run["hash"]}
    config["info"]["data"] = Path(config["info"].get("data", "")).name  # no machine-specific paths
    if run.get("train_seconds") is not None:  # every process of the run, as the card says (metrics.jsonl)
        config["info"]["seconds"] = run["train_seconds"]
    base = result["runs"].get(run.get("base") or "")  # the run this one fine-tunes, if any
    if base is not None:  # a path in the work folder (or to a bundled model this one may replace) says nothing
        config["info"]["init_from"] = f"{args.table}'s {run['base']} ({base['steps']} steps)"
    (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")

    label_mode = config["model"]["mode"] == "label"
    if label_mode and (args.photos or args.clips):
        parser.error("--photos/--clips: a label-mode model takes no input frame; its card reports the table's "
                     "classifier accuracy per requested label")
    checks = photo_checks(tmp, [p.resolve() for p in args.photos]) if args.photos else []
    labels = label_checks(tmp) if label_mode else []
    work = args.work or REPO / "benchmarks" / "work" / args.table
    parts = clip_checks(tmp, [c if c.is_absolute() else work / c for c in args.clips])
    evaluation = result["results"].get("evaluation") or result["results"]
    image_evaluation = not label_mode and isinstance(evaluation, dict) and "models" in evaluation
    model = config["model"]
    import yaml

    index = REPO / run["data"] / "index.json"
    train_clips = json.loads(index.read_text())["num_clips"] if index.is_file() else "its"
    train_cfg = yaml.safe_load((REPO / run["run"] / "config.yaml").read_text())["train"]
    trained_on = run.get("hardware") or f"cpu ({result['machine'].get('cpu', 'this machine')})"
    lines = [
        f"# {args.name}", "", f"{description[:1].upper()}{description[1:]}.", "",
        f"- network: {model['mode']} mode, {model['resolution']}x{model['resolution']} pixels, {model['frames']} frames, "
        f"{model['channels']} channel(s), width {model['width']}, latent {model['latent_dim']}"
        + (f", {model['num_classes']} classes ({', '.join(model['class_names'])})" if label_mode else "")
        + (", with U-Net skips from the frame encoder into both streams (`model.skips`; not in the paper, "
           "whose 4x4 code alone leaves frame 0 blurred)" if model.get("skips") else ", the paper's layers")
        + (", edge frames repeated instead of zero-padded in every layer that doubles or halves time "
           "(`model.time_padding=replicate`; not in the paper, which pads with zero frames)"
           if model.get("time_padding") == "replicate" else ""),
        f"- weights: EMA generator{'' if label_mode else ' + encoder'}, {(tmp / WEIGHTS_NAME).stat().st_size / 1e6:.1f} MB safetensors",
        f"- training: {run['steps']} steps of batch {train_cfg['batch_size']} "
        f"on `{Path(run['data']).name}`, {run['train_seconds'] / 60:.1f} min on {trained_on}"
        f" ({run['samples_per_s']:.1f} samples/s, second half of the run{'; ' + args.training_note if args.training_note else ''})",
        *([f"- fine-tuned from the table's `{run['base']}` model ({base['steps']} steps; it is scored beside "
           f"this one in the table), with `{' '.join(o for o in run['overrides'] if not o.startswith(('train.init_from=', 'train.seed=')))}`"]
          if base is not None else []),
        f"- recipe: `{run['config']}`"
        + (f" with `{' '.join(run['overrides'])}`" if run.get("overrides") and base is None else "")
        + f" (config hash `{run['hash']}`)", "",
        "## Reproduce", "", "```bash", *([args.before] if args.before else []), result["command"],
        f"python benchmarks/bundle_model.py --table {args.table}"
        + (f" --run {args.run}" if args.run != "gan" else "") + f" --name {args.name}"
        + (" --photos " + " ".join(c["photo"] for c in checks) if checks else "")
        + (" --clips " + " ".join(map(str, args.clips)) if args.clips else "")
        + (" --training-note " + shlex.quote(args.training_note) if args.training_note else "")
        + (" --before " + shlex.quote(args.before) if args.before else ""), "```", "",
    ]
    if label_mode:
        lines += label_section(result["results"], args.table)
        lines += ["## Checks of sampled videos", "",
                  "K = 4 videos per label, seed 0; motion = mean |last - first frame|, diversity = mean pairwise "
                  "|difference| between the K videos, both on [0, 1] pixels.", "",
                  "| label | motion | diversity |", "|---|---|---|"]
        lines += [f"| {c['label']} | {c['motion']} | {c['diversity']} |" for c in labels]
        lines.append("")
    else:
        lines += ["## Evaluation on held-out clips", "",
                  f"From `benchmarks/results/{args.table}.md` (same run, same harness as `vgpred evaluate`; "
                  f"`{args.run}` is this model):", ""]
    if image_evaluation:
        lines += [markdown_summary(evaluation), ""]
    if checks:
        lines += ["## Checks on photos it did not see", "",
                  "K = 4 futures, seed 0. PSNR of frame 0 against the photo resized to the model's input; "
                  "motion = mean |last - first frame| and diversity = mean pairwise |difference| between "
                  "futures, both on [0, 1] pixels.", "",
                  "| photo | PSNR frame 0 (dB) | motion | diversity |", "|---|---|---|---|"]
        lines += [f"| {c['photo']} | {c['psnr_frame0_db']} | {c['motion']} | {c['diversity']} |" for c in checks]
        lines.append("")
    if image_evaluation:
        lines += targets(evaluation, checks, parts, run=args.run)
    lines += ["## Known limits", "",
              (f"- Fine-tuned for {minutes(run['train_seconds'])} on {trained_on} from a "
               f"{base['steps']}-step model" if base is not None else
               f"- Trained for {minutes(run['train_seconds'])} on {trained_on}")
              + f", on {train_clips} clips: a demonstration of the method and the toolkit, not a general-purpose "
              "video model.",
              (f"- Videos are {model['resolution']}x{model['resolution']}, {model['frames']} frames at "
               f"{model['fps']:g} fps; which labels it follows is in the table above." + collapse_note(labels)
               if label_mode else
               (f"- The motion (a flow field and a mask per frame) is predicted at {model['resolution']}x"
                f"{model['resolution']} from the photo resized to fit, then upsampled and applied to the photo at its "
                f"own resolution and aspect ratio (long side capped by `--size`, default 512); what it uncovers is "
                f"filled from a {model['resolution']}x{model['resolution']} background, so large motions blur there; "
                f"{model['frames']} frames at {model['fps']:g} fps."
                if model.get("foreground") == "motion" else
                f"- Input photos are centre-cropped (or padded with `--fit pad`) to {model['resolution']}x"
                f"{model['resolution']}; {model['frames']} frames are produced at {model['fps']:g} fps.")), ""]
    (tmp / "README.md").write_text("\n".join(lines))
    (tmp / "checks.json").write_text(json.dumps({"photos": checks, "clips": parts, "labels": labels}, indent=2) + "\n")
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)
    print(f"bundled {dst} ({(dst / WEIGHTS_NAME).stat().st_size / 1e6:.1f} MB)")
    print("reproduce: " + shlex.join(["python", "benchmarks/bundle_model.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()

"""Give a bundled motion model the noise scale chosen by run.sh, score it on its table's test clips, update its card.

    python benchmarks/experiments/noise-scale/apply.py --name mfmnist-motion --scale 6 --table table1_mfmnist \\
        --data W/mf-test --baseline gan=mfmnist-64 --photos assets/examples/fashion-digits.png \\
        --chosen-on 'the 256 validation clips of ../motion-sweep'

1. writes ``model.noise_scale`` into ``assets/models/NAME/config.json`` (the weights stay as they are);
2. scores the model with ``benchmarks/add_row.py`` as the row ``motion-scaleS`` of TABLE, on the
   table's test clips (``benchmarks/results/TABLE+motion-scaleS.{md,json,png}``);
3. measures the card's photo checks again (``checks.json``) and rewrites the card's evaluation,
   checks and requirements sections from 1-2, saying where the scale was chosen.
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "benchmarks"))

from bundle_model import photo_checks, targets  # noqa: E402  (benchmarks/ is on sys.path)
from vgpred.evaluation import markdown_summary  # noqa: E402
from vgpred.io.atomic import atomic_write  # noqa: E402
from vgpred.modelfile import CONFIG_NAME  # noqa: E402

SECTIONS = ("## Evaluation on held-out clips", "## Checks on photos it did not see",
            "## Against the bundled-model requirements")


def replace_sections(card: str, new: dict[str, list[str]]) -> str:
    """The card with each ``## `` section named in ``new`` replaced by its lines (title included)."""
    parts, current = [], None
    for line in card.splitlines():
        if line.startswith("## "):
            current = line
            if line in new:
                parts += new[line]
                continue
        if current not in new:
            parts.append(line)
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="bundled motion model, e.g. mfmnist-motion")
    parser.add_argument("--scale", type=float, required=True, help="the chosen model.noise_scale")
    parser.add_argument("--table", required=True, help="its table, e.g. table1_mfmnist")
    parser.add_argument("--data", type=Path, required=True, help="the table's test clip cache")
    parser.add_argument("--baseline", action="append", default=[], metavar="NAME=MODEL")
    parser.add_argument("--photos", nargs="*", type=Path, default=[], help="photos for the card's checks")
    parser.add_argument("--chosen-on", required=True, help="where the scale was chosen, for the card")
    parser.add_argument("--models", type=Path, default=REPO / "assets" / "models")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    folder = args.models / args.name
    config = json.loads((folder / CONFIG_NAME).read_text())
    if config["model"].get("foreground") != "motion":
        parser.error(f"--name {args.name}: not a motion model")
    if not 0 < args.scale <= 100:
        parser.error(f"--scale {args.scale}: must be > 0 and at most 100")
    config["model"]["noise_scale"] = args.scale
    atomic_write(folder / CONFIG_NAME, lambda tmp: tmp.write_text(json.dumps(config, indent=2) + "\n"))

    row = f"motion-scale{args.scale:g}"
    cmd = [sys.executable, str(REPO / "benchmarks" / "add_row.py"), "--table", args.table, "--row", row,
           "--model", str(folder), "--data", str(args.data), "--results", str(args.results),
           *(x for b in args.baseline for x in ("--baseline", b))]
    subprocess.run(cmd, check=True)
    result = json.loads((args.results / f"{args.table}+{row}.json").read_text())
    evaluation = result["results"]["evaluation"]

    checks = photo_checks(folder, [p.resolve() for p in args.photos])
    atomic_write(folder / "checks.json",
                 lambda tmp: tmp.write_text(json.dumps({"photos": checks, "clips": [], "labels": []}, indent=2) + "\n"))
    command = "python benchmarks/experiments/noise-scale/apply.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    card = (folder / "README.md").read_text()
    note = (f"- noise scale: {args.scale:g} (`model.noise_scale`: the futures are drawn from N(0, {args.scale:g}² I), "
            f"training drew N(0, I)), chosen on {args.chosen_on} (`benchmarks/experiments/noise-scale`)")
    lines = card.splitlines()
    lines = [line for line in lines if not line.startswith(("- noise scale:", "python benchmarks/experiments/noise-scale/"))]
    at = next(i for i, line in enumerate(lines) if line.startswith("- recipe:"))
    lines.insert(at + 1, note)
    card = "\n".join(lines) + "\n"
    close = card.index("```\n", card.index("## Reproduce"))
    if command not in card:
        card = card[:close] + command + "\n" + card[close:]
    card = replace_sections(card, {
        SECTIONS[0]: [SECTIONS[0], "", f"From `benchmarks/results/{args.table}+{row}.md` (the table's test clips, "
                      f"same harness as `vgpred evaluate`; `{row}` is this model with its noise scale):", "",
                      markdown_summary(evaluation), ""],
        SECTIONS[1]: ["## Checks on photos it did not see", "",
                      "K = 4 futures, seed 0. PSNR of frame 0 against the photo resized to the model's input; "
                      "motion = mean |last - first frame| and diversity = mean pairwise |difference| between "
                      "futures, both on [0, 1] pixels.", "",
                      "| photo | PSNR frame 0 (dB) | motion | diversity |", "|---|---|---|---|",
                      *(f"| {c['photo']} | {c['psnr_frame0_db']} | {c['motion']} | {c['diversity']} |" for c in checks),
                      ""],
        SECTIONS[2]: targets(evaluation, checks, [], run=row),
    })
    atomic_write(folder / "README.md", lambda tmp: tmp.write_text(card))
    print(f"{args.name}: model.noise_scale {args.scale:g}; card, checks and {args.table}+{row} written")


if __name__ == "__main__":
    main()

"""The benchmark scripts: each table's smoke scale runs the whole chain and writes its report.

Tests of the one-off experiments (``benchmarks/experiments/``) are marked ``experiment``
and run only when asked: ``python -m pytest -m experiment tests/test_benchmarks.py``.
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FASHION_MNIST, REPO

BENCH = REPO / "benchmarks"
EXPERIMENTS = BENCH / "experiments"
COMMON_KEYS = {"table", "title", "scale", "seed", "command", "date", "wall_seconds", "machine", "settings",
               "runs", "config_hashes", "results"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_table(script: str, tmp_path: Path, *extra: str) -> dict:
    """Run ``benchmarks/<script> --scale smoke`` into tmp_path; return its JSON, checked for the common keys."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--scale", "smoke", "--work", str(tmp_path / "work"),
         "--out", str(tmp_path / "results"), *extra],
        capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stem = Path(script).stem
    out = tmp_path / "results" / "smoke"
    assert not (tmp_path / "results" / f"{stem}.json").exists(), "smoke results must not go beside full ones"
    data = json.loads((out / f"{stem}.json").read_text())
    md = (out / f"{stem}.md").read_text()
    assert COMMON_KEYS <= set(data), COMMON_KEYS - set(data)
    assert data["table"] == stem and data["scale"] == "smoke"
    assert f"python benchmarks/{script} --scale smoke" in data["command"]
    assert f"reproduce with: {data['command']}" in proc.stdout
    assert data["machine"]["cores"] >= 1 and data["machine"]["torch"]
    # The wall time covers every run trained by this call, and the Markdown states the JSON's (to its 0.1 min).
    trained_here = [run["train_seconds"] for run in data["runs"].values() if not run["reused"] and run["train_seconds"]]
    assert data["wall_seconds"] >= sum(trained_here)
    minutes = float(re.search(r"wall time ([0-9.]+) min", md).group(1))
    assert abs(minutes - data["wall_seconds"] / 60) <= 0.051
    for name, run in data["runs"].items():
        assert data["config_hashes"][name] == run["hash"] and len(run["hash"]) == 12
        assert Path(run["run"], "export", "config.json").is_file()
        assert run["hash"] in md and run["config"] in md
    assert data["command"] in md and "Scale: **smoke**" in md
    if "plot" in data:  # written beside the page, which shows it
        assert (out / data["plot"]).read_bytes()[:8] == PNG_MAGIC and f"]({data['plot']})" in md
    return data


def _finite(x) -> bool:
    return isinstance(x, float) and math.isfinite(x)


def _cell(value) -> str:
    """A value as ``benchmarks/common.markdown_table`` prints it."""
    return f"{value:.4g}" if isinstance(value, float) else ("n/a" if value is None else str(value))


def _row(*cells) -> str:
    """The Markdown table row ``markdown_table`` writes for these cells."""
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def assert_motion_row_and_sharpness(data: dict, md: str, config: str) -> None:
    """An image-to-video table's ``motion`` row (frame 0 is the photo: PSNR at the 100 dB cap) and the
    sharpness of every row and of the real clips, in the JSON and in the Markdown summary."""
    evaluation = data["results"]["evaluation"]
    models, real = evaluation["models"], evaluation["data"]
    assert data["runs"]["motion"]["config"] == config and data["runs"]["motion"]["steps"] == 4
    motion = models["motion"]
    assert motion["frame0"]["psnr"] == 100.0 and motion["k"] == 2
    frames = evaluation["settings"]["frames"]
    for entry in [*models.values(), real]:
        curve = entry["statistics"]["sharpness"]
        assert len(curve["per_horizon"]) == frames - 1 and all(_finite(v) for v in curve["per_horizon"])
    for entry in (motion, models["copy-first-frame"], real):  # frame 0 is the input itself: exactly 1
        assert entry["statistics"]["sharpness"]["frame0"] == 1.0
    assert models["copy-first-frame"]["statistics"]["sharpness"]["per_horizon"] == [1.0] * (frames - 1)
    # the summary: every model's diversity and last-frame sharpness beside the real clips' motion and sharpness
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| model | K |"))
    header, rows = lines[start].strip("| ").split(" | "), {}
    for line in itertools.takewhile(lambda line: line.startswith("| "), lines[start + 2:]):
        cells = line.strip("| ").split(" | ")
        rows[cells[0]] = dict(zip(header, cells))
    sharp = f"sharpness frame {frames - 1}"
    assert list(rows) == [*models, "real clips"]
    for name, model in models.items():
        assert rows[name]["diversity"] == f"{model['diversity']:.4g}"
        assert rows[name][sharp] == f"{model['statistics']['sharpness']['per_horizon'][-1]:.4g}"
    assert rows["real clips"]["motion"] == f"{real['motion']:.4g}"
    assert rows["real clips"][sharp] == f"{real['statistics']['sharpness']['per_horizon'][-1]:.4g}"
    assert "`motion`" in md and "frame 0 is the photo exactly" in md
    assert "### Sharpness per frame" in md and "| motion | mean of 2 | 1 |" in md and "| real clips | data | 1 |" in md


def _num_clips(cache: Path) -> int:
    return json.loads((cache / "index.json").read_text())["num_clips"]


@pytest.mark.slow
def test_table1_mfmnist_smoke_and_reuse(tmp_path):
    data = run_table("table1_mfmnist.py", tmp_path)
    models = data["results"]["evaluation"]["models"]
    assert set(models) == {"copy-first-frame", "gan", "gan-base", "regressor", "motion"}
    md = (tmp_path / "results" / "smoke" / "table1_mfmnist.md").read_text()
    assert_motion_row_and_sharpness(data, md, "configs/bench-mfmnist-motion.yaml")
    base_export = Path(data["runs"]["gan-base"]["run"], "export")
    assert data["runs"]["gan"]["base"] == "gan-base"  # stage 2 fine-tunes stage 1
    assert "optim.freeze_g_steps=2" in data["runs"]["gan"]["overrides"]
    assert f"train.init_from={base_export}" in data["runs"]["gan"]["overrides"]
    assert models["gan"]["k"] == 2 and models["regressor"]["k"] == 1 and models["regressor"]["latent_dim"] == 0
    assert len(models["gan"]["metrics"]["psnr"]["best_of_k"]["per_horizon"]) == 7  # 8 frames: horizons 1..7
    assert models["copy-first-frame"]["frame0"]["psnr"] == 100.0
    assert data["runs"]["gan"]["steps"] == 4 and not data["runs"]["gan"]["reused"]
    assert data["runs"]["gan"]["hardware"].startswith("cpu (")  # what the run trained on, from its run.json
    assert data["plot"] == "table1_mfmnist.png"  # run_table checked it is a PNG the page shows
    again = run_table("table1_mfmnist.py", tmp_path)  # same config hash: training is skipped
    assert again["runs"]["gan"]["reused"] and again["runs"]["regressor"]["reused"] and again["runs"]["motion"]["reused"]
    assert again["config_hashes"] == data["config_hashes"]
    assert again["runs"]["gan"]["run"] == data["runs"]["gan"]["run"]

    # The table's GAN becomes a bundled model folder with a card, as for mfmnist-64.
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bundle_model.py"), "--table", "table1_mfmnist", "--name", "mf-test",
         "--results", str(tmp_path / "results" / "smoke"), "--work", str(tmp_path / "work"),
         "--dest", str(tmp_path / "models"), "--photos", str(REPO / "assets" / "examples" / "fashion-digits.png"),
         "--clips", "data/mfmnist2-test", "--training-note", "a shared machine", "--before", "echo fetch the base"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = tmp_path / "models" / "mf-test"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "checks.json", "config.json", "model.safetensors"]
    checks = json.loads((folder / "checks.json").read_text())
    assert [c["clips"] for c in checks["clips"]] == ["mfmnist2-test"]
    assert checks["clips"][0]["count"] == _num_clips(tmp_path / "work" / "data" / "mfmnist2-test") == 8
    assert _finite(checks["clips"][0]["psnr_frame0_db"]) and _finite(checks["photos"][0]["psnr_frame0_db"])
    card = (folder / "README.md").read_text()
    assert "## Against the bundled-model requirements" in card and "held-out clips of `mfmnist2-test`" in card
    assert data["command"] in card and "--clips data/mfmnist2-test" in card
    assert "min on cpu (" in card and "second half of the run; a shared machine)" in card
    assert "--training-note 'a shared machine'" in card  # the card's command reproduces the card
    assert f"echo fetch the base\n{data['command']}\n" in card and "--before 'echo fetch the base'" in card
    from vgpred.modelfile import load_model

    assert "U-Net skips from the frame encoder" in card  # the recipe's addition to the paper is on the card
    assert load_model(folder).cfg.channels == 1 and load_model(folder).cfg.skips
    assert "fine-tuned from the table's `gan-base` model (4 steps" in card and "optim.freeze_g_steps=2" in card
    assert json.loads((folder / "config.json").read_text())["info"]["init_from"] == "table1_mfmnist's gan-base (4 steps)"

    # Stage 1 from a model folder (--base): copied, not trained; the fine-tune of it is a new run.
    given = tmp_path / "given-base"
    import shutil

    shutil.copytree(base_export, given)
    third = run_table("table1_mfmnist.py", tmp_path, "--base", str(given))
    assert third["runs"]["gan-base"]["config"] == str(given) and third["runs"]["gan-base"]["train_seconds"] is None
    assert not third["runs"]["gan"]["reused"] and third["runs"]["regressor"]["reused"] and third["runs"]["motion"]["reused"]
    assert third["runs"]["gan"]["hash"] != data["runs"]["gan"]["hash"]
    md = (tmp_path / "results" / "smoke" / "table1_mfmnist.md").read_text()
    assert f"- gan-base: the model folder `{given}` (4 steps; given, not trained here)" in md
    proc = subprocess.run([sys.executable, str(BENCH / "table1_mfmnist.py"), "--scale", "smoke", "--work",
                           str(tmp_path / "work"), "--out", str(tmp_path / "results"), "--base", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"[table1_mfmnist] --base {tmp_path / 'nowhere'}: not a model folder (config.json + model.safetensors)"


@pytest.mark.slow
def test_table6_context_smoke(tmp_path):
    data = run_table("table6_context.py", tmp_path)
    results = data["results"]
    main, protocol, rolled = results["context"], results["protocol"], results["rollout"]
    assert set(main["models"]) == {"copy-last-frame", "gan", "regressor"}
    assert main["settings"]["context"] == 10 and main["settings"]["horizons"] == list(range(10, 20))
    assert main["models"]["gan"]["k"] == 2 and main["models"]["regressor"]["k"] == 1
    assert protocol["settings"]["protocol"]["name"] == "mmnist-10-10" and protocol["settings"]["k"] == 1
    assert list(protocol["models"]["gan"]["metrics"]) == ["mse_frame_sum", "mae_frame_sum", "ssim", "psnr"]
    assert rolled["settings"]["frames"] == 64 and len(rolled["models"]["gan"]["statistics"]["sharpness"]["per_horizon"]) == 54
    checks = results["checks"]
    assert set(checks["seam_ratio"]) == {"gan", "regressor"} and all(v > 0 for v in checks["seam_ratio"].values())
    assert set(checks["beats_copy_last_frame"]) == {"gan best-of-K", "gan mean-of-K", "regressor"}
    for run in ("gan", "regressor"):
        assert "model.context_frames=10" in data["runs"][run]["overrides"]
    md = (tmp_path / "results" / "smoke" / "table6_context.md").read_text()
    assert "not comparable to published Moving MNIST numbers" in md and "seam ratio" in md


def test_table2_scenes_smoke_splits_by_video(tmp_path):
    data = run_table("table2_scenes.py", tmp_path)
    splits = data["settings"]["data"]["splits"]
    train_videos = {v for names in splits["train"]["videos"].values() for v in names}
    test_videos = {v for names in splits["test"]["videos"].values() for v in names}
    assert test_videos == {"bikes.mp4", "vtest-tail.mp4"} and not train_videos & test_videos
    assert splits["train"]["clips"] == sum(splits["train"]["parts"].values()) > 0
    for split in ("train", "test"):  # the report's counts are the caches' own
        assert splits[split]["clips"] == _num_clips(Path(splits[split]["cache"]))
    assert data["results"]["evaluation"]["settings"]["num_clips"] == min(8, splits["test"]["clips"]) > 0
    models = data["results"]["evaluation"]["models"]
    assert {"gan", "regressor", "motion", "copy-first-frame"} == set(models)
    assert data["results"]["evaluation"]["data"]["channels"] == 3
    md = (tmp_path / "results" / "smoke" / "table2_scenes.md").read_text()
    assert_motion_row_and_sharpness(data, md, "configs/bench-scenes-motion.yaml")

    # A row added later (add_row.py: the table's harness, settings and clips) and bundled from it.
    results, motion = tmp_path / "results" / "smoke", Path(data["runs"]["motion"]["run"])
    motion = motion if motion.is_absolute() else REPO / motion
    gan = Path(data["runs"]["gan"]["run"])
    gan = gan if gan.is_absolute() else REPO / gan
    add = [sys.executable, str(BENCH / "add_row.py"), "--table", "table2_scenes", "--row", "motion-again",
           "--model", str(motion / "export"), "--baseline", f"gan={gan / 'export'}", "--run", str(motion),
           "--config", "configs/bench-scenes-motion.yaml", "--results", str(results)]
    wrong = subprocess.run([*add, "--data", splits["train"]["cache"]], capture_output=True, text=True, timeout=600)
    assert wrong.returncode != 0 and "is not the table's test clips" in wrong.stderr, wrong.stderr[-2000:]
    done = subprocess.run([*add, "--data", splits["test"]["cache"], "--override", "train.crop=0.5"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    added = json.loads((results / "table2_scenes+motion-again.json").read_text())
    again, before = added["results"]["evaluation"]["models"], data["results"]["evaluation"]["models"]
    assert set(again) == {"copy-first-frame", "motion-again", "gan"}
    assert again["motion-again"]["metrics"]["psnr"] == before["motion"]["metrics"]["psnr"]  # same model, same clips
    assert added["sources"]["regressor"].startswith("the table") and added["runs"]["motion-again"]["steps"] > 0
    assert {"psnr_vs_copy-first-frame", "ssim_vs_regressor", "diversity_over_real_motion"} <= set(added["checks"])
    added_md = (results / "table2_scenes+motion-again.md").read_text()
    assert "| motion-again | this run |" in added_md
    assert f"on {added['runs']['motion-again']['hardware']}, " in added_md  # where it trained, from its run.json
    assert added["runs"]["motion-again"]["overrides"] == ["train.crop=0.5"]
    bundle = subprocess.run([sys.executable, str(BENCH / "bundle_model.py"), "--table", "table2_scenes+motion-again",
                             "--run", "motion-again", "--name", "motion-test", "--results", str(results),
                             "--dest", str(tmp_path / "models")], capture_output=True, text=True, timeout=600)
    assert bundle.returncode == 0, bundle.stderr[-2000:]
    card = (tmp_path / "models" / "motion-test" / "README.md").read_text()
    assert "own resolution and aspect ratio" in card and "| motion-again | 2 |" in card
    assert "- recipe: `configs/bench-scenes-motion.yaml` with `train.crop=0.5` (config hash" in card
    info = json.loads((tmp_path / "models" / "motion-test" / "config.json").read_text())["info"]
    assert info["seconds"] == added["runs"]["motion-again"]["train_seconds"]


@pytest.mark.slow
def test_table3_label_smoke(tmp_path):
    data = run_table("table3_label.py", tmp_path)
    res = data["results"]
    assert len(res["class_names"]) == 10 and res["chance"] == pytest.approx(0.1)
    from vgpred.data import open_dataset

    test = open_dataset(tmp_path / "work" / "data" / "mfmnist1-test", channels=1)
    labels = [int(test[i][1]) for i in range(len(test))]
    per_label = {"real held-out clips (reference)": [labels.count(c) for c in range(10)],
                 "label-gan: generated for the requested label": [4] * 10}  # 4 videos per label
    md = (tmp_path / "results" / "smoke" / "table3_label.md").read_text()
    for name, counts in per_label.items():
        row = res["rows"][name]
        assert row["videos"] == sum(counts) and len(row["per_class"]) == 10
        # each per-class accuracy is a count of that label's videos, and they add up to the overall accuracy
        right = [round(a * n) for a, n in zip(row["per_class"], counts) if n]
        assert [a for a, n in zip(row["per_class"], counts) if n] == pytest.approx([r / n for r, n in zip(right, counts) if n])
        assert row["accuracy"] == pytest.approx(sum(right) / sum(counts), rel=1e-6)  # float32 means
        assert _row(name, row["videos"], row["accuracy"], *row["per_class"]) in md
    assert _finite(res["frechet_projectnet"]["label-gan"])

    # The label-mode GAN becomes a bundled model folder whose card reports the table's accuracy per label.
    bundle = [sys.executable, str(BENCH / "bundle_model.py"), "--table", "table3_label", "--run", "label-gan",
              "--name", "lab-test", "--results", str(tmp_path / "results" / "smoke"), "--work", str(tmp_path / "work"),
              "--dest", str(tmp_path / "models")]
    proc = subprocess.run(bundle, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = tmp_path / "models" / "lab-test"
    card = (folder / "README.md").read_text()
    assert "## Does it follow the label?" in card and "--run label-gan" in card
    assert all(name in card for name in res["class_names"])
    labels = json.loads((folder / "checks.json").read_text())["labels"]
    assert [c["label"] for c in labels] == res["class_names"]
    # motion and diversity, recomputed from the bundled folder's own samples (K = 4, seed 0, [0, 1] pixels)
    from vgpred import VideoPredictor

    predictor = VideoPredictor.from_pretrained(folder, device="cpu")
    for c, check in enumerate(labels):
        videos = predictor(label=c, num_samples=4, seed=0).frames.float().flatten(1) / 2  # [-1, 1] -> [0, 1] units
        pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
        diversity = sum((videos[i] - videos[j]).abs().mean().item() for i, j in pairs) / len(pairs)
        assert check["diversity"] == pytest.approx(diversity, abs=1e-4)
        assert f"| {check['label']} | {check['motion']} | {check['diversity']} |" in card
    assert ("mode collapse" in card) == (max(c["diversity"] for c in labels) < 0.01)
    refused = subprocess.run([*bundle, "--photos", str(REPO / "assets" / "examples" / "fashion-digits.png")],
                             capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert refused.returncode != 0 and "a label-mode model takes no input frame" in refused.stderr


@pytest.mark.slow
def test_table4_representation_smoke(tmp_path):
    data = run_table("table4_representation.py", tmp_path)
    probe = data["results"]["probe"]
    assert set(probe) == {"trained discriminator", "random discriminator", "pixels (4x8x8 average)"}
    dims = data["results"]["dims"]
    assert dims["trained discriminator"] == dims["random discriminator"] > 0
    test_clips = data["settings"]["test_clips"]
    assert test_clips == _num_clips(tmp_path / "work" / "data" / "mfmnist1-test") == 20
    md = (tmp_path / "results" / "smoke" / "table4_representation.md").read_text()
    for name, row in probe.items():
        assert set(row) == {"20", "40"}
        for r in row.values():  # a count of the held-out clips classified right
            assert r["accuracy"] * test_clips == pytest.approx(round(r["accuracy"] * test_clips), abs=1e-6)
        assert _row(name, dims[name], row["20"]["accuracy"], row["40"]["accuracy"]) in md
    assert data["plot"] == "table4_representation.png"


@pytest.mark.slow
def test_table5_two_stream_smoke(tmp_path):
    data = run_table("table5_two_stream.py", tmp_path)
    models = data["results"]["models"]
    assert {"two-stream", "one-stream"} <= set(models)
    assert all(_finite(m["frechet_projectnet"]) for m in models.values())
    assert _finite(data["results"]["real_vs_real"])
    two, one = data["runs"]["two-stream"], data["runs"]["one-stream"]
    assert two["hash"] != one["hash"] and "model.two_stream=false" in one["overrides"]


def test_config_hash_covers_yaml_overrides_and_data(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        from common import config_hash
    finally:
        sys.path.remove(str(BENCH))
    yaml = REPO / "configs" / "bench-mfmnist.yaml"
    base = config_hash(yaml, ["loss=l1"])
    assert base == config_hash(yaml, ["loss=l1"]) and len(base) == 12
    assert base != config_hash(yaml, ["loss=gan"])
    assert base != config_hash(REPO / "configs" / "bench-scenes.yaml", ["loss=l1"])
    for name, seed in (("a", 0), ("b", 1)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.json").write_text(json.dumps({"settings": {"seed": seed}}))
    assert config_hash(yaml, [], tmp_path / "a") != config_hash(yaml, [], tmp_path / "b")


def test_training_seconds_adds_up_resumed_segments():
    sys.path.insert(0, str(BENCH))
    try:
        from common import training_seconds
    finally:
        sys.path.remove(str(BENCH))
    assert training_seconds([]) is None
    assert training_seconds([{"seconds": 5.0}, {"seconds": 10.0}]) == 10.0
    rows = [{"seconds": 5.0}, {"seconds": 10.0}, {"seconds": 3.0}, {"seconds": 7.0}, {"step": 1}]
    assert training_seconds(rows) == 17.0


def test_reports_name_paths_inside_the_repository_relative_to_it():
    sys.path.insert(0, str(BENCH))
    try:
        from common import repo_relative
    finally:
        sys.path.remove(str(BENCH))
    text = f"256 clips of {REPO / 'benchmarks' / 'work' / 'x'}; photo /elsewhere{REPO}/y.png"
    assert repo_relative(text) == f"256 clips of benchmarks/work/x; photo /elsewhere{REPO}/y.png"


def test_benchmarks_import_nothing_from_tests_or_experiments():
    """The tables and their helpers stand alone: no module of tests/ anywhere in benchmarks/, no experiment
    imported by a table script (experiments may import the tables' helpers, not the other way round)."""
    test_modules = {p.stem for p in (REPO / "tests").glob("*.py")}
    experiment_modules = {p.stem for p in EXPERIMENTS.rglob("*.py")}
    found = []
    for path in sorted(BENCH.rglob("*.py")):
        product = EXPERIMENTS not in path.parents
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                if top in test_modules or top == "tests" or (product and top in experiment_modules):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} imports {name}")
        assert '"tests"' not in path.read_text(), f"{path.relative_to(REPO)} puts tests/ on sys.path"
    assert found == []


def _run_gpu_variants(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """benchmarks/experiments/mfmnist-checkpoints/gpu_variants.sh on the CPU with tiny networks.

    The deadline is an hour: the runs end at the ``train.steps`` in ``EXTRA`` long before, so
    what the test checks does not depend on how fast the machine is.
    """
    import os

    tiny = ("model.width=0.0625 model.latent_dim=8 train.batch_size=4 train.num_workers=0 train.sample_every=0 "
            "train.bn_recalibrate=8 train.precision=fp32 ")
    env = {**os.environ, "ALLOW_CPU": "1", "PYTHON": sys.executable, "WORK": str(tmp_path / "work"), "CLIPS": "48",
           "IDX": str(FASHION_MNIST), **env, "EXTRA": tiny + env["EXTRA"]}
    proc = subprocess.run(["bash", str(EXPERIMENTS / "mfmnist-checkpoints" / "gpu_variants.sh"), str(tmp_path / "out"),
                           "3600"], cwd=REPO, env=env, capture_output=True, text=True, timeout=1800,
                          stdin=subprocess.DEVNULL)
    logs = "".join(f"\n== {log.name}\n" + log.read_text()[-1500:] for log in sorted((tmp_path / "work").glob("*.log")))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:] + logs
    return proc


@pytest.mark.slow
@pytest.mark.experiment
def test_mfmnist_variants_smoke_trains_or_scores_runs_made_elsewhere(tmp_path):
    data = run_table("experiments/mfmnist-variants/mfmnist_variants.py", tmp_path)
    names = ["b16", "b16-dw0.5", "b64", "b64-dw0.5"]
    assert set(data["runs"]) == set(names) and not any(r["reused"] for r in data["runs"].values())
    wins = data["results"]["wins_from_horizon_4"]
    assert set(wins) == set(names)
    models = data["results"]["evaluation"]["models"]
    copy = models["copy-first-frame"]["metrics"]
    md = (tmp_path / "results" / "smoke" / "mfmnist_variants.md").read_text()
    for name, counts in wins.items():  # smoke clips have 8 frames: horizons 4..7
        row = [name, data["runs"][name]["steps"], f"{models[name]['frame0']['psnr']:.2f}"]
        for metric in ("psnr", "ssim"):
            ours = models[name]["metrics"][metric]["best_of_k"]["per_horizon"][3:]
            base = copy[metric]["best_of_k"]["per_horizon"][3:]
            lost = [h for h, a, b in zip(range(4, 8), ours, base) if a <= b]  # recomputed from the evaluation
            assert counts[metric] == {"wins": 4 - len(lost), "horizons": 4, "lost_at": lost}
            row += [f"{4 - len(lost)} of 4", ", ".join(map(str, lost)) or "-"]
        assert _row(*row) in md
    import yaml

    d_width = {n: yaml.safe_load(Path(r["run"], "config.yaml").read_text())["model"]["d_width"] for n, r in data["runs"].items()}
    assert d_width == {"b16": 0.0, "b16-dw0.5": 0.5, "b64": 0.0, "b64-dw0.5": 0.5}
    # The same run folders, laid out as gpu_variants.sh leaves them, are scored with the same hashes.
    elsewhere = tmp_path / "elsewhere"
    for name, run in data["runs"].items():
        (elsewhere / name).mkdir(parents=True)
        Path(run["run"]).rename(elsewhere / name / Path(run["run"]).name)
    again = run_table("experiments/mfmnist-variants/mfmnist_variants.py", tmp_path, "--runs", str(elsewhere))
    assert again["config_hashes"] == data["config_hashes"]
    assert all(r["reused"] for r in again["runs"].values())
    assert again["settings"]["runs_trained_elsewhere"] == str(elsewhere)


@pytest.mark.slow
@pytest.mark.experiment
def test_gpu_variants_script_rounds_each_run_down_to_a_checkpoint_and_archives_it(tmp_path):
    """Without FROM: each run cut back to its last checkpoint at a multiple of ROUND, exported there, archived."""
    import tarfile

    import yaml

    # checkpoints every 2 steps (the last two kept), runs end at step 6: ROUND=4 keeps the checkpoint of step 4
    _run_gpu_variants(tmp_path, VARIANTS="b16 b64-dw0.5", ROUND="4",
                      EXTRA="train.checkpoint_every=2 train.log_every=1 train.steps=6")
    for variant, d_width in (("b16", 0.0), ("b64-dw0.5", 0.5)):
        with tarfile.open(tmp_path / "out" / f"{variant}.tgz") as tar:
            tar.extractall(tmp_path / "runs", filter="data")
        run = next((tmp_path / "runs" / variant).glob("0*"))
        cfg = yaml.safe_load((run / "config.yaml").read_text())
        assert cfg["train"]["steps"] == 4  # rounded down from 6 to the checkpoint at a multiple of ROUND
        assert cfg["model"]["d_width"] == d_width and cfg["train"]["batch_size"] == 4  # EXTRA after the variant
        assert (run / "export" / "config.json").is_file() and not (run / "checkpoints").exists()
        assert "finished its train.steps at step 6; kept the checkpoint of step 4" in (run / "log.txt").read_text()
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert max(r["step"] for r in rows if "step" in r) == 4  # the rows of steps 5 and 6 dropped
        # the archived export is step 4's model, not the one the run exported when it ended at step 6
        assert json.loads((run / "export" / "config.json").read_text())["info"]["steps"] == 4


@pytest.mark.slow
@pytest.mark.experiment
def test_gpu_variants_script_scores_every_variants_checkpoints_with_from(tmp_path):
    """FROM=N: checkpoints kept, all variants' checkpoints from step N scored on validation clips, the chosen archived."""
    import tarfile

    import yaml

    # the runs end at train.steps=12 (after the script's own): checkpoints 4, 8 and 12, FROM 8
    _run_gpu_variants(tmp_path, VARIANTS="b64 b64-rep", ROUND="4", FROM="8", JOBS="2", VAL_CLIPS="4",
                      EXTRA="train.steps=12")
    data = json.loads((tmp_path / "out" / "mfmnist_checkpoints.json").read_text())
    names = list(data["results"]["scores"])
    assert sorted(names) == ["b64-rep-step-12", "b64-rep-step-8", "b64-step-12", "b64-step-8"]
    assert data["settings"]["val_clips"] == 4 and data["settings"]["from_step"] == 8
    assert "model.time_padding=replicate" in data["runs"]["b64-rep"]["overrides"]  # the run's own config, read back
    assert "model.time_padding=replicate" not in data["runs"]["b64"]["overrides"]
    with tarfile.open(tmp_path / "out" / "chosen.tgz") as tar:
        tar.extractall(tmp_path / "chosen", filter="data")
    run = next((tmp_path / "chosen").glob("0*"))
    chosen = data["results"]["chosen"]
    assert Path(data["results"]["folders"][chosen]).name == run.name
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["train"]["steps"] == int(chosen.rsplit("-", 1)[1])
    assert json.loads((run / "export" / "config.json").read_text())["info"]["steps"] == cfg["train"]["steps"]
    assert cfg["model"]["time_padding"] == ("replicate" if chosen.startswith("b64-rep-") else "zeros")
    assert (run / "export" / "model.safetensors").is_file() and not (run / "checkpoints").exists()


@pytest.mark.slow
@pytest.mark.experiment
def test_mfmnist_checkpoints_smoke_scores_each_checkpoint_on_validation_clips(tmp_path):
    """Each checkpoint is exported as a run of that many steps and scored on clips that are not table 1's."""
    import hashlib

    import yaml

    script = "experiments/mfmnist-checkpoints/mfmnist_checkpoints.py"
    data = run_table(script, tmp_path)
    models = data["results"]["evaluation"]["models"]
    assert set(models) == {"copy-first-frame", "step-2", "step-4"}
    scores = data["results"]["scores"]
    assert set(scores) == {"step-2", "step-4"} and data["results"]["chosen"] in scores
    for sc in scores.values():  # smoke clips have 8 frames: horizons 4..7
        assert all(sc[m]["wins"] + len(sc[m]["lost_at"]) == sc[m]["horizons"] == 4 for m in ("psnr", "ssim"))
    val = json.loads((tmp_path / "work" / "data" / "mfmnist2-val8" / "index.json").read_text())["settings"]
    train = json.loads((tmp_path / "work" / "data" / "mfmnist2-train" / "index.json").read_text())["settings"]
    assert val["split"] == train["split"] == "train" and val["seed"] == data["seed"] + 2 != train["seed"]
    source = Path(data["runs"]["run"]["run"])
    assert sorted(p.name for p in (source / "checkpoints").iterdir()) == ["step-0000002", "step-0000004"]  # untouched

    def weights(folder: Path) -> str:
        return hashlib.sha256((folder / "export" / "model.safetensors").read_bytes()).hexdigest()

    copies = {step: next((tmp_path / "work" / "steps" / f"step-{step}").glob("0*")) for step in (2, 4)}
    for step, copy in copies.items():
        assert yaml.safe_load((copy / "config.yaml").read_text())["train"]["steps"] == step
        assert max(json.loads(line)["step"] for line in (copy / "metrics.jsonl").read_text().splitlines()) <= step
    # Cut back to the last checkpoint, the copy exports exactly the run's own model; an earlier one differs.
    assert weights(copies[4]) == weights(source) != weights(copies[2])
    # The same run given with --run is scored the same (its exports are reused), beside a model folder to compare.
    again = run_table(script, tmp_path, "--run", str(source), "--steps", "4,2", "--compare", str(source / "export"))
    assert again["results"]["scores"]["step-2"] == scores["step-2"] and again["settings"]["steps"] == [4, 2]
    assert list(again["results"]["scores"]) == ["step-4", "step-2", "export"]
    assert again["results"]["scores"]["export"] == again["results"]["scores"]["step-4"]  # the same weights


@pytest.mark.experiment
def test_mfmnist_checkpoints_rule_counts_both_metrics_then_ssim_then_the_earlier_candidate():
    sys.path.insert(0, str(EXPERIMENTS / "mfmnist-checkpoints"))
    try:
        from mfmnist_checkpoints import choose
        from round_run import keep_checkpoint
    finally:
        sys.path.remove(str(EXPERIMENTS / "mfmnist-checkpoints"))

    def model(psnr, ssim):
        return {"frame0": {"psnr": 30.0}, "metrics": {"psnr": {"best_of_k": {"per_horizon": psnr}},
                                                      "ssim": {"best_of_k": {"per_horizon": ssim}}}}

    copy = model([5.0] * 6, [0.5] * 6)
    result = {"models": {"copy-first-frame": copy,
                         "a": model([1, 1, 1, 6, 6, 6], [0, 0, 0, 0.6, 0.6, 0.4]),   # 3 + 2 wins
                         "b": model([9, 9, 9, 4, 6, 6], [0, 0, 0, 0.7, 0.7, 0.7]),   # 2 + 3 wins, higher SSIM
                         "c": model([9, 9, 9, 6, 6, 6], [0, 0, 0, 0.4, 0.4, 0.4])}}  # 3 + 0 wins
    chosen, scores = choose(result, ["a", "b", "c"])
    assert chosen == "b" and scores["a"]["ssim"]["lost_at"] == [6] and scores["c"]["ssim"]["wins"] == 0
    result["models"]["a2"] = result["models"]["b"]
    assert choose(result, ["c", "a2", "b"])[0] == "a2"  # a tie goes to the earlier candidate
    with pytest.raises(SystemExit, match="no checkpoint of step 7"):
        keep_checkpoint(Path("/nonexistent-run"), 7, "test")


def test_rollout_photos_quick_composed_rollouts_stay_sharper(tmp_path):
    """benchmarks/rollout_photos.py on the bundled mfmnist-motion: composing each piece's flow with the
    one before reads the photo once, so the rolled-out video keeps more of its sharpness than re-sampling."""
    proc = subprocess.run([sys.executable, str(BENCH / "rollout_photos.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "rollout_photos-quick.json").read_text())
    assert "reproduce with: python benchmarks/rollout_photos.py --quick" in proc.stdout
    (row,) = data["rows"]
    assert row["model"] == "mfmnist-motion" and row["frames"] == 32
    composed, resampled = row["composed"], row["re-sampled"]
    assert len(composed["sharpness_per_frame"]) == 32
    assert composed["sharpness_last_over_first_predicted"] > resampled["sharpness_last_over_first_predicted"]
    assert composed["seam_ratio"] < 1.5 and composed["mean_step_per_frame"] > 0.01
    assert "| mfmnist-motion | fashion-digits.png |" in (tmp_path / "rollout_photos-quick.md").read_text()


@pytest.mark.experiment
def test_motion_sweep_trains_scores_and_chooses_by_its_rule(tmp_path):
    """benchmarks/experiments/motion-sweep/run.sh with SMOKE=1 (3-step runs), then select.py's rule on
    reports edited so that exactly one variant clears every bar."""
    import os

    sweep = EXPERIMENTS / "motion-sweep"
    results = tmp_path / "results"
    proc = subprocess.run(["bash", str(sweep / "run.sh"), str(FASHION_MNIST), str(tmp_path / "work"), str(results)],
                          cwd=REPO, env={**os.environ, "SMOKE": "1", "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=1800, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    selection = json.loads((results / "selection.json").read_text())
    names = {v["name"] for v in selection["variants"]}
    assert names == {"base", "kl0.1", "decay0.85", "flow2", "flow2-kl0.1", "flow2-kl1", "flow2-decay0.85",
                     "flow2-kl0.1-decay0.85", "vel0.25"}
    assert all(v["steps"] == 3 for v in selection["variants"])
    assert (results / "runs" / "flow2" / "export" / "model.safetensors").is_file()
    assert "max_flow: 2" in (results / "runs" / "flow2" / "config.yaml").read_text()
    assert "video_l1_decay: 0.85" in (results / "runs" / "decay0.85" / "config.yaml").read_text()
    assert "flow_param: velocity" in (results / "runs" / "vel0.25" / "config.yaml").read_text()

    def edit(name: str, ssim: float, diversity: float) -> None:  # every horizon's best-of-10 SSIM set to ssim
        path = results / f"val-{name}.json"
        report = json.loads(path.read_text())
        model = report["models"]["export"]
        model["metrics"]["ssim"]["best_of_k"]["per_horizon"] = [ssim] * 15
        model["diversity"] = diversity * report["data"]["motion"]
        model["statistics"]["sharpness"]["per_horizon"][-1] = 1.0
        path.write_text(json.dumps(report))

    edit("flow2", 0.99, 0.5)  # above everything, diverse
    edit("kl0.1", 1.0, 0.1)  # higher still, but its futures do not differ enough: does not qualify
    out = subprocess.run([sys.executable, str(sweep / "select.py"), str(results)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    chosen = json.loads((results / "selection.json").read_text())
    assert chosen["chosen"] == "flow2", out.stdout
    rows = {v["name"]: v for v in chosen["variants"]}
    assert rows["flow2"]["horizons_above"] == 15 and not rows["kl0.1"]["qualifies"]


def _overlapping_cache(path: Path, video_frames: list[int], frames: int = 8, size: int = 8, hop: int = 2) -> None:
    """A clip cache of several random 'videos', each cut into overlapping clips as ``data prepare --hop`` does."""
    import numpy as np

    from vgpred.data.cache import ShardWriter

    rng = np.random.default_rng(0)
    writer = ShardWriter(path, frames, size, 3, 1000)
    for n in video_frames:
        video = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        for start in range(0, n - frames + 1, hop):
            writer.add(video[start:start + frames], -1)
    writer.finish([], "synthetic videos", {"kind": "test"})


def test_scenes_sweep_split_holds_out_whole_videos_and_a_tail(tmp_path):
    """benchmarks/experiments/scenes-sweep/split.py finds the videos of an overlapping cache from the clips
    themselves, validates on all of one video and the last quarter of another, and fits on the rest, no
    frame in both."""
    from vgpred.data import open_dataset

    cache = tmp_path / "train"
    _overlapping_cache(cache, [20, 18, 30, 12, 40])  # 7, 6, 12, 3 and 17 clips
    proc = subprocess.run([sys.executable, str(EXPERIMENTS / "scenes-sweep" / "split.py"), str(cache),
                           str(tmp_path / "split")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    info = json.loads((tmp_path / "split" / "split.json").read_text())
    assert [v["clips"] for v in info["videos"]] == [7, 6, 12, 3, 17] and info["hop"] == 2
    # video 1 whole (clips 7 .. 12, every second: 3); video 4's 40 frames cut at 30: clips starting at 30 and 32
    # (every second: 1); fitting: videos 0, 2, 3 and video 4's clips that end by frame 30 (starts 0 .. 22: 12 clips)
    assert info["val"] == [7, 9, 11, 43] and info["fit_clips"] == 7 + 12 + 3 + 12
    source = open_dataset(cache)
    fit, val = open_dataset(tmp_path / "split" / "fit"), open_dataset(tmp_path / "split" / "val")
    assert len(fit) == 34 and len(val) == 4
    assert (val.uint8(0) == source.uint8(7)).all() and (val.uint8(3) == source.uint8(43)).all()
    fit_frames = {f.tobytes() for i in range(len(fit)) for f in fit.uint8(i)}
    assert not any(f.tobytes() in fit_frames for i in range(len(val)) for f in val.uint8(i))
    again = subprocess.run([sys.executable, str(EXPERIMENTS / "scenes-sweep" / "split.py"), str(cache),
                            str(tmp_path / "split")], capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "exists already" in again.stderr


@pytest.mark.experiment
def test_scenes_sweep_trains_twins_scores_and_chooses_by_its_rule(tmp_path):
    """benchmarks/experiments/scenes-sweep/run.sh with SMOKE=1 (2-step runs) on a synthetic overlapping
    cache, then choose.py's rule on reports edited so that exactly one (variant, scale) clears every bar."""
    import os

    cache = tmp_path / "train"
    _overlapping_cache(cache, [40, 36, 50, 30, 80], frames=16, size=64)
    sweep, results = EXPERIMENTS / "scenes-sweep", tmp_path / "results"
    proc = subprocess.run(["bash", str(sweep / "run.sh"), str(cache), str(tmp_path / "work"), str(results)],
                          cwd=REPO, env={**os.environ, "SMOKE": "1", "SMOKE_STEPS": "2", "SCALES": "1 2",
                                         "EVAL_JOBS": "2", "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    variants = {"base", "s1", "z8", "l1x2", "crop0.3", "div0.03"}
    for name in variants:
        assert (results / "runs" / f"full-{name}" / "export" / "model.safetensors").is_file()
        assert not (results / "runs" / f"fit-{name}" / "export").exists()  # only the whole-cache twin is kept
    assert "crop: 0.3" in (results / "runs" / "full-crop0.3" / "config.yaml").read_text()
    assert "latent_dim: 8" in (results / "runs" / "fit-z8" / "config.yaml").read_text()
    assert json.loads((results / "runs" / "full-base" / "run.json").read_text())["data"] == str(cache)

    def edit(name: str, psnr: float, diversity: float) -> None:  # at or above copy everywhere, best-of-10 PSNR set
        path = results / f"{name}.json"
        report = json.loads(path.read_text())
        model = next(m for n, m in report["models"].items() if n not in ("copy-first-frame", "regressor"))
        for metric, value in (("psnr", psnr), ("ssim", 1.0)):
            model["metrics"][metric]["best_of_k"]["per_horizon"] = [value] * 15
            model["metrics"][metric]["best_of_k"]["average"] = value
        model["diversity"] = diversity * report["data"]["motion"]
        model["statistics"]["sharpness"]["per_horizon"][-1] = 1.0
        path.write_text(json.dumps(report))

    edit("val-l1x2-scale2", 90.0, 0.5)
    edit("val-z8-scale1", 99.0, 0.1)  # higher PSNR, but its futures do not differ enough: does not qualify
    out = subprocess.run([sys.executable, str(sweep / "choose.py"), str(results)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    chosen = json.loads((results / "selection.json").read_text())
    assert chosen["chosen"] == {"variant": "l1x2", "scale": 2.0}, out.stdout
    rows = {(r["variant"], r["scale"]): r for r in chosen["rows"]}
    assert len(rows) == 12 and not rows[("z8", 1.0)]["qualifies"] and rows[("l1x2", 2.0)]["steps_full"] == 2
    assert "| l1x2 (chosen) | 2 |" in (results / "selection.md").read_text()

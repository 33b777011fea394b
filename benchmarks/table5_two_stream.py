"""Table 5: the paper's ablation, a two-stream generator against one stream.

Chain: ``vgpred data moving-mnist --digits 1``, two unconditional runs of
``vgpred train --config configs/bench-two-stream.yaml`` that differ only in
``model.two_stream`` (true: foreground, mask and static background; false: one 3-D
stream), vgpred's ``VideoFeatureNet`` classifier trained on the real training
clips (Python API), then one ``vgpred evaluate --feature-net`` of both models on
held-out clips: ``frechet_projectnet``, the Frechet distance in that classifier's
feature space (not FVD), and motion. Two references: the distance between two
real sets (training vs held-out clips: the floor) and that of the held-still
first frames (``copy-first-frame``: no motion at all).

    python benchmarks/table5_two_stream.py --scale smoke   # ~1 minute, tiny sizes
    python benchmarks/table5_two_stream.py --scale full    # ~12 minutes on 2 CPU cores
"""
from __future__ import annotations

import json

from common import Benchmark, load_clips, markdown_table, parse_args, train_classifier

TABLE = "table5_two_stream"
TITLE = "Table 5: two-stream vs one-stream generator (unconditional, Moving Fashion-MNIST)"
SCALES = {
    "full": dict(size=32, frames=16, train_clips=10000, test_clips=1000, classifier_clips=10000,
                 classifier_epochs=4, gan_steps=None),
    "smoke": dict(size=32, frames=8, train_clips=64, test_clips=16, classifier_clips=64,
                  classifier_epochs=1, gan_steps=4),
}


def main(argv: list[str] | None = None) -> None:
    from vgpred.metrics.features import frechet_projectnet

    args = parse_args(TABLE, __doc__.splitlines()[0], argv)
    bench = Benchmark(TABLE, TITLE, args)
    s = SCALES[args.scale]
    train = bench.moving_mnist("mfmnist1-train", 1, s["train_clips"], "train", s["size"], s["frames"])
    test = bench.moving_mnist("mfmnist1-test", 1, s["test_clips"], "test", s["size"], s["frames"])
    net, net_dir = train_classifier(bench, train, s["classifier_clips"], s["classifier_epochs"])
    two = bench.train("two-stream", "bench-two-stream", "unconditional", train, s["gan_steps"])
    one = bench.train("one-stream", "bench-two-stream", "unconditional", train, s["gan_steps"],
                      ["model.two_stream=false"])

    json_path = bench.work / "eval" / "two-stream.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    bench.vgpred("evaluate", "-c", bench.model_folder(two), "--baseline", bench.model_folder(one),
                 "--data", test, "--feature-net", net_dir, "--metrics", "frechet_projectnet",
                 "--seed", args.seed, "--json", json_path, "--no-progress", log="evaluate")
    evaluation = json.loads(json_path.read_text())
    n = evaluation["settings"]["num_clips"]
    real_test, _ = load_clips(test, 0, n)
    real_train, _ = load_clips(train, 0, n)  # the first n training clips
    floor = frechet_projectnet(net, real_train, real_test).value

    rows, results = [], {"models": {}, "real_vs_real": floor, "classifier": str(net_dir), "evaluation": evaluation}
    for name, m in evaluation["models"].items():
        value = m["distributional"]["frechet_projectnet"]["value"]
        results["models"][name] = {"frechet_projectnet": value, "motion": m["motion"]}
        rows.append([name, value, m["motion"]])
    rows.append([f"real training clips (floor, {n} clips)", floor, ""])
    body = (
        f"Unconditional VideoGANs trained for {two.steps} steps each on 1-digit Moving Fashion-MNIST; "
        f"{n} generated videos per model against {n} held-out real clips (Fashion-MNIST test split). "
        "frechet_projectnet: Frechet distance of the features of vgpred's own VideoFeatureNet classifier "
        f"trained on the training clips (not FVD; comparable only within this table). Motion: mean |last "
        f"frame - first frame| on [0, 1] pixels (real held-out clips: {evaluation['data']['motion']:.4g}).\n\n"
        + markdown_table(["model", "frechet_projectnet ↓", "motion"], rows)
    )
    bench.finish(settings={**s, "train_data": str(train), "test_data": str(test)}, results=results, body=body)


if __name__ == "__main__":
    main()

"""Table 3: label-conditioned generation, scored by an independently trained classifier.

Chain: ``vgpred data moving-mnist --digits 1`` (the clip's label is its garment
class; train split for training, test split held out), vgpred's ``VideoFeatureNet``
trained as a classifier on real training clips (Python API:
``vgpred.metrics.features.train_feature_net``), ``vgpred train --mode label
--config configs/bench-label.yaml``, then: videos generated for each requested
label (``VideoPredictor``) are classified; the class-conditional accuracy is
compared with the classifier's accuracy on real held-out clips (the reference)
and with chance. ``vgpred evaluate --feature-net`` adds ``frechet_projectnet``
(the Frechet distance in that classifier's feature space; not FVD).

    python benchmarks/table3_label.py --scale smoke   # ~1 minute, tiny sizes
    python benchmarks/table3_label.py --scale full    # ~18 minutes per 10000 training steps on 2 CPU cores
"""
from __future__ import annotations

import json

from common import Benchmark, classify, load_clips, markdown_table, parse_args, train_classifier

TABLE = "table3_label"
TITLE = "Table 3: label-conditioned generation, accuracy of an independent classifier"
SCALES = {
    "full": dict(size=32, frames=16, train_clips=10000, test_clips=1000, classifier_clips=10000,
                 classifier_epochs=4, per_class=100, gan_steps=None),
    "smoke": dict(size=32, frames=8, train_clips=64, test_clips=40, classifier_clips=64,
                  classifier_epochs=1, per_class=4, gan_steps=4),
}


def generate_per_label(export, num_classes: int, per_class: int, seed: int):
    """``per_class`` videos for each label, ``(num_classes * per_class, C, T, H, W)``, and the labels."""
    import torch

    from vgpred import VideoPredictor

    predictor = VideoPredictor.from_pretrained(export)
    videos = [predictor(label=c, num_samples=per_class, seed=seed * 1000 + c).frames.float().cpu()
              for c in range(num_classes)]
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    return torch.cat(videos), labels


def per_class_accuracy(predicted, labels, num_classes: int) -> list[float | None]:
    return [float((predicted[labels == c] == c).float().mean()) if (labels == c).any() else None
            for c in range(num_classes)]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(TABLE, __doc__.splitlines()[0], argv)
    bench = Benchmark(TABLE, TITLE, args)
    s = SCALES[args.scale]
    train = bench.moving_mnist("mfmnist1-train", 1, s["train_clips"], "train", s["size"], s["frames"])
    test = bench.moving_mnist("mfmnist1-test", 1, s["test_clips"], "test", s["size"], s["frames"])
    net, net_dir = train_classifier(bench, train, s["classifier_clips"], s["classifier_epochs"])
    names = json.loads((train / "index.json").read_text())["class_names"]
    n = len(names)

    real, real_labels = load_clips(test, 0, s["test_clips"])
    real_pred = classify(net, real)
    gan = bench.train("label-gan", "bench-label", "label", train, s["gan_steps"])
    model = bench.model_folder(gan)
    fake, fake_labels = generate_per_label(model, n, s["per_class"], args.seed)
    fake_pred = classify(net, fake)

    json_path = bench.work / "eval" / "label.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    bench.vgpred("evaluate", "-c", model, "--data", test, "--feature-net", net_dir, "--metrics", "frechet_projectnet",
                 "--seed", args.seed, "--json", json_path, "--no-progress", log="evaluate")
    evaluation = json.loads(json_path.read_text())
    frechet = {name: m["distributional"].get("frechet_projectnet", {}).get("value")
               for name, m in evaluation["models"].items()}

    rows = {
        "real held-out clips (reference)": (real_pred, real_labels),
        "label-gan: generated for the requested label": (fake_pred, fake_labels),
    }
    results = {"class_names": names, "chance": 1 / n, "rows": {}, "frechet_projectnet": frechet,
               "classifier": str(net_dir), "evaluation": evaluation}
    table = []
    for name, (pred, labels) in rows.items():
        acc = float((pred == labels).float().mean())
        per_class = per_class_accuracy(pred, labels, n)
        results["rows"][name] = {"accuracy": acc, "per_class": per_class, "videos": len(labels)}
        table.append([name, len(labels), acc, *per_class])
    table.append(["chance", "", 1 / n, *([1 / n] * n)])
    body = (
        f"Accuracy of vgpred's VideoFeatureNet (trained on {s['classifier_clips']} real 1-digit training clips, "
        f"{s['classifier_epochs']} epochs) on real clips of the Fashion-MNIST test split and on "
        f"{s['per_class']} videos generated per requested label by the label-mode VideoGAN.\n\n"
        + markdown_table(["videos", "N", "accuracy", *names], table)
        + "\nFrechet distance to the held-out clips in the classifier's feature space (frechet_projectnet, "
        "not FVD; `copy-first-frame` is the real clips' frame 0 held still):\n\n"
        + markdown_table(["model", "frechet_projectnet ↓"], [[k, v] for k, v in frechet.items()])
    )
    bench.finish(settings={**s, "train_data": str(train), "test_data": str(test)}, results=results, body=body)


if __name__ == "__main__":
    main()

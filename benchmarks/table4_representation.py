"""Table 4: the paper's representation experiment in kind: a linear probe on discriminator features.

Chain: ``vgpred data moving-mnist --digits 1`` (labels: the garment class), an
unconditional ``vgpred train --config configs/bench-representation.yaml`` (labels
unused), then the discriminator of the final checkpoint and a randomly initialised
one of the same architecture each map a clip to features (every block's maps,
average-pooled to 1x2x2 and joined); a multinomial logistic regression (torch,
L-BFGS, L2 strength chosen on a validation fifth of the training clips) is trained
on labelled training clips and tested on held-out clips of the test split, for a
few training-set sizes. Raw pixels (average-pooled to 4x8x8) are a third reference.

    python benchmarks/table4_representation.py --scale smoke   # ~1 minute, tiny sizes
    python benchmarks/table4_representation.py --scale full    # ~12 minutes on 2 CPU cores

``--discriminator DIR`` probes a discriminator folder written by ``vgpred convert torch7
--discriminator`` (the authors' released one) instead of training a GAN: the clips are
made at its size (grayscale repeated over its colour channels), the random baseline has
its architecture, and the results go to ``table4_representation_torch7.*``.
"""
from __future__ import annotations

import json
from pathlib import Path

from common import Benchmark, load_clips, markdown_table, parse_args

TABLE = "table4_representation"
TITLE = "Table 4: linear probe on discriminator features (learned vs random)"
SCALES = {
    "full": dict(size=32, frames=16, train_clips=10000, probe_sizes=[100, 1000, 5000], test_clips=2000,
                 lbfgs_iterations=100, gan_steps=None),
    "smoke": dict(size=32, frames=8, train_clips=64, probe_sizes=[20, 40], test_clips=20,
                  lbfgs_iterations=10, gan_steps=4),
}
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


def load_discriminator(run: Path, trained: bool, seed: int):
    """The discriminator of ``run``'s latest checkpoint, or (trained=False) a fresh one; eval mode."""
    import torch

    from vgpred.config import build_config
    from vgpred.models.videogan import build_discriminator
    from vgpred.train.checkpoint import list_checkpoints, load_checkpoint

    cfg = build_config(run / "config.yaml")
    torch.manual_seed(seed)
    disc = build_discriminator(cfg.model)
    if trained:
        tensors, _ = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
        prefix = "discriminator/"
        disc.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    return disc.eval()


def converted_discriminators(folder: Path, seed: int):
    """A converted discriminator folder's network and a randomly initialised one of its architecture; eval mode."""
    import torch

    from vgpred.errors import VgpredError
    from vgpred.modelfile import load_discriminator
    from vgpred.models.videogan import build_discriminator

    try:
        disc, cfg = load_discriminator(folder)
    except VgpredError as err:
        raise SystemExit(f"[{TABLE}] --discriminator: {err}") from None
    torch.manual_seed(seed)
    return disc, build_discriminator(cfg).eval(), cfg


def d_features(disc, clips, batch_size: int = 64):
    """``(N, C, T, H, W)`` -> ``(N, F)``: every block's maps average-pooled to 1x2x2, joined.

    Grayscale clips are repeated over the colour channels of a discriminator that takes three."""
    import torch
    import torch.nn.functional as F

    channels = disc.blocks[0][0].in_channels
    out = []
    with torch.inference_mode():
        for i in range(0, len(clips), batch_size):
            batch = clips[i:i + batch_size]
            maps = disc.features(batch.expand(-1, channels, -1, -1, -1) if batch.shape[1] != channels else batch)
            out.append(torch.cat([F.adaptive_avg_pool3d(m.float(), (1, 2, 2)).flatten(1) for m in maps], 1))
    return torch.cat(out)


def pixel_features(clips):
    import torch.nn.functional as F

    return F.adaptive_avg_pool3d(clips, (4, 8, 8)).flatten(1)


def fit_logistic(x, y, num_classes: int, l2: float, iterations: int = 100):
    """Multinomial logistic regression on standardised features; returns a predict function."""
    import torch

    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    xs = (x - mean) / std
    w = torch.zeros(x.shape[1], num_classes, requires_grad=True)
    b = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xs @ w + b, y) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda z: (((z - mean) / std) @ w.detach() + b.detach()).argmax(1)


def probe(x_train, y_train, x_test, y_test, num_classes: int, iterations: int) -> dict:
    """Pick the L2 strength on the last fifth of the training clips, refit on all, test."""
    cut = max(1, len(x_train) * 4 // 5)
    scores = {}
    for l2 in L2_GRID:
        predict = fit_logistic(x_train[:cut], y_train[:cut], num_classes, l2, iterations)
        scores[l2] = float((predict(x_train[cut:]) == y_train[cut:]).float().mean())
    best = max(L2_GRID, key=lambda l2: (scores[l2], l2))
    predict = fit_logistic(x_train, y_train, num_classes, best, iterations)
    return {"accuracy": float((predict(x_test) == y_test).float().mean()), "l2": best, "validation": scores}


def plot(results: dict, sizes: list[int], chance: float):
    def draw(path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.5, 4), layout="constrained")
        ax = fig.subplots()
        for name, row in results.items():
            ax.plot(sizes, [row[str(n)]["accuracy"] for n in sizes], marker="o", label=name)
        ax.axhline(chance, color="gray", linestyle=":", label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("labelled training clips")
        ax.set_ylabel("test accuracy")
        ax.set_title("linear probe accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.savefig(path, format="png", dpi=100)

    return draw


def main(argv: list[str] | None = None) -> None:
    import torch

    def options(parser) -> None:
        parser.add_argument("--discriminator", type=Path, default=None, metavar="DIR",
                            help="probe this discriminator folder (from `vgpred convert torch7 --discriminator`: the "
                                 "authors' released one) instead of training a GAN; clips are made at its size and "
                                 "results go to table4_representation_torch7.*")

    args = parse_args(TABLE, __doc__.splitlines()[0], argv, extra=options)
    s = dict(SCALES[args.scale])
    if args.discriminator is not None:
        trained, random, cfg = converted_discriminators(args.discriminator, args.seed)
        s.update(size=cfg.resolution, frames=cfg.frames, gan_steps=None)
        bench = Benchmark(f"{TABLE}_torch7", f"{TITLE}: a converted discriminator", args)
        suffix = f"-{cfg.resolution}x{cfg.frames}"
    else:
        bench, suffix = Benchmark(TABLE, TITLE, args), ""
    train = bench.moving_mnist(f"mfmnist1-train{suffix}", 1, s["train_clips"], "train", s["size"], s["frames"])
    test = bench.moving_mnist(f"mfmnist1-test{suffix}", 1, s["test_clips"], "test", s["size"], s["frames"])
    names = json.loads((train / "index.json").read_text())["class_names"]
    if args.discriminator is None:
        gan = bench.train("gan", "bench-representation", "unconditional", train, s["gan_steps"])
        trained, random = load_discriminator(gan.path, True, args.seed), load_discriminator(gan.path, False, args.seed)
        about = f"The GAN was trained without labels for {gan.steps} steps."
    else:
        info = json.loads((args.discriminator / "config.json").read_text()).get("info", {})
        source = info.get("source", {})
        about = (f"The trained discriminator is `{args.discriminator}` (converted from `{source.get('file')}`, "
                 f"sha256 `{source.get('sha256')}`; not trained here); the clips are made at its size, "
                 f"{cfg.resolution}x{cfg.resolution}x{cfg.frames}, and repeated over its {cfg.channels} channels.")

    sizes = s["probe_sizes"]
    x_train, y_train = load_clips(train, 0, max(sizes))
    x_test, y_test = load_clips(test, 0, s["test_clips"])
    torch.manual_seed(args.seed)
    order = torch.randperm(len(x_train))  # nested subsets: the first n of one shuffled order
    x_train, y_train = x_train[order], y_train[order]
    extractors = {
        "trained discriminator": lambda v: d_features(trained, v),
        "random discriminator": lambda v: d_features(random, v),
        "pixels (4x8x8 average)": pixel_features,
    }
    results, dims = {}, {}
    for name, extract in extractors.items():
        bench.log(f"probing {name}")
        f_train, f_test = extract(x_train), extract(x_test)
        dims[name] = int(f_train.shape[1])
        results[name] = {str(n): probe(f_train[:n], y_train[:n], f_test, y_test, len(names), s["lbfgs_iterations"])
                         for n in sizes}
    chance = 1 / len(names)
    table = [[name, dims[name], *(results[name][str(n)]["accuracy"] for n in sizes)] for name in results]
    table.append(["chance", "", *([chance] * len(sizes))])
    body = (
        f"Test accuracy of a linear classifier (multinomial logistic regression) on {len(x_test)} held-out "
        f"1-digit clips (Fashion-MNIST test split, {len(names)} classes), trained on n labelled training clips. "
        f"{about}\n\n"
        + markdown_table(["features", "dims", *(f"n = {n}" for n in sizes)], table)
    )
    settings = {**s, "train_data": str(train), "test_data": str(test), "l2_grid": list(L2_GRID)}
    if args.discriminator is not None:
        settings["discriminator"] = str(args.discriminator)
    bench.finish(settings=settings,
                 results={"probe": results, "dims": dims, "chance": chance, "class_names": names},
                 body=body, plot=plot(results, sizes, chance))


if __name__ == "__main__":
    main()

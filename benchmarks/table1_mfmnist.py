"""Table 1: image-to-video on Moving Fashion-MNIST (1 frame in, 15 frames out).

Chain: ``vgpred data moving-mnist`` (2 digits, 64x64, 16 frames; digits of the
Fashion-MNIST train split for training, of the test split for the held-out clips),
``vgpred train --mode image --config configs/bench-mfmnist.yaml`` (the VideoGAN),
the same with ``loss=l1`` (the deterministic regressor: latent_dim 0, no
discriminator), then one ``vgpred evaluate`` of both with the copy-first-frame
baseline: per-horizon PSNR/SSIM/MAE, best-of-K and mean-of-K.

The full-scale GAN is the bundled model ``mfmnist-64`` (its folder:
``<work>/models/gan``).

    python benchmarks/table1_mfmnist.py --scale smoke   # ~1 minute, tiny sizes
    python benchmarks/table1_mfmnist.py --scale full    # GAN ~2.2 h on one CPU thread (~6 min on a GPU),
                                                        # regressor ~25 min, evaluation ~5 min
"""
from __future__ import annotations

from common import Benchmark, evaluate_image_to_video, parse_args

TABLE = "table1_mfmnist"
TITLE = "Table 1: image-to-video on Moving Fashion-MNIST (1 frame in, 15 frames out)"
SCALES = {
    # steps None: the YAML's train.steps (the recipe of the bundled model)
    "full": dict(size=64, frames=16, train_clips=8000, test_clips=512, eval_clips=256, k=10,
                 gan_steps=None, regressor_steps=2000),
    "smoke": dict(size=32, frames=8, train_clips=32, test_clips=8, eval_clips=8, k=2,
                  gan_steps=4, regressor_steps=4),
}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(TABLE, __doc__.splitlines()[0], argv)
    bench = Benchmark(TABLE, TITLE, args)
    s = SCALES[args.scale]
    train = bench.moving_mnist("mfmnist2-train", 2, s["train_clips"], "train", s["size"], s["frames"])
    test = bench.moving_mnist("mfmnist2-test", 2, s["test_clips"], "test", s["size"], s["frames"])
    gan = bench.train("gan", "bench-mfmnist", "image", train, s["gan_steps"])
    regressor = bench.train("regressor", "bench-mfmnist", "image", train, s["regressor_steps"], ["loss=l1"])
    result, body, plot = evaluate_image_to_video(bench, [gan, regressor], test, s["k"], s["eval_clips"])
    intro = (
        f"Condition on frame 0 of {result['settings']['num_clips']} held-out clips (2 digits from the "
        f"Fashion-MNIST test split), predict frames 1 .. {s['frames'] - 1}; `gan` is the image-mode VideoGAN "
        f"(K = {s['k']} sampled futures), `regressor` the same generator trained with L1 only and no noise "
        "(K = 1), `copy-first-frame` repeats the input."
        + gan.skips_note + "\n"
    )
    bench.finish(settings={**s, "train_data": str(train), "test_data": str(test)},
                 results={"evaluation": result}, body=intro + "\n" + body, plot=plot)


if __name__ == "__main__":
    main()

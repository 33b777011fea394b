"""How often a motion model's futures end mostly painted by the background stream, per noise scale.

    python benchmarks/experiments/scenes-sweep/background_share.py CLIPS MODEL [MODEL ...] [--every 4] [-k 16]

For the first frame of every N-th clip of CLIPS (a clip cache; run.sh's held-out clips, not test clips),
K futures (seed = the photo's index) at each noise scale; the mask is the foreground's weight, so a last
frame whose mean mask is below 0.25 is mostly the 64x64 background's pixels, not the photo's moved
ones: the washed-out futures of a large scale. Prints one line per model and scale.
"""
from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("models", nargs="+", help="model folders or bundled names")
    parser.add_argument("--every", type=int, default=4, help="every N-th clip's first frame")
    parser.add_argument("-k", type=int, default=16, help="futures per photo")
    parser.add_argument("--scales", default="1,1.5,2")
    args = parser.parse_args()

    import torch

    from vgpred.data import open_dataset
    from vgpred.predictor import VideoPredictor

    ds = open_dataset(args.clips)
    photos = [torch.from_numpy(ds.uint8(i)[0]).permute(2, 0, 1).float().div(127.5).sub(1)
              for i in range(0, len(ds), args.every)]
    print(f"{len(photos)} photos (every {args.every}th clip of {args.clips}), K = {args.k}")
    for model in args.models:
        predictor = VideoPredictor.from_pretrained(model, device="cpu")
        for scale in map(float, args.scales.split(",")):
            last = torch.cat([predictor(photo, num_samples=args.k, seed=i, noise_scale=scale).mask[:, 0, -1].mean(dim=(1, 2))
                              for i, photo in enumerate(photos)])
            print(f"{model} scale {scale:g}: last frame's mean mask {last.mean():.3f}; futures below 0.5: "
                  f"{(last < 0.5).float().mean():.1%}, below 0.25: {(last < 0.25).float().mean():.1%}", flush=True)


if __name__ == "__main__":
    main()

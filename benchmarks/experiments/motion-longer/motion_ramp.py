"""How far a motion model's futures move, frame by frame, next to the real clips.

    python motion_ramp.py MODEL CACHE N

For N clips spread over CACHE (4 futures each, seed 0), per frame t: the mean |x_t - x_0| of the
real clips and of the futures ([0, 1] pixels), the mean length of the predicted flow (grid_sample
units: 2 = the image's width; the model's bound is ``model.max_flow``, or t times it at frame t
with ``model.flow_param=velocity``) and the mean share of the
frame not taken from the moved photo (1 - mask), and the share of pixels whose flow is within
10 % of the bound in x or y, over all pixels and over those it carries content to (the moved photo
brighter than 0.1 there and the mask above 0.5).
"""
from __future__ import annotations

import argparse

import torch

from vgpred.data.cache import open_dataset
from vgpred.predictor import VideoPredictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("cache")
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    predictor = VideoPredictor.from_pretrained(args.model, device="cpu")
    model, k = predictor.model, 4
    ds = open_dataset(args.cache)
    clips = torch.stack([ds[i][0] for i in torch.linspace(0, len(ds) - 1, args.n).long().tolist()])
    with torch.no_grad():
        noise = model.sample_noise(k * args.n, generator=torch.Generator().manual_seed(0))
        out = model(noise, None, clips[:, :, 0].repeat(k, 1, 1, 1))

    def change(v: torch.Tensor) -> list[float]:
        return [round(x, 4) for x in ((v - v[:, :, :1]).abs().mean(dim=(0, 1, 3, 4)) / 2).tolist()]

    cfg = predictor.cfg
    print(f"model.max_flow {cfg.max_flow}" + (" per frame (flow_param=velocity)" if cfg.flow_param == "velocity" else ""))
    print("real |x_t - x_0|  ", change(clips))
    print("model |x_t - x_0| ", change(out.video))
    print("model |flow_t|    ", [round(x, 4) for x in out.flow.norm(dim=1).mean(dim=(0, 2, 3)).tolist()])
    frames = out.flow.shape[2]
    limit = torch.full((frames,), cfg.max_flow)
    if cfg.flow_param == "velocity":
        limit = limit * torch.arange(frames)
    bound = (out.flow.abs() > 0.9 * limit.view(1, 1, frames, 1, 1)).any(dim=1).float()  # (N, T, H, W)
    bound[:, 0] = 0  # frame 0 is the photo: flow 0
    print("model at the bound", [round(x, 4) for x in bound.mean(dim=(0, 2, 3)).tolist()])
    # the same among the pixels the flow carries content to: the moved photo bright there and the mask > 0.5
    carried = (((out.foreground + 1) / 2 > 0.1).any(dim=1) & (out.mask[:, 0] > 0.5)).float()
    share = (bound * carried).sum(dim=(0, 2, 3)) / carried.sum(dim=(0, 2, 3)).clamp_min(1)
    print(" ... of carried px", [round(x, 4) for x in share.tolist()])
    print("model 1 - mask_t  ", [round(x, 4) for x in (1 - out.mask).mean(dim=(0, 1, 3, 4)).tolist()])


if __name__ == "__main__":
    main()

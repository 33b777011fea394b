"""How wide the codes of a trained posterior encoder sit, against the N(0, I) prior that sampling draws from.

    python benchmarks/experiments/noise-scale/posterior_spread.py RUN DATA [N]

RUN: a run folder trained with loss.kl > 0 (its last checkpoint holds the encoder q(z | clip));
DATA: a clip cache; N (default 512): its first N clips. Prints, per latent dimension and over
all of them, the spread of the aggregate posterior (the mixture of q(z | clip) over the clips):
sqrt(var of the means + mean of the variances). A spread of s in a dimension the generator reads
means that a draw of N(0, 1) sits where 1 / s of the training clips' codes do.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from vgpred.config import build_config
from vgpred.data import open_dataset
from vgpred.models.layout import make_layout
from vgpred.train.checkpoint import list_checkpoints, load_checkpoint
from vgpred.train.latent import PosteriorEncoder


def main() -> None:
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    run, data = Path(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) == 4 else 512
    cfg = build_config(run / "config.yaml")
    checkpoint = list_checkpoints(run / "checkpoints")[-1]
    tensors, _ = load_checkpoint(checkpoint)
    encoder = PosteriorEncoder(cfg.model, make_layout(cfg.model))
    encoder.load_state_dict({k.removeprefix("posterior/"): v for k, v in tensors.items() if k.startswith("posterior/")})
    encoder.eval()
    clips = open_dataset(data, channels=cfg.model.channels)
    mus, variances = [], []
    with torch.no_grad():
        for start in range(0, min(n, len(clips)), 64):
            batch = torch.stack([clips[i][0] for i in range(start, min(start + 64, n, len(clips)))])
            mu, logvar = encoder(batch)
            mus.append(mu), variances.append(logvar.exp())
    mu, var = torch.cat(mus), torch.cat(variances)
    spread = (mu.var(0, unbiased=False) + var.mean(0)).sqrt()
    order = spread.argsort(descending=True)
    print(f"{run.name} at {checkpoint.name}, loss.kl {cfg.loss.kl}, {len(mu)} clips of {data}")
    print("aggregate posterior spread per dimension, widest first: "
          + " ".join(f"{spread[i]:.2f}" for i in order))
    print(f"mean |posterior mean| per dimension {mu.abs().mean():.2f}; mean posterior sigma {var.sqrt().mean():.3f}")
    print(f"root mean square spread over the {len(spread)} dimensions: {spread.pow(2).mean().sqrt():.2f}")


if __name__ == "__main__":
    main()

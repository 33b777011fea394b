"""One training step: a D step then a G step on a batch (the paper's schedule), and the losses
of :mod:`vgpred.train.losses` and :mod:`vgpred.train.latent` that it adds up."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from vgpred.config import Config
from vgpred.models.networks import GeneratorOutput
from vgpred.train.latent import kl_to_prior, mode_seeking, sample_posterior
from vgpred.train.losses import Objective, r1_penalty
from vgpred.train.precision import autocast, channels_last


def _generate(g: torch.nn.Module, latents: list[torch.Tensor], label: torch.Tensor | None,
              image: torch.Tensor | None) -> list[GeneratorOutput]:
    """The videos of each ``(B, latent_dim)`` group in ``latents`` for the same labels and photos.

    One pass over the groups stacked (one forward for DDP; BatchNorm sees them together),
    split back into one output per group.
    """
    if len(latents) == 1:
        return [g(latents[0], label, image)]
    n, b = len(latents), latents[0].shape[0]

    def repeat(x: torch.Tensor | None) -> torch.Tensor | None:
        return None if x is None else x.repeat(n, *[1] * (x.dim() - 1))

    out = g(torch.cat(latents), repeat(label), repeat(image))
    return [GeneratorOutput(*(None if x is None else x[i * b:(i + 1) * b] for x in out)) for i in range(n)]


def frame_weighted_l1(fake: torch.Tensor, real: torch.Tensor, decay: float = 1.0) -> torch.Tensor:
    """Mean |fake - real| of ``(B, C, T, H, W)`` videos, frame t weighted ``decay ** t`` (weights averaging 1).

    ``decay`` 1 is the plain mean; below 1 the first predicted frames count more, where the speed of
    the motion is set (``loss.video_l1_decay``).
    """
    per_frame = (fake.float() - real.float()).abs().mean(dim=(0, 1, 3, 4))
    weights = decay ** torch.arange(per_frame.shape[0], device=per_frame.device, dtype=per_frame.dtype)
    return (per_frame * weights).sum() / weights.sum()


@dataclass
class GanStep:
    """One training step on a batch: a D step then a G step (the paper's schedule).

    ``g_train``/``d_train`` are what runs forward (possibly DDP-wrapped or compiled);
    ``gen``/``disc`` the raw modules. Calling it with ``(clips (B, C, T, H, W) in
    [-1, 1], labels (B,))`` updates the networks and returns detached 0-d stats
    (``loss_d``, ``d_real``, ``d_fake``, ``loss_g``, ``recon_l1``, ``video_l1``, ``kl``,
    ``mode_seeking``); it never waits for the device.

    The discriminator and the GAN loss see videos made from the prior's noise. With a
    ``posterior`` (``loss.kl > 0``) the same photos also get the posterior's z of their
    clips, and ``loss.video_l1`` scores those videos (see :mod:`vgpred.train.latent`); with
    ``loss.diversity > 0`` they also get a second prior z for the mode-seeking term.
    """

    cfg: Config
    gen: torch.nn.Module
    g_train: torch.nn.Module
    disc: torch.nn.Module | None
    d_train: torch.nn.Module | None
    d_critic: torch.nn.Module | None  # D as used in the G step (no DDP: no gradient sync)
    optimizers: dict[str, torch.optim.Optimizer]
    scaler: torch.amp.GradScaler
    objective: Objective
    precision: str
    device: torch.device
    noise_gen: torch.Generator
    memory_channels_last: bool = False
    posterior: torch.nn.Module | None = None  # q(z | clip) as run forward (possibly DDP-wrapped), trained with G

    def __call__(self, clips: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg, objective, scaler, optimizers = self.cfg, self.objective, self.scaler, self.optimizers
        real = clips.to(self.device, non_blocking=True)
        if self.memory_channels_last:
            real = channels_last(real)
        label = labels.to(self.device, non_blocking=True) if self.gen.needs_label else None
        image = self.gen.context_from(real)  # frame 0, the context frames, or None (no image)
        known_frames = cfg.model.context_frames  # the video's first frames that were given, not predicted
        z = self.gen.sample_noise(real.shape[0], generator=self.noise_gen, device=self.device, scale=1.0)
        latents = [z]  # the prior's first; the posterior's and a second prior's when their terms are on
        mu = logvar = None
        if self.posterior is not None:
            with autocast(self.precision, self.device):
                mu, logvar = self.posterior(real)
            latents.append(sample_posterior(mu, logvar, self.noise_gen))
        if cfg.loss.diversity > 0:
            latents.append(self.gen.sample_noise(real.shape[0], generator=self.noise_gen, device=self.device, scale=1.0))

        with autocast(self.precision, self.device):
            outs = _generate(self.g_train, latents, label, image)
        out = outs[0]
        stats: dict[str, torch.Tensor] = {}
        if self.d_train is not None:  # --- discriminator step ---
            if cfg.loss.r1 > 0:
                real.requires_grad_(True)
            with autocast(self.precision, self.device):
                d_real = self.d_train(real, label)
                d_fake = self.d_train(out.video.detach(), label)
            loss_d = objective.d_loss(d_real, d_fake)
            if cfg.loss.r1 > 0:
                loss_d = loss_d + cfg.loss.r1 / 2 * r1_penalty(d_real, real)
            optimizers["d"].zero_grad(set_to_none=True)
            scaler.scale(loss_d).backward()
            scaler.step(optimizers["d"])
            stats.update(loss_d=loss_d.detach(), d_real=torch.sigmoid(d_real.detach().float()).mean(),
                         d_fake=torch.sigmoid(d_fake.detach().float()).mean())
        # --- generator step ---
        if self.disc is not None:  # D's weights get no gradient here: it is only a critic
            self.disc.requires_grad_(False)
            with autocast(self.precision, self.device):
                d_gen = self.d_critic(out.video, label)
            self.disc.requires_grad_(True)
            loss_g = objective.g_loss(d_gen)
        else:
            loss_g = (out.video.float() - real.float()).abs().mean()
        if cfg.model.two_stream and cfg.loss.mask_l1 > 0 and not self.gen.needs_image:
            loss_g = loss_g + cfg.loss.mask_l1 * out.mask.float().abs().mean()
        if image is not None:
            recon = None  # k = 1: frame 0 is the model's reconstruction of the photo; k > 1: the given frames
            if known_frames == 1:
                recon = (out.video[:, :, 0].float() - image.float()).abs().mean()
                if self.d_train is not None:
                    loss_g = loss_g + cfg.loss.recon_l1 * recon
            if self.d_train is not None and cfg.loss.video_l1 > 0:  # pulls the futures towards the real ones
                known = outs[1] if mu is not None else out  # with a posterior: the z that saw the clip
                future = frame_weighted_l1(known.video[:, :, known_frames:], real[:, :, known_frames:],
                                           cfg.loss.video_l1_decay)
                loss_g = loss_g + cfg.loss.video_l1 * future
                stats["video_l1"] = future.detach()
            if recon is not None:
                stats["recon_l1"] = recon.detach()
        if mu is not None:
            kl = kl_to_prior(mu, logvar)
            loss_g = loss_g + cfg.loss.kl * kl
            stats["kl"] = kl.detach()
        if cfg.loss.diversity > 0:
            seeking, ratio = mode_seeking(out.video, outs[-1].video, latents[0], latents[-1], first=known_frames)
            loss_g = loss_g + cfg.loss.diversity * seeking
            stats["mode_seeking"] = ratio.detach()
        optimizers["g"].zero_grad(set_to_none=True)
        scaler.scale(loss_g).backward()
        if cfg.optim.grad_clip > 0:  # the norm before clipping is logged: how often the clip bites
            scaler.unscale_(optimizers["g"])
            params = [p for group in optimizers["g"].param_groups for p in group["params"]]
            stats["grad_norm_g"] = torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip).detach()
        scaler.step(optimizers["g"])
        scaler.update()
        stats["loss_g"] = loss_g.detach()
        return stats

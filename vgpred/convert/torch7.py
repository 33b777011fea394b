"""``vgpred convert torch7``: a VideoGAN Torch7 file in, a vgpred folder with a card out.

The reading is :mod:`vgpred.convert.t7file`'s (no code from the file runs), the mapping
:mod:`vgpred.convert.t7map`'s (the authors' main.lua networks onto vgpred's unconditional
model; its docstring says what is folded where). Everything is read and checked before
anything is written, and the folder appears complete or not at all.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil
from pathlib import Path

from vgpred.convert.t7file import T7Module, read_module_tree
from vgpred.convert.t7map import AUTHORS, convert_discriminator, convert_generator, kind_of
from vgpred.errors import VgpredError


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _card(name: str, kind: str, source: Path, sha: str, cfg, types: list[str], eps: list[float], out: Path) -> str:
    from vgpred import __version__

    size = f"{cfg.resolution}x{cfg.resolution} pixels, {cfg.frames} frames, {cfg.channels} channels"
    lines = [f"# {name}", "",
             f"An unconditional VideoGAN {kind} in the authors' architecture (Vondrick, Pirsiavash & Torralba, "
             f"NIPS 2016), converted from the Torch7 file below by `vgpred convert torch7` (vgpred {__version__}).",
             "",
             f"- source: `{source.name}`, {source.stat().st_size} bytes, sha256 `{sha}`",
             f"- network: {size}" + (f", latent {cfg.latent_dim}" if kind == "generator" else "")
             + f", width {cfg.width:g} ({AUTHORS})",
             f"- module types read: {', '.join(types)}",
             "- conversion: convolution biases before a BatchNorm folded into its running mean; BatchNorm eps "
             f"{', '.join(f'{e:g}' for e in eps) or 'n/a'} folded into the running variance (vgpred's BatchNorm "
             "uses 1e-5); exact in inference (eval) mode"]
    if kind == "generator":
        lines += [f"- playback rate: {cfg.fps:g} fps", "", "## Use", "", "```bash",
                  f"vgpred sample -c {shlex.quote(str(out))} -o {shlex.quote(name + '.mp4')} --num-samples 4 --grid",
                  "```"]
    else:
        lines += ["- output: one logit, `logit_real - logit_fake` of the authors' two logits (real = class 1)",
                  "", "## Use", "", "```bash",
                  f"python benchmarks/table4_representation.py --discriminator {shlex.quote(str(out))}", "```"]
    lines += ["", "Weights: those of the Torch7 file (the authors' released models: github.com/cvondrick/videogan; "
              "see their repository for terms).", ""]
    return "\n".join(lines)


def convert_torch7(source: Path, out: Path, name: str | None = None, fps: float = 25.0,
                   discriminator: bool = False) -> Path:
    """Convert the authors' generator (or, with ``discriminator``, their discriminator) in ``source``
    into the new folder ``out``. Everything is read and checked before anything is written; the folder
    appears complete or not at all."""
    from vgpred.modelfile import save_discriminator, save_model

    source, out = Path(source), Path(out)
    if out.exists() or out.is_symlink():
        raise VgpredError(f"{out}: already exists; give a new folder (nothing was written)")
    want = "discriminator" if discriminator else "generator"
    tree = read_module_tree(source)
    found = kind_of(tree)
    if found != want and found != "network":
        hint = "without --discriminator" if discriminator else "with --discriminator"
        raise VgpredError(f"{source}: holds the authors' {found}, not a {want}; convert it {hint}")
    if discriminator:
        network, cfg, eps = convert_discriminator(tree, source, fps)
    else:
        network, eps = convert_generator(tree, source, fps)
        cfg = network.cfg
    sha = _sha256(source)
    name = name or source.name.removesuffix(".t7")
    types = sorted({m.type_name for m in _walk(tree)})
    info = {"description": f"the authors' VideoGAN {want} ({name}), converted from Torch7",
            "name": name, "source": {"file": source.name, "sha256": sha, "bytes": source.stat().st_size,
                                     "origin": AUTHORS, "module_types": types},
            "batchnorm_eps_in_file": eps}
    if discriminator:
        info["logit"] = "logit_real - logit_fake of the authors' two logits (real = class 1)"
    card = _card(name, want, source, sha, cfg, types, eps, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if discriminator:
            save_discriminator(network, cfg, tmp, extra=info)
        else:
            save_model(network, tmp, extra=info)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        os.rename(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _walk(m: T7Module):
    yield m
    for child in m.children:
        yield from _walk(child)

"""``vgpred convert ...``: other toolkits' model files as vgpred model folders."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vgpred.cli.options import check_fps

app = typer.Typer(no_args_is_help=True, add_completion=False)

MAX_NAME = 100


@app.command("torch7")
def torch7(
    model: Path = typer.Argument(..., help="The VideoGAN authors' Torch7 file: iter*_net.t7 (generator), or "
                                           "iter*_netD.t7 with --discriminator.", show_default=False),
    out_dir: Path = typer.Argument(..., help="Folder to create (must not exist): config.json, the weights and a "
                                             "README.md card naming the source file and its sha256.",
                                   show_default=False),
    name: Optional[str] = typer.Option(None, "--name", help="The model's name on its card (default: the file's "
                                                            "name without .t7)."),
    fps: float = typer.Option(25.0, "--fps", help="Playback rate stored in the folder, 0.1 to 240 frames per second "
                                                  "(`vgpred sample` uses it unless given --fps)."),
    discriminator: bool = typer.Option(False, "--discriminator",
                                       help="Convert the authors' discriminator (iter*_netD.t7) instead: its two "
                                            "logits become one (real minus fake), for the representation probe "
                                            "benchmarks/table4_representation.py --discriminator OUT_DIR."),
) -> None:
    """Convert the VideoGAN authors' released Torch7 model (main.lua's unconditional generator) into a vgpred
    model folder; `vgpred sample -c OUT_DIR -o video.mp4` then samples it.

    Reads nn and cudnn module types, float and CUDA tensors, and runs no code from the file.
    Needs the optional extra: pip install "vgpred\\[torch7]". Prints the folder written (docs/torch7.md).
    """
    from vgpred.convert.torch7 import convert_torch7
    from vgpred.errors import UsageError

    check_fps(fps)
    if name is not None and not (0 < len(name) <= MAX_NAME and name.isprintable() and name.strip()):
        raise UsageError(f"--name {name!r}: must be 1 to {MAX_NAME} printable characters")
    typer.echo(convert_torch7(model, out_dir, name=name, fps=fps, discriminator=discriminator))

"""``vgpred demo``: the local web page (optional extra ``vgpred[demo]``)."""
from __future__ import annotations

from typing import List, Optional

import typer

from vgpred.cli.predict_cmd import DEVICE_HELP


def demo(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 127.0.0.1 serves this machine only, "
                                                         "0.0.0.0 every network it is on."),
    port: int = typer.Option(7860, "--port", help="TCP port to listen on."),
    checkpoint: Optional[List[str]] = typer.Option(
        None, "--checkpoint", "-c", help="Model folder or bundled model's name to offer (repeatable); the first is "
                                         "preselected. The bundled image-to-video models are always offered too."),
    share: bool = typer.Option(False, "--share", help="Also make a public Gradio share link (needs the internet; "
                                                       "anyone with the link can use the page). Off by default."),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
) -> None:
    """Start a local web page: drop a photo, get K futures to watch and download (.mp4, .gif).

    Needs the optional extra: pip install "vgpred\\[demo]". Runs offline; stop it with Ctrl-C.
    """
    from vgpred.demo import serve
    from vgpred.errors import UsageError

    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: must be from 1 to 65535")
    serve(list(checkpoint or []), host=host, port=port, device=device, share=share)

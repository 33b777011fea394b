"""``vgpred demo``: a local web page where a photo goes in and its futures come out.

Needs the optional extra: ``pip install "vgpred[demo]"`` (Gradio). The page reuses the
Python API (:class:`~vgpred.predictor.VideoPredictor`) and the same input checks as
``vgpred predict``; :mod:`vgpred.demo.animate` is the request without the web page,
:mod:`vgpred.demo.page` the Gradio layout. Nothing is fetched from the internet: no
analytics, no CDN assets, no share link unless ``--share`` asks for one.
"""
from __future__ import annotations

import os
import signal
import threading

from vgpred.errors import VgpredError

INSTALL_HINT = 'the demo needs Gradio, an optional extra: pip install "vgpred[demo]"'


def _check_gradio() -> None:
    import importlib.util

    try:
        found = importlib.util.find_spec("gradio") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise VgpredError(INSTALL_HINT)


def serve(models: list[str], host: str = "127.0.0.1", port: int = 7860, device: str = "auto",
          share: bool = False) -> None:
    """Serve the demo page until interrupted; every temporary file it made is removed on the way out.

    Args:
        models: model folders or bundled names offered first (the first is preselected);
            the bundled image-to-video models follow.
        host / port: where the server listens (127.0.0.1: this machine only).
        device: where models run (``auto``, ``cpu``, ``cuda``, ...).
        share: also ask Gradio for a public share link (needs the internet).
    """
    _check_gradio()
    from vgpred.demo.animate import WorkFolder
    from vgpred.demo.models import ModelShelf

    shelf = ModelShelf(models, device=device)  # fails here, with one line, on a bad -c
    work = WorkFolder()
    # Before gradio is imported: no analytics or version check; uploads and served copies in the work folder.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = str(work.root / "gradio")
    main_thread = threading.current_thread() is threading.main_thread()
    # `kill` (SIGTERM) and Ctrl-C (SIGINT) both stop the server and remove its files. SIGINT is set too
    # because a process started in the background by a script inherits it ignored.
    stops = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in stops} if main_thread else {}
    try:
        try:
            from vgpred.demo.page import launch
        except ImportError as err:
            raise VgpredError(f"{INSTALL_HINT} ({err})") from None
        launch(shelf, work, host=host, port=port, share=share)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        work.close()

"""The demo's Gradio page: a photo in, K futures playing side by side out.

Offline by design: Gradio's analytics and version check are off (:func:`vgpred.demo.serve`
sets GRADIO_ANALYTICS_ENABLED before importing this module), the page uses only the
fonts and scripts Gradio ships (no CDN), no share link is made unless asked, and the
server listens on 127.0.0.1 unless told otherwise. Requests wait in one queue and run
one at a time (each shows its place in the queue, then a progress bar), so a second tab
gets its own result after the first. A bad upload gets one line on the page and the
server keeps serving.
"""
from __future__ import annotations

import html
import math
import sys
import traceback
from pathlib import Path

import gradio as gr

from vgpred.demo.animate import WorkFolder, animate, check_upload
from vgpred.demo.models import ModelShelf
from vgpred.errors import VgpredError
from vgpred.limits import MAX_DEMO_FUTURES, MAX_UPLOAD_BYTES
from vgpred.paths import ASSETS_DIR

EXAMPLES_DIR = ASSETS_DIR / "examples"
LAYERS = ("foreground", "background", "mask", "flow")
DEFAULT_FUTURES = 4
INTRO = ("**vgpred**: drop a photo (or pick an example below), choose a model, press **Animate**. Each future is "
         "one draw of the model's noise; the same seed gives the same futures as `vgpred predict --seed`.")


def _fail(message: str) -> gr.Error:
    """A user's error: one line on the page and in the server's console, no traceback."""
    print(f"vgpred demo: {message}", file=sys.stderr)
    return gr.Error(html.escape(message), duration=None, title="Cannot animate this", print_exception=False)


def _upload(payload) -> tuple[str, str]:
    """The raw value of the photo box -> (file on this machine, name the user knows it by)."""
    if not isinstance(payload, dict) or not payload.get("path"):
        raise VgpredError("no photo: upload or drop one, or pick an example")
    path = payload["path"]
    return path, payload.get("orig_name") or Path(path).name


def _whole(value, what: str) -> int:
    if value is None:
        raise VgpredError(f"{what}: give a whole number")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value != int(value):
        raise VgpredError(f"{what} {value!r}: must be a whole number")
    return int(value)


def build_page(shelf: ModelShelf, work: WorkFolder) -> gr.Blocks:
    """The page's layout and its one action, animating the photo with the chosen settings."""
    names = shelf.names
    most_frames = max(shelf.frames(name) for name in names)

    def run(photo, model, num_futures, seed, frames, layers, progress=gr.Progress()):
        try:
            path, name = _upload(photo)
            num_futures, seed, frames = (_whole(num_futures, "futures"), _whole(seed, "seed"),
                                         _whole(frames, "frames"))
            progress(0.0, desc=f"loading {model}")
            predictor = shelf.get(model)
            image = check_upload(path, name, predictor)
            result = animate(predictor, image, num_futures, seed, frames, bool(layers), work.request_folder(),
                             progress=lambda fraction, text: progress(fraction, desc=text))
        except VgpredError as err:
            raise _fail(str(err)) from None
        except Exception as err:  # a bug or an environment problem: one line on the page, the traceback here
            traceback.print_exc()
            raise _fail(f"{type(err).__name__}: {err} (the server's console has the traceback)") from None
        videos = [gr.update(value=str(result.videos[i]) if i < num_futures else None, visible=i < num_futures)
                  for i in range(MAX_DEMO_FUTURES)]
        shown = [gr.update(value=str(result.layers[n]) if n in result.layers else None, visible=n in result.layers)
                 for n in LAYERS]
        return [f"{model}: {result.summary}", *videos, *shown, [str(p) for p in result.downloads]]

    def frames_of(model):
        count = shelf.frames(model)
        return gr.update(maximum=count, value=count)

    with gr.Blocks(title="vgpred demo", analytics_enabled=False, delete_cache=(600, 1800)) as page:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                photo = gr.Image(label="Photo", type="filepath", sources=["upload", "clipboard"], height=320,
                                 elem_id="photo")
                examples = sorted(str(p) for p in EXAMPLES_DIR.glob("*") if p.suffix.lower() in (".jpg", ".png"))
                if examples:
                    gr.Examples(examples=examples, inputs=photo, label="Example photos")
            with gr.Column():
                model = gr.Dropdown(names, value=names[0], label="Model", elem_id="model")
                num_futures = gr.Slider(1, MAX_DEMO_FUTURES, value=DEFAULT_FUTURES, step=1, label="Futures (K)",
                                        elem_id="futures")
                seed = gr.Number(0, precision=0, label="Seed", elem_id="seed")
                frames = gr.Slider(1, most_frames, value=shelf.frames(names[0]), step=1, label="Frames",
                                   elem_id="frames")
                layers = gr.Checkbox(False, label="Also show the foreground, background and mask layers",
                                     elem_id="layers")
                button = gr.Button("Animate", variant="primary", elem_id="animate")
        summary = gr.Markdown(elem_id="summary")
        with gr.Row():
            videos = [gr.Video(label=f"future {i}", autoplay=True, loop=True, visible=False, interactive=False,
                               buttons=["download"], elem_id=f"future-{i}") for i in range(MAX_DEMO_FUTURES)]
        with gr.Row():
            layer_videos = [gr.Video(label=f"{n} (all futures)", autoplay=True, loop=True, visible=False,
                                     interactive=False, elem_id=n) for n in LAYERS]
        downloads = gr.File(label="Downloads (.mp4 and .gif)", file_count="multiple", interactive=False,
                            elem_id="downloads")
        model.change(frames_of, model, frames)
        button.click(run, [photo, model, num_futures, seed, frames, layers],
                     [summary, *videos, *layer_videos, downloads], preprocess=False, concurrency_limit=1)
    return page


def launch(shelf: ModelShelf, work: WorkFolder, host: str, port: int, share: bool) -> None:
    """Serve the page on ``host``:``port`` until interrupted (Ctrl-C)."""
    page = build_page(shelf, work)
    page.queue(max_size=64)
    try:
        page.launch(
            server_name=host, server_port=port, share=share, inbrowser=False, show_error=True,
            max_file_size=MAX_UPLOAD_BYTES, allowed_paths=[str(EXAMPLES_DIR), str(work.requests)],
            ssr_mode=False, mcp_server=False, enable_monitoring=False, footer_links=[], pwa=False,
            quiet=True, prevent_thread_lock=True,
        )
    except OSError as err:
        reason = "the port is in use" if "empty port" in str(err) else str(err)
        raise VgpredError(f"--host {host} --port {port}: cannot listen there ({reason})") from None
    print(f"vgpred demo: serving {page.local_url} (Ctrl-C stops it)", flush=True)
    if page.share_url:
        print(f"vgpred demo: public share link {page.share_url}", flush=True)
    page.block_thread()

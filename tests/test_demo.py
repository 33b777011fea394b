"""``vgpred demo`` driven in a real browser: Debian's chromium through Selenium and chromedriver.

One server (the real CLI in its own process, a tiny motion model whose frame 0 is the
photo) serves every test; each test opens the page afresh. Without chromium the browser
tests are skipped, except in CI (CI=true), where they must run.
"""
from __future__ import annotations

import math
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from conftest import assert_one_line_error, call_cli, run_cli, save_tiny_model, skimage_photo

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
IN_CI = os.environ.get("CI", "").lower() == "true"
WAIT_S = 600  # a guard against a hung page on a slow machine, not a speed requirement
K = 4  # the page's default number of futures
FRAMES = 8  # the tiny model's


def _browser_or_skip() -> None:
    if CHROMIUM.is_file() and CHROMEDRIVER.exists():
        return
    if IN_CI:
        pytest.fail("CI must run the browser tests: apt-get install chromium chromium-driver")
    pytest.skip("Debian's chromium and chromium-driver are not installed")


# ---------------------------------------------------------------- the server and the browser
class DemoServer:
    """``python -m vgpred demo`` on a free port, with its own TMPDIR."""

    def __init__(self, model: Path, tmpdir: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.tmpdir = tmpdir
        self.log = tmpdir.parent / "demo-server.log"
        env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vgpred", "demo", "-c", str(model), "--port", str(port), "--device", "cpu"],
            stdout=subprocess.PIPE, stderr=self.log.open("w"), stdin=subprocess.DEVNULL, text=True, env=env,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout] + [lines.put("")],
                         daemon=True).start()
        first = lines.get(timeout=WAIT_S)
        match = re.search(r"serving (http://\S+)", first)
        assert match, f"the server did not start: {first!r}, log: {self.log.read_text()[-2000:]}"
        self.url = match[1]
        assert self.url.startswith(f"http://127.0.0.1:{port}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=WAIT_S)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _browser_or_skip()
    root = tmp_path_factory.mktemp("demo")
    model = save_tiny_model(root / "tiny-motion", "image", foreground="motion", skips=True)
    (root / "tmp").mkdir()
    srv = DemoServer(model, root / "tmp")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Real photos (scikit-image's) at small even sizes, and uploads that are not photos or too large."""
    from test_bad_inputs import _png_declaring

    d = tmp_path_factory.mktemp("photos")
    Image.open(skimage_photo("astronaut.png")).convert("RGB").resize((96, 64)).save(d / "astronaut.png")
    Image.open(skimage_photo("chelsea.png")).convert("RGB").resize((80, 64)).save(d / "chelsea.png")
    (d / "notes.jpg").write_text("These are notes, not a photo.\n" * 20)
    (d / "bomb.png").write_bytes(_png_declaring(100_000, 100_000))
    with (d / "big.jpg").open("wb") as f:
        f.truncate(51 * 2**20)  # over the page's 50 MB (a sparse file: nothing is written)
    return {p.name: p for p in d.iterdir()}


def _wait(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(condition, message=f"waiting for {what}")


def _open(driver, url: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#photo input[type=file]"), "the photo box")


def _upload(driver, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(path))
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img"), f"{path.name} in the photo box")


def _press(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "#animate").click()


_VIDEOS = """return Array.from(document.querySelectorAll('[id^="future-"] video')).map(v => ({
    box: v.closest('[id^="future-"]').id, src: v.currentSrc, ready: v.readyState, width: v.videoWidth,
    height: v.videoHeight, duration: v.duration, error: v.error && v.error.code}));"""


def _playable_videos(driver, count: int) -> list[dict]:
    """Wait until ``count`` future boxes hold a video the browser has decoded a frame of."""
    def ready(d):
        videos = d.execute_script(_VIDEOS)
        return videos if len([v for v in videos if v["ready"] >= 2]) >= count else False

    return _wait(driver, ready, f"{count} playable videos")


def _page_text_with(driver, fragment: str) -> str:
    return _wait(driver, lambda d: fragment in d.find_element("tag name", "body").text and
                 d.find_element("tag name", "body").text, f"{fragment!r} on the page")


def _first_frame_psnr(url: str, photo: Path, tmp: Path) -> tuple[float, int, tuple[int, int]]:
    """Download a served video and decode it: PSNR (dB) of its frame 0 against the photo, its frames, its (H, W)."""
    from vgpred.io.image import load_image
    from vgpred.io.video import read_video
    from vgpred.limits import RENDER_SIZE

    target = tmp / Path(url).name
    with urllib.request.urlopen(url) as response:
        target.write_bytes(response.read())
    video = read_video(target).float()  # (T, H, W, 3) in 0..255
    expected = (load_image(photo, size=RENDER_SIZE, fit="whole").permute(1, 2, 0) + 1) * 127.5  # as the page renders it
    height, width = expected.shape[:2]
    mse = ((video[0, :height, :width] - expected) ** 2).mean().item()
    return 10 * math.log10(255.0**2 / max(mse, 1e-10)), video.shape[0], tuple(video.shape[1:3])


def _requested_urls(driver) -> set[str]:
    import json

    urls = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    return urls


# ---------------------------------------------------------------- tests
def test_a_photo_gives_k_playable_futures_that_start_from_the_photo(server, browser, photos, tmp_path):
    photo = photos["astronaut.png"]
    browser.get_log("performance")  # start the network record here
    _open(browser, server.url)
    _upload(browser, photo)
    _press(browser)
    videos = _playable_videos(browser, K)
    assert [v["box"] for v in videos] == [f"future-{i}" for i in range(K)]  # the other boxes stay hidden
    for v in videos:
        assert v["error"] is None and v["duration"] > 0 and (v["width"], v["height"]) == (96, 64), v
        psnr, frames, size = _first_frame_psnr(v["src"], photo, tmp_path)
        assert frames == FRAMES and size == (64, 96)
        assert psnr > 30, f"{v['box']}: frame 0 is {psnr:.1f} dB from the photo"
    text = _page_text_with(browser, "4 futures of 96x64 pixels")
    for i in range(K):
        assert f"future-{i}\n.mp4" in text and f"future-{i}\n.gif" in text  # the download list
    served = {url.split("?")[0] for url in _requested_urls(browser)}
    outside = [url for url in served if not url.startswith(server.url) and not url.startswith(("data:", "blob:"))]
    assert not outside, f"the page fetched from outside the server: {outside}"


def test_an_example_photo_with_its_layers(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from vgpred.paths import ASSETS_DIR

    _open(browser, server.url)
    browser.find_element(By.CSS_SELECTOR, 'img[src$="/street.jpg"]').click()  # the bundled example
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img"), "the example in the photo box")
    browser.find_element(By.CSS_SELECTOR, "#layers input[type=checkbox]").click()
    _press(browser)
    videos = _playable_videos(browser, K)
    psnr, _, size = _first_frame_psnr(videos[0]["src"], ASSETS_DIR / "examples" / "street.jpg", tmp_path)
    assert size == (384, 512) and psnr > 30  # 768 x 576 shrunk to the default 512-pixel long side
    layers = ("foreground", "background", "mask", "flow")  # the flow: a motion model's
    script = "return ['" + "', '".join(layers) + "'].map(n => document.querySelector('#' + n + ' video'))" \
             ".map(v => v ? v.readyState : -1)"
    _wait(browser, lambda d: min(d.execute_script(script)) >= 2, "the layers' videos")


def test_uploads_that_are_not_photos_get_a_message_and_the_server_keeps_serving(server, browser, photos, tmp_path):
    from selenium.webdriver.common.by import By

    _open(browser, server.url)  # over 50 MB: the page refuses it before uploading
    browser.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(photos["big.jpg"]))
    _page_text_with(browser, 'maximum allowed size of 50.0 Mb: "big.jpg"')
    for name, message in [("notes.jpg", "notes.jpg: not an image Pillow can read"),
                          ("bomb.png", "bomb.png: image is 100000 x 100000 pixels, over the limit")]:
        _open(browser, server.url)
        _upload(browser, photos[name])
        _press(browser)
        _page_text_with(browser, message)
        assert not browser.execute_script(_VIDEOS)
    _open(browser, server.url)
    _upload(browser, photos["chelsea.png"])
    _press(browser)
    assert len(_playable_videos(browser, K)) == K
    assert server.proc.poll() is None


def test_the_server_refuses_a_file_over_50_mb_itself(tmp_path):
    from vgpred.demo.animate import check_upload
    from vgpred.errors import VgpredError

    big = tmp_path / "upload.bin"
    with big.open("wb") as f:
        f.truncate(50 * 2**20 + 1)  # sparse: nothing is written
    with pytest.raises(VgpredError, match=r"^big.jpg: the file is 50.0 MB, over the demo's limit of 50 MB$"):
        check_upload(big, "big.jpg", predictor=None)


def test_two_tabs_submitting_at_once_each_get_their_own_futures(server, browser, photos, tmp_path):
    tabs = {}
    for name in ("astronaut.png", "chelsea.png"):
        if tabs:
            browser.switch_to.new_window("tab")
        tabs[name] = browser.current_window_handle
        _open(browser, server.url)
        _upload(browser, photos[name])
    for handle in tabs.values():
        browser.switch_to.window(handle)
        _press(browser)
    for name, handle in tabs.items():
        browser.switch_to.window(handle)
        videos = _playable_videos(browser, K)
        psnr, _, _ = _first_frame_psnr(videos[0]["src"], photos[name], tmp_path)
        assert psnr > 30, f"the tab that sent {name} got futures of another photo ({psnr:.1f} dB)"
    browser.close()
    browser.switch_to.window(tabs["astronaut.png"])


def test_stopping_the_server_removes_its_temporary_files(server):
    assert list(server.tmpdir.glob("vgpred-demo-*"))  # the running page's work folder
    assert server.stop() == 0
    assert not list(server.tmpdir.iterdir()), f"left behind: {list(server.tmpdir.iterdir())}"


# ---------------------------------------------------------------- without a browser
def test_without_gradio_the_command_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` now fails as if it were not installed
    assert_one_line_error(call_cli("demo"), 'pip install "vgpred[demo]"')


def test_a_model_that_does_not_animate_photos_is_refused(tiny_model):
    pytest.importorskip("gradio")
    label = tiny_model("label")
    assert_one_line_error(call_cli("demo", "-c", label, "--device", "cpu"), str(label), "label model")


def test_a_port_in_use_is_one_line(tiny_model):
    pytest.importorskip("gradio")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("demo", "-c", tiny_model("image"), "--port", port, "--device", "cpu")
    assert_one_line_error(result, f"--port {port}: cannot listen there (the port is in use)")

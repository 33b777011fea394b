"""How long the demo page takes, in a real browser, from pressing Animate to K = 4 playable futures.

Starts `vgpred demo` (default settings: the bundled default model, K = 4, seed 0, all
frames), drives Debian's chromium through Selenium, uploads scikit-image's astronaut
(512 x 512) and times each press until four <video> elements have a decoded frame.
The first press after the server starts includes loading the model; the next ones are
warm (a fresh page each time). Writes results/latency.json and the README's screenshot.

    python benchmarks/experiments/demo-latency/run.py [--warm 3] [--screenshot docs/demo.png]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

from common import machine  # noqa: E402

K = 4
PLAYABLE = """return Array.from(document.querySelectorAll('[id^="future-"] video'))
    .filter(v => v.readyState >= 2 && v.videoWidth > 0).length;"""


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "vgpred", "demo", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    line = proc.stdout.readline()
    if "serving" not in line:
        raise SystemExit(f"the demo did not start: {line!r}")
    return proc


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1400"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def press_and_time(driver, url: str, photo: Path) -> tuple[float, str]:
    """Seconds from the click to K playable futures, and the page's summary line."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, 600, poll_frequency=0.02)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#photo input[type=file]"))
    driver.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(photo))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img"))
    button = driver.find_element(By.CSS_SELECTOR, "#animate")
    start = time.perf_counter()
    button.click()
    wait.until(lambda d: d.execute_script(PLAYABLE) >= K)
    seconds = time.perf_counter() - start
    return seconds, driver.find_element(By.CSS_SELECTOR, "#summary").text


def save_screenshot(driver, path: Path) -> None:
    """The page down to the futures' row, as a palette PNG (small enough for the README)."""
    import io

    from PIL import Image

    driver.execute_script("window.scrollTo(0, 0)")
    bottom = driver.execute_script("return document.querySelector('#future-0').getBoundingClientRect().bottom")
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    shot = shot.crop((0, 0, shot.width - 16, min(shot.height, int(bottom) + 12)))  # without the scroll bar
    shot = shot.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    shot.save(path, optimize=True)


def training_processes() -> int:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if re.search(r"vgpred(\.cli)?\S* train\b|-m vgpred train\b", line))


def main() -> None:
    import skimage.data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=3, help="warm presses after the first")
    parser.add_argument("--screenshot", type=Path, default=REPO / "docs" / "demo.png")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latency.json")
    args = parser.parse_args()
    photo = Path(skimage.data.__file__).parent / "astronaut.png"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    load = os.getloadavg()[0]
    server = start_server(port)
    driver = browser()
    try:
        url = f"http://127.0.0.1:{port}/"
        first, summary = press_and_time(driver, url, photo)
        warm = [press_and_time(driver, url, photo)[0] for _ in range(args.warm)]
        save_screenshot(driver, args.screenshot)
    finally:
        driver.quit()
        server.terminate()
        server.wait()
    result = {
        "what": "browser wall time from pressing Animate to K=4 playable futures, default bundled model, "
                "scikit-image astronaut.png (512x512)",
        "first_s": round(first, 2), "warm_s": [round(s, 2) for s in warm],
        "warm_median_s": round(statistics.median(warm), 2) if warm else None,
        "page_summary": summary, "load_average_1min_before": load, "vgpred_train_processes": training_processes(),
        "machine": machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

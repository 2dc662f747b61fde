#!/usr/bin/env python
"""The screenshots of docs/watch.md, taken from real runs in headless Chromium.

1. ``digits train --monitor --watch`` is started with the settings of ``--train`` (by
   default chapter 3's [784, 100, 10] with cross-entropy, eta 0.1, L2 and the default
   initialisation, whose first layer learns visible strokes) and its page opened;
   after ``--epochs-shown`` epochs the page is photographed whole
   (``watch-page.png``), then the largest mistake of the confusion matrix is clicked
   (``watch-confusion.png``) and the first layer's pictures are taken alone
   (``watch-weights.png``); then Stop is pressed and the run saves.
2. ``digits compare`` is served on the models given with ``--compare`` (for example the
   three of ``make compare-ch3``) and photographed (``watch-compare.png``).

    python scripts/watch_screenshots.py --compare results/compare-ch3/eta-*.npz
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import add_data_arguments, run  # noqa: E402

from digits.app.cli import ArgumentParser, HelpFormatter  # noqa: E402

CLICK_LARGEST_MISTAKE = """
const cells = [...document.querySelectorAll('#confusion button')]
  .filter(b => b.dataset.true !== b.dataset.answer && Number(b.textContent) > 0);
cells.reduce((a, b) => Number(b.textContent) > Number(a.textContent) ? b : a).click();
"""


def browser(width, height):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("google-chrome")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def started(command, pattern, log):
    """Start ``command`` with its output in ``log``; the address it prints."""
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while not re.search(pattern, log.read_text()):
        if process.poll() is not None:
            raise SystemExit(log.read_text())
        time.sleep(0.1)
    return process, re.search(pattern, log.read_text()).group(1)


def until(condition, seconds=600):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the page did not get there in time")
        time.sleep(0.2)


def watch_shots(args, folder, work):
    from selenium.webdriver.common.by import By

    process, url = started([sys.executable, "-m", "digits", "train", *args.train.split(),
                            "--monitor", "--epochs", "30", "--seed", "2", "--quiet", "--watch",
                            "--port", "0", "--data", str(args.data), "--model", str(work / "w.npz")],
                           r"Watch it learn at (http://\S+) ", work / "train.txt")
    page = browser(1280, 2300)
    try:
        page.get(url)
        drawn = lambda: int(page.find_element(By.ID, "accuracy").get_attribute("data-epochs"))
        until(lambda: drawn() >= args.epochs_shown)
        until(lambda: page.find_element(By.ID, "progress").text.count("of 5000") and
              " 0 of 5000" not in page.find_element(By.ID, "progress").text)
        time.sleep(2)
        page.save_screenshot(str(folder / "watch-page.png"))
        page.execute_script(CLICK_LARGEST_MISTAKE)
        until(lambda: page.find_elements(By.CSS_SELECTOR, "#cell .digit"))
        time.sleep(0.5)
        crop_sections(page, folder / "watch-confusion.png", ["confusion", "cell"])
        crop_sections(page, folder / "watch-weights.png", ["weights", "speed"])
        page.find_element(By.ID, "stop").click()
        process.wait(120)
    finally:
        page.quit()
        if process.poll() is None:
            process.kill()


def crop_sections(page, path, ids):
    """A picture of the sections holding the elements ``ids``, side by side as on the page."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    sections = [page.find_element(By.XPATH, f"//section[.//*[@id='{i}']]") for i in ids]
    page.execute_script("arguments[0].scrollIntoView()", sections[0])
    time.sleep(0.3)
    shot = Path(tempfile.mkstemp(suffix=".png")[1])
    page.save_screenshot(str(shot))
    boxes = [page.execute_script("const r = arguments[0].getBoundingClientRect();"
                                 "return [r.left, r.top, r.right, r.bottom];", s) for s in sections]
    scale = page.execute_script("return window.devicePixelRatio")
    left, top = min(b[0] for b in boxes) - 8, min(b[1] for b in boxes) - 8
    right, bottom = max(b[2] for b in boxes) + 8, max(b[3] for b in boxes) + 8
    Image.open(shot).crop(tuple(int(v * scale) for v in (left, top, right, bottom))).save(path)
    shot.unlink()


def compare_shot(args, folder, work):
    from selenium.webdriver.common.by import By

    process, url = started([sys.executable, "-m", "digits", "compare", *map(str, args.compare),
                            "--port", "0"], r"Open (http://\S+) in a browser", work / "compare.txt")
    page = browser(1280, 1500)
    try:
        page.get(url)
        until(lambda: page.find_elements(By.CSS_SELECTOR, "#panels canvas"), 60)
        time.sleep(1)
        page.save_screenshot(str(folder / "watch-compare.png"))
    finally:
        page.quit()
        process.send_signal(signal.SIGINT)
        process.wait(10)


def main() -> int:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("docs/images"), help="where the pictures go")
    parser.add_argument("--train", default="--sizes 784 100 10 --cost cross-entropy --eta 0.1 "
                                           "--lmbda 5.0 --init default",
                        help="the settings of the run photographed (flags of digits train)")
    parser.add_argument("--epochs-shown", type=int, default=4, help="epochs drawn before the first picture")
    parser.add_argument("--compare", type=Path, nargs="*", default=[], metavar="MODEL",
                        help="saved models for the comparison page's picture (none: no picture)")
    add_data_arguments(parser)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="watch-shots-"))
    watch_shots(args, args.output, work)
    if args.compare:
        compare_shot(args, args.output, work)
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))

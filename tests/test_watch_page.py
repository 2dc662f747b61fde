"""The live page of ``train --watch`` in a real headless Chromium, during a real run.

``python -m digits train --sizes 784 100 10 --monitor --watch --port 0`` trains on the
real MNIST files in a subprocess, as a user runs it; the page is opened at the address
it prints, and read as the training goes: the accuracy curve gains a point at the end of
every epoch, the first layer's pictures change, a cell of the confusion matrix opens
its digits, and Stop ends the run and saves a model that loads.  The tests share one
run and follow it in order.  They are skipped, saying why, where Chromium or its driver
is not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from digits.store import model_file

START_SECONDS = 60


def find_chromium():
    """``(browser, driver)`` paths, or skip the test saying what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Chromium or chromedriver is not installed (Debian: apt-get install chromium "
                    "chromium-driver)")
    return browser, driver


def wait_for(page, condition, seconds=15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(page, seconds, poll_frequency=0.05).until(lambda _: condition())


class TrainProcess:
    """``python -m digits train ... --watch --port 0`` with its output in files."""

    def __init__(self, folder, data_dir, *args):
        self.folder = folder
        self.model = folder / "watched.npz"
        self.stdout_path = folder / "stdout.txt"
        with open(self.stdout_path, "wb") as stdout, open(folder / "stderr.txt", "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "digits", "train", "--watch", "--port", "0", "--quiet",
                 "--data", str(data_dir), "--no-download", "--model", str(self.model), *args],
                stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.url = self._wait_for_address()

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def epochs_printed(self) -> int:
        return len(re.findall(r"^Epoch \d+:", self.stdout(), re.MULTILINE))

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            found = re.search(r"Watch it learn at (http://\S+) ", self.stdout())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        pytest.fail(f"train --watch printed no address:\n{self.stdout()}\n"
                    f"{(self.folder / 'stderr.txt').read_text()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="module")
def training(tmp_path_factory, mnist_data_dir):
    run = TrainProcess(tmp_path_factory.mktemp("watched"), mnist_data_dir,
                       "--sizes", "784", "100", "10", "--epochs", "30", "--seed", "2", "--monitor")
    yield run
    run.stop()


@pytest.fixture(scope="module")
def page(training):
    browser_path, driver_path = find_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.get(training.url)
    yield driver
    driver.quit()


def element(page, element_id):
    from selenium.webdriver.common.by import By

    return page.find_element(By.ID, element_id)


def epochs_drawn(page) -> int:
    return int(element(page, "accuracy").get_attribute("data-epochs"))


def weights_picture(page) -> str:
    return page.execute_script("return document.getElementById('weights').toDataURL()")


def test_the_page_shows_the_run_its_seed_and_the_books_number(training, page):
    wait_for(page, lambda: "seed 2" in element(page, "description").text, 30)
    assert "[784, 100, 10]" in element(page, "description").text
    wait_for(page, lambda: element(page, "status").text == "training", 30)
    wait_for(page, lambda: "96.59%" in element(page, "accuracy-note").text, 60)


def test_progress_inside_the_epoch_is_shown(training, page):
    wait_for(page, lambda: "images/s" in element(page, "progress").text, 60)
    assert re.search(r"Epoch \d+ of 30: \d+ of 5000 mini-batches", element(page, "progress").text)


def test_the_curves_gain_a_point_per_epoch_and_the_pictures_change(training, page):
    wait_for(page, lambda: epochs_drawn(page) >= 1, 120)
    seen, pictures = [epochs_drawn(page)], {}
    pictures[seen[-1]] = weights_picture(page)
    deadline = time.monotonic() + 240
    while seen[-1] < seen[0] + 2 and time.monotonic() < deadline:
        drawn = epochs_drawn(page)
        if drawn != seen[-1]:
            seen.append(drawn)
            time.sleep(0.3)                      # the pictures of the epoch's end follow
            pictures[drawn] = weights_picture(page)
        time.sleep(0.05)
    assert seen == list(range(seen[0], seen[0] + 3)), seen
    assert training.epochs_printed() >= seen[-1]
    assert element(page, "costs-box").is_displayed()              # --monitor's costs
    assert int(element(page, "costs").get_attribute("data-epochs")) >= seen[-1]
    assert len(set(pictures.values())) == 3, "the first layer's pictures did not change"


CLICK_LARGEST_MISTAKE = """
const cells = [...document.querySelectorAll('#confusion button')]
  .filter(b => b.dataset.true !== b.dataset.answer && Number(b.textContent) > 0);
const chosen = cells.reduce((a, b) => Number(b.textContent) > Number(a.textContent) ? b : a);
chosen.click();
return [chosen.dataset.true, chosen.dataset.answer];
"""


def test_a_confusion_cell_opens_its_digits(training, page):
    from selenium.webdriver.common.by import By

    wait_for(page, lambda: page.find_elements(By.CSS_SELECTOR, "#confusion button"), 60)
    true, answer = page.execute_script(CLICK_LARGEST_MISTAKE)      # in one step: the table is
    wait_for(page, lambda: element(page, "cell-title").text.startswith(f"{true} read as {answer}"), 30)
    title, digits = page.execute_script(                            # in one step: the cell is
        "return [document.getElementById('cell-title').textContent,"  # redrawn every epoch
        " [...document.querySelectorAll('#cell .digit')].map(d => d.textContent)]")
    count = int(re.search(r"(?:all|of the) (\d+)", title).group(1))
    assert len(digits) == min(count, 48) > 0
    assert all(re.fullmatch(rf"{answer} ?\(\d+%\)", text) for text in digits), digits


def test_stop_ends_the_run_and_saves_a_model_that_loads(training, page):
    element(page, "stop").click()
    # A Stop is the end the learner asked for: the run ends as planned (0), not as Ctrl-C's 130.
    assert training.process.wait(120) == 0
    output = training.stdout()
    assert f"Saved the network to {training.model}" in output
    network, metadata = model_file.load(training.model)
    assert network.sizes == [784, 100, 10]
    history = json.loads(training.model.with_suffix(".json").read_text())["history"]
    assert history["stopped"] is True and len(history["seconds"]) < 30
    wait_for(page, lambda: "can no longer be reached" in element(page, "status").text, 30)

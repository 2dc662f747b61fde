"""``digits compare``: saved runs' histories on the same axes, as a PNG and as a page.

The runs are real: ``digits train`` for two epochs on the real MNIST files, once with
the book's chapter-1 settings and once with chapter 3's cross-entropy cost and eta 0.5,
saved where a user would save them.  The PNG is read back and the two runs' colours
looked for in it; the page is served as a user starts it and read by a plain HTTP
client and by headless Chromium (skipped where it is not installed).
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from digits.app.cli import main
from digits.app.compare import comparison_figure, differing, legend_label, load_run

# matplotlib's first two colours, the first and second run's curves
BLUE, ORANGE = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, mnist_data_dir):
    """Two models saved by ``digits train`` (2 epochs each): quadratic eta 3, cross-entropy eta 0.5."""
    folder = tmp_path_factory.mktemp("runs")
    paths = [folder / "quadratic.npz", folder / "cross-entropy.npz"]
    for path, flags in zip(paths, (["--eta", "3.0"], ["--cost", "cross-entropy", "--eta", "0.5"])):
        status = main(["train", "--epochs", "2", "--seed", "1", "--quiet", "--data", str(mnist_data_dir),
                       "--no-download", "--model", str(path), *flags])
        assert status == 0
    return paths


def colour_pixels(path, colour) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
    return int(np.count_nonzero(np.abs(pixels - colour).sum(axis=1) < 30))


def test_the_png_draws_both_runs(two_runs, tmp_path, capsys):
    output = tmp_path / "compared.png"
    assert main(["compare", *map(str, two_runs), "--output", str(output)]) == 0
    assert f"Drew {output}" in capsys.readouterr().out
    assert colour_pixels(output, BLUE) > 200 and colour_pixels(output, ORANGE) > 200


def test_the_legend_names_the_settings_that_differ(two_runs):
    runs = [load_run(path) for path in two_runs]
    names = differing(runs)
    assert names == ["cost", "eta"]
    assert legend_label(runs[0], names) == "quadratic.npz: cost quadratic, eta 3"
    assert legend_label(runs[1], names) == "cross-entropy.npz: cost cross-entropy, eta 0.5"


def test_each_runs_curve_is_its_history(two_runs):
    runs = [load_run(path) for path in two_runs]
    figure = comparison_figure(runs)
    axes = figure.axes[0]
    curves = {line.get_label(): line.get_ydata() for line in axes.get_lines()}
    for run in runs:
        history = run["history"]
        expected = [100 * count / history["n_evaluation"] for count in history["evaluation_accuracy"]]
        label = legend_label(run, ["cost", "eta"])
        assert list(curves[label]) == pytest.approx(expected)


def test_the_books_number_is_drawn_for_a_run_of_the_books_settings(two_runs):
    runs = [load_run(path) for path in two_runs]
    labels = [line.get_label() for line in comparison_figure(runs).axes[0].get_lines()]
    assert "quadratic.npz: the book, chapter 1: 95.42%" in labels
    assert "cross-entropy.npz: the book, chapter 3: 95.49%" in labels


def test_one_model_is_not_a_comparison(two_runs, capsys):
    assert main(["compare", str(two_runs[0])]) == 2
    assert "at least two" in capsys.readouterr().err


def test_a_model_without_its_json_is_refused_in_one_line(two_runs, tmp_path, capsys):
    alone = tmp_path / "alone.npz"
    alone.write_bytes(two_runs[0].read_bytes())
    assert main(["compare", str(alone), str(two_runs[1]), "--output", str(tmp_path / "x.png")]) == 1
    error = capsys.readouterr().err
    assert "alone.npz has no alone.json beside it" in error and error.count("\n") == 1


def test_a_json_of_another_archive_is_refused(two_runs, tmp_path, capsys):
    (tmp_path / "mixed.npz").write_bytes(two_runs[1].read_bytes())
    (tmp_path / "mixed.json").write_bytes(two_runs[0].with_suffix(".json").read_bytes())
    assert main(["compare", str(tmp_path / "mixed.npz"), str(two_runs[1])]) == 1
    assert "describes another network" in capsys.readouterr().err


# -- the page ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compare_page(two_runs, tmp_path_factory):
    """``python -m digits compare A B --port 0`` serving its page; ``(url, process)``."""
    log = tmp_path_factory.mktemp("compare") / "stdout.txt"
    with open(log, "wb") as stdout:
        process = subprocess.Popen([sys.executable, "-m", "digits", "compare", *map(str, two_runs),
                                    "--port", "0"], stdout=stdout, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not re.search(r"Open (http://\S+) in a browser", log.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    url = re.search(r"Open (http://\S+) in a browser", log.read_text()).group(1)
    yield url, process
    process.send_signal(signal.SIGINT)
    process.wait(10)


def get(url, path, headers=None):
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read()) if path.startswith("/api") else answer.read()
    finally:
        connection.close()


def test_the_page_serves_both_runs_curves(compare_page, two_runs):
    status, data = get(compare_page[0], "/api/runs")
    assert status == 200
    assert [run["name"] for run in data["runs"]] == ["quadratic.npz", "cross-entropy.npz"]
    assert data["differing"] == ["cost", "eta"]
    for run in data["runs"]:
        assert len(run["curves"]["evaluation_accuracy"]) == 2


def test_the_page_refuses_another_host_name(compare_page):
    status, answer = get(compare_page[0], "/api/runs", {"Host": "evil.example"})
    assert status == 421


def test_the_page_draws_both_runs_in_a_browser(compare_page):
    from test_watch_page import find_chromium, wait_for
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    browser_path, driver_path = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(argument)
    page = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        page.get(compare_page[0])
        wait_for(page, lambda: page.find_elements(By.CSS_SELECTOR, "#panels canvas"), 30)
        canvas = page.find_element(By.CSS_SELECTOR, "#panels canvas[data-key=evaluation_accuracy]")
        assert canvas.get_attribute("data-series") == "2"
        runs = [item.text for item in page.find_elements(By.CSS_SELECTOR, "#runs li")]
        assert runs == ["quadratic.npz: cost quadratic, eta 3", "cross-entropy.npz: cost cross-entropy, eta 0.5"]
    finally:
        page.quit()

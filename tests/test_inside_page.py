"""The page's view inside the network, in a real headless Chromium (Selenium).

A digit is drawn on the canvas with pointer events, as a mouse or a finger draws it;
the test then reads the page: the layers, a hidden neuron's z and a after a click,
backpropagation for another label, a step of gradient descent and Reset, each against
the numbers the API gives for the same drawing.  The same at a phone's width (390 px)
with touch-sized targets.  Skipped, saying why, where Chromium or its driver is missing.
"""

from __future__ import annotations

import base64
import re
import shutil

import numpy as np
import pytest

from test_inside_api import Serving, post

SEVEN = [[(-0.22, -0.28), (-0.05, -0.28), (0.1, -0.28), (0.22, -0.28), (0.15, -0.12),
          (0.08, 0.04), (0.02, 0.2), (-0.03, 0.32)]]
SCRIBBLE = [[(-0.3 + 0.04 * i, -0.3 + 0.05 * (i % 3)) for i in range(15)] for _ in range(3)]


def chromium():
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    browser = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Chromium or chromedriver not installed (Debian: apt-get install chromium chromium-driver)")
    return browser, driver


def start_browser(width, height, phone=False):
    """A headless Chromium; ``phone`` emulates a phone's screen (Chromium's windows are at least 500 px wide)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser_path, driver_path = chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    if phone:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 3, "touch": True}})
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.fixture(scope="module")
def served(tmp_path_factory, trained_network_file, conv_network_file):
    process = Serving(tmp_path_factory.mktemp("inside-page"), "--model", trained_network_file, conv_network_file)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def desktop():
    browser = start_browser(1100, 900)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def phone():
    browser = start_browser(390, 844, phone=True)
    yield browser
    browser.quit()


def open_page(browser, served):
    browser.get(served.url)
    wait_for(browser, lambda: not element(browser, "model").text.startswith("Loading"))
    return browser


def element(page, element_id):
    from selenium.webdriver.common.by import By

    return page.find_element(By.ID, element_id)


def wait_for(page, condition, seconds=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(page, seconds, poll_frequency=0.05).until(lambda _: condition())


def draw(page, strokes, pointer="mouse"):
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    canvas = element(page, "canvas")
    width, height = canvas.size["width"], canvas.size["height"]
    actions = ActionBuilder(page, mouse=PointerInput(pointer, pointer), duration=20)
    for stroke in strokes:
        points = [(round(x * width), round(y * height)) for x, y in stroke]
        actions.pointer_action.move_to(canvas, *points[0]).pointer_down()
        for point in points[1:]:
            actions.pointer_action.move_to(canvas, *point)
        actions.pointer_action.pointer_up()
    actions.perform()


def tap_cell(page, canvas, index, pointer="mouse"):
    """Click (or tap) the middle of cell ``index`` of a layer's grid of neurons.

    ``canvas`` is the grid, or the id of its layer's block: the grid is then found
    afresh, again if a late answer to the drawing redraws it meanwhile.
    """
    from selenium.common.exceptions import StaleElementReferenceException

    for attempt in range(3):
        grid = canvas if not isinstance(canvas, str) else \
            element(page, canvas).find_element("css selector", "canvas.cells")
        try:
            return _tap(page, grid, index, pointer)
        except StaleElementReferenceException:
            if attempt == 2 or not isinstance(canvas, str):
                raise


def _tap(page, canvas, index, pointer):
    cell, columns = int(canvas.get_attribute("data-cell")), int(canvas.get_attribute("data-columns"))
    x = (index % columns + 0.5) * cell - canvas.size["width"] / 2
    y = (index // columns + 0.5) * cell - canvas.size["height"] / 2
    press(page, canvas, pointer, round(x), round(y))


def press(page, target, pointer, x=0, y=0):
    """A tap of ``pointer`` ("mouse" or "touch") at (x, y) pixels from the middle of
    ``target``; a touch is tapped again if it made no click (:func:`tap_until_clicked`)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    def tap():
        actions = ActionBuilder(page, mouse=PointerInput(pointer, pointer), duration=20)
        actions.pointer_action.move_to(target, x, y).pointer_down().pointer_up()
        actions.perform()

    if pointer == "touch":
        tap_until_clicked(page, tap)
    else:
        tap()


def tap_until_clicked(page, tap, tries=3):
    """Tap, and tap again only if the browser turned the touch into no ``click`` at all.

    Headless Chromium's touch emulation now and then drops the click of a short tap that
    follows soon after another gesture (here the finger that drew the digit): the
    touchstart and touchend reach the page, the click never comes (about one run in ten on
    a loaded machine).  The page answers clicks, so a tap without one tests nothing of the
    page; a tap that did click is never repeated, so a second step or a second request
    cannot slip in.
    """
    from selenium.common.exceptions import TimeoutException

    page.execute_script("""
        if (window.clicksSeen === undefined) {
          window.clicksSeen = 0;
          document.addEventListener('click', () => { window.clicksSeen += 1; }, true);
        }""")
    for attempt in range(tries):
        before = page.execute_script("return window.clicksSeen")
        tap()
        try:
            return wait_for(page, lambda: page.execute_script("return window.clicksSeen") > before, seconds=2)
        except TimeoutException:
            if attempt == tries - 1:
                raise AssertionError(f"{tries} taps and the browser made no click of any of them")


def drawn_png(page) -> bytes:
    data_url = page.execute_script("return document.getElementById('canvas').toDataURL('image/png')")
    return base64.b64decode(data_url.split(",", 1)[1])


def drawn_and_read(page, pointer="mouse"):
    """Draw a seven and wait until the layers, backpropagation and saliency have come."""
    draw(page, SEVEN, pointer)
    wait_for(page, lambda: page.find_elements("css selector", "#layer-1") and
             element(page, "cost").text != "" and element(page, "saliency-caption").text != "")
    wait_for(page, lambda: "reads 7" in element(page, "inside-lead").text)


def number(text) -> float:
    return float(re.search(r"-?\d+(\.\d+)?(e[-+]?\d+)?", text).group(0))


@pytest.fixture
def page(desktop, served):
    return open_page(desktop, served)


def test_drawing_shows_every_layer_with_its_activation_and_size(page):
    drawn_and_read(page)
    titles = [block.text for block in page.find_elements("css selector", "#layers .layer h4")]
    assert titles == ["Layer 1 (hidden layer 1): fully connected, 30 neurons, sigmoid",
                      "Layer 2 (output layer): fully connected, 10 neurons, sigmoid"]
    grid = element(page, "layer-0").find_element("css selector", "canvas.cells")
    cell, columns = int(grid.get_attribute("data-cell")), int(grid.get_attribute("data-columns"))
    assert grid.size["width"] == cell * columns and grid.size["height"] == cell * -(-30 // columns)


def test_clicking_a_hidden_neuron_shows_its_z_and_a(page, served):
    drawn_and_read(page)
    tap_cell(page, "layer-0", 4)
    wait_for(page, lambda: element(page, "neuron-title").text.startswith("Layer 1, neuron 4 "))
    expected = post(served.port, "/api/neuron?layer=0&neuron=4", drawn_png(page))[1]
    assert number(element(page, "neuron-z").text) == pytest.approx(expected["z"], abs=1e-4)
    assert number(element(page, "neuron-a").text) == pytest.approx(expected["a"], abs=1e-4)
    weights = element(page, "neuron-weights")
    assert (weights.get_attribute("width"), weights.get_attribute("height")) == ("28", "28")
    assert element(page, "activation-plot").is_displayed()


def test_backpropagation_with_another_label(page, served):
    drawn_and_read(page)
    page.find_element("css selector", "#labels button[value='3']").click()
    wait_for(page, lambda: "for the label 3" in element(page, "cost").text)
    expected = post(served.port, "/api/backprop?label=3", drawn_png(page))[1]
    assert number(element(page, "cost-value").text) == pytest.approx(expected["cost"], rel=1e-3)
    headings = [h.text for h in page.find_elements("css selector", "#deltas h4")]
    assert headings[0].startswith("BP1") and headings[1].startswith("BP2, layer 1")
    rows = page.find_elements("css selector", "#gradients tr")
    assert len(rows) == 3 and rows[1].text.startswith("1 (30x784 weights)")


def bars(page, name):
    return [float(bar.get_attribute("data-value"))
            for bar in page.find_elements("css selector", f"#outputs-{name} .bar")]


def test_a_step_changes_the_outputs_and_reset_forgets_it(page, served):
    drawn_and_read(page)
    before = post(served.port, "/api/inside", drawn_png(page))[1]["layers"][-1]["a"]
    eta = element(page, "eta")
    eta.clear()
    eta.send_keys("3")
    element(page, "learn").click()
    wait_for(page, lambda: element(page, "steps").text.startswith("1 step taken"))
    assert bars(page, "before") == pytest.approx(before, abs=1e-6)
    assert bars(page, "after") != pytest.approx(before, abs=1e-7)
    wait_for(page, lambda: "after 1 step" in element(page, "inside-lead").text)
    element(page, "reset").click()
    wait_for(page, lambda: element(page, "steps").text.startswith("Reset"))
    wait_for(page, lambda: "copy" not in element(page, "inside-lead").text)


def test_the_overlay_toggles_between_occlusion_and_gradient(page):
    drawn_and_read(page)
    pixels = "return Array.from(document.getElementById('saliency').getContext('2d').getImageData(0, 0, 28, 28).data)"
    assert "erased" in element(page, "saliency-caption").text
    occlusion = page.execute_script(pixels)
    element(page, "show-gradient").click()
    assert "gradient" in element(page, "saliency-caption").text
    assert page.execute_script(pixels) != occlusion


def test_a_feature_map_of_the_conv_network_is_chosen_and_explained(page):
    from selenium.webdriver.support.ui import Select

    Select(element(page, "inside-model")).select_by_index(1)
    drawn_and_read(page)
    tiles = page.find_elements("css selector", "#layer-0 button.map")
    assert len(tiles) == 6 and all(len(tile.find_elements("css selector", "canvas")) == 2 for tile in tiles)
    tiles[2].click()
    wait_for(page, lambda: element(page, "neuron-title").text.startswith("Layer 1, feature map 2 at row"))
    assert "eq. 125" in element(page, "neuron").text


def test_the_page_sends_one_request_at_a_time(page):
    page.execute_script("""
        window.inFlight = 0; window.mostInFlight = 0; window.requests = 0;
        const original = window.fetch;
        window.fetch = async (...args) => {
          window.inFlight += 1; window.requests += 1;
          window.mostInFlight = Math.max(window.mostInFlight, window.inFlight);
          try { return await original(...args); } finally { window.inFlight -= 1; }
        };""")
    draw(page, SCRIBBLE)
    draw(page, SEVEN)
    wait_for(page, lambda: page.execute_script("return window.inFlight") == 0 and
             "reads" in element(page, "inside-lead").text)
    assert page.execute_script("return window.requests") >= 3
    assert page.execute_script("return window.mostInFlight") == 1


def test_the_page_requests_nothing_from_elsewhere(page, served):
    drawn_and_read(page)
    addresses = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(address.endswith("/inside.js") for address in addresses)
    assert all(address.startswith(served.url) for address in addresses)


# -- at a phone's width -------------------------------------------------------------------------

def test_at_a_phones_width_nothing_overflows_and_targets_are_touch_sized(phone, served):
    page = open_page(phone, served)
    drawn_and_read(page)
    assert page.execute_script("return document.documentElement.scrollWidth") <= 390
    sizes = page.execute_script("""
        return Array.from(document.querySelectorAll('#inside button, #inside select, #inside input'))
          .filter(e => e.offsetParent !== null)
          .map(e => { const r = e.getBoundingClientRect(); return [e.id || e.textContent, r.width, r.height]; });""")
    assert sizes and all(width >= 44 and height >= 44 for _, width, height in sizes), sizes
    grid = element(page, "layer-0").find_element("css selector", "canvas.cells")
    assert int(grid.get_attribute("data-cell")) >= 44


def test_at_a_phones_width_a_tap_shows_a_neuron(phone, served):
    page = open_page(phone, served)
    drawn_and_read(page, "touch")
    page.execute_script("document.getElementById('layer-0').scrollIntoView({block: 'center'})")
    tap_cell(page, "layer-0", 9, "touch")
    wait_for(page, lambda: element(page, "neuron-title").text.startswith("Layer 1, neuron 9 "))
    assert np.isfinite(number(element(page, "neuron-z").text))


def touch(page, target):
    """A finger's tap on the middle of ``target``."""
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    press(page, target, "touch")


def test_at_a_phones_width_backpropagation_a_step_and_reset_work_by_touch(phone, served):
    page = open_page(phone, served)
    drawn_and_read(page, "touch")
    touch(page, page.find_element("css selector", "#labels button[value='2']"))
    wait_for(page, lambda: "for the label 2" in element(page, "cost").text)
    expected = post(served.port, "/api/backprop?label=2", drawn_png(page))[1]
    assert number(element(page, "cost-value").text) == pytest.approx(expected["cost"], rel=1e-3)
    eta = element(page, "eta")
    eta.clear()
    eta.send_keys("3")
    touch(page, element(page, "learn"))
    wait_for(page, lambda: element(page, "steps").text.startswith("1 step taken"))
    assert bars(page, "after") != pytest.approx(bars(page, "before"), abs=1e-7)
    touch(page, element(page, "reset"))
    wait_for(page, lambda: element(page, "steps").text.startswith("Reset"))

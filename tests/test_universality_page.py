"""``digits serve``'s chapter-4 page: the training endpoint, and the page in headless Chromium.

The server is the real one (:class:`digits.app.server.DigitsServer`) on 127.0.0.1, run
in this process.  The page is driven as a learner drives it: a bump dragged with a
mouse, a finger on a phone-sized screen (390 px), the Train button pressed; the numbers
it shows are compared with :mod:`digits.nn.universality`'s.  The browser tests are
skipped, saying why, where Chromium or its driver is missing.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import threading

import pytest

from digits.app import universality as endpoint
from digits.app.models import load_models
from digits.app.server import DigitsServer
from digits.nn import universality


@pytest.fixture(scope="module")
def server(trained_network_file):
    serving = DigitsServer(load_models([trained_network_file]), "127.0.0.1", 0)
    thread = threading.Thread(target=serving.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield serving
    serving.shutdown()
    serving.server_close()


def request(server, method, path, body=b"", headers=None):
    """``(status, body)`` of one request to the server."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def train(server, body):
    status, content = request(server, "POST", endpoint.ROUTE, body, {"Content-Type": "application/json"})
    return status, json.loads(content)


# -- the endpoint ------------------------------------------------------------------------

def test_the_server_trains_a_network_of_two_neurons_per_bump(server):
    status, answer = train(server, b'{"bumps": 5}')
    assert status == 200
    assert answer["hidden"] == 10 and answer["epochs"] == endpoint.EPOCHS and not answer["stopped"]
    assert len(answer["x"]) == len(answer["y"]) == endpoint.CURVE_POINTS
    # The answer is the library's network: the same seed trains the same weights.
    network = universality.train(10, seed=1)
    assert answer["deviation"] == pytest.approx(universality.average_deviation(network), abs=1e-6)
    assert answer["y"][100] == pytest.approx(universality.outputs(network, [0.5])[0], abs=1e-6)


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "must be JSON"), (b"[5]", "whole number"), (b'{"bumps": 0}', "from 1 to 40"),
    (b'{"bumps": 41}', "from 1 to 40"), (b'{"bumps": 2.5}', "whole number"),
    (b'{"bumps": true}', "whole number"), (b"\xff\xfe", "must be JSON")])
def test_a_request_the_page_would_not_send_is_refused_in_one_line(server, body, reason):
    status, answer = train(server, body)
    assert status == 400 and reason in answer["error"] and "\n" not in answer["error"]


def test_a_large_body_is_refused_before_it_is_read(server):
    status, content = request(server, "POST", endpoint.ROUTE, b"x" * (endpoint.MAX_BODY + 1))
    assert status == 413


def test_another_sites_page_may_not_ask_for_training(server):
    status, _ = request(server, "POST", endpoint.ROUTE, b'{"bumps": 3}',
                        {"Origin": "http://elsewhere.example", "Content-Type": "application/json"})
    assert status == 403


def test_a_run_that_takes_too_long_stops_at_its_deadline():
    answer = endpoint.answer(b'{"bumps": 20}', max_seconds=0.05)
    assert answer["stopped"] and answer["epochs"] < endpoint.EPOCHS
    assert answer["seconds"] < 2


def test_the_page_and_its_files_are_served(server):
    for path, kind in (("/universality.html", "text/html"), ("/universality.js", "text/javascript"),
                       ("/universality.css", "text/css")):
        status, content = request(server, "GET", path)
        assert status == 200 and content
    status, content = request(server, "GET", "/")
    assert b'href="universality.html"' in content


def test_the_page_fetches_nothing_from_elsewhere(server):
    html, script, style = (request(server, "GET", f"/universality.{kind}")[1].decode() for kind in ("html", "js", "css"))
    assert set(re.findall(r'(?:src|href)="([^"]*)"', html)) == {
        "data:,", "index.html", "style.css", "universality.css", "universality.js"}
    assert set(re.findall(r'fetch\("([^"]*)"', script)) == {"api/universality/train"}
    for text in (html, script, style):
        assert not re.search(r"https?:|@import|url\(|@font-face", text, re.IGNORECASE)


# -- the page in Chromium ------------------------------------------------------------------

def browser(width, height, phone=False):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    binary = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                   if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip("Chromium or chromedriver not installed (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    if phone:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 3, "touch": True}})
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture(scope="module", params=["desktop", "phone"])
def page(request, server):
    phone = request.param == "phone"
    driver = browser(390, 844, phone=True) if phone else browser(1200, 900)
    driver.pointer = "touch" if phone else "mouse"
    driver.url_of_page = server.url() + "universality.html"
    yield driver
    driver.quit()


def element(page, element_id):
    from selenium.webdriver.common.by import By

    return page.find_element(By.ID, element_id)


def wait_for(page, condition, seconds=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(page, seconds, poll_frequency=0.05).until(lambda _: condition())


def open_page(page):
    page.get(page.url_of_page)
    wait_for(page, lambda: element(page, "deviation").get_attribute("data-value"))
    return page


def deviation(page, element_id="deviation"):
    return float(element(page, element_id).get_attribute("data-value"))


def drag(page, points):
    """Press on the plot at the first of ``points`` and move through the others, then lift.

    Points are (x, y) in the plot's own units: x in [0, 1] along f's axis, y the height.
    """
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    plot = element(page, "plot")
    width, height, pad = plot.size["width"], plot.size["height"], 28
    def offset(x, y):            # from the plot's centre, in CSS pixels
        return (round(pad + x * (width - 2 * pad) - width / 2), round(height - pad - y * (height - 2 * pad) - height / 2))
    actions = ActionBuilder(page, mouse=PointerInput(page.pointer, page.pointer), duration=30)
    actions.pointer_action.move_to(plot, *offset(*points[0])).pointer_down()
    for point in points[1:]:
        actions.pointer_action.move_to(plot, *offset(*point))
    actions.pointer_action.pointer_up()
    actions.perform()


def set_bumps(page, n):
    page.execute_script("const input = document.getElementById('bumps'); input.value = arguments[0];"
                        "input.dispatchEvent(new Event('input'));", n)
    wait_for(page, lambda: element(page, "bumps-value").text == str(n))


def test_the_page_starts_with_flat_bumps_and_says_how_far_they_are_from_f(page):
    open_page(page)
    assert element(page, "bumps-value").text == "5"
    assert element(page, "steps").get_attribute("data-neurons") == "10"
    assert 0.1 < deviation(page) < 0.3


def test_heights_from_f_give_the_libraries_deviation(page):
    open_page(page)
    element(page, "from-f").click()
    wait_for(page, lambda: abs(deviation(page) - universality.average_deviation(universality.construct(5))) < 1e-9)
    set_bumps(page, 20)
    element(page, "from-f").click()
    expected = universality.average_deviation(universality.construct(20))
    wait_for(page, lambda: abs(deviation(page) - expected) < 1e-9)
    assert element(page, "deviation").text == f"{expected:.4f}"
    assert element(page, "steps").get_attribute("data-neurons") == "40"


def test_dragging_a_bump_changes_the_deviation(page):
    open_page(page)
    element(page, "from-f").click()
    best = universality.average_deviation(universality.construct(5))
    wait_for(page, lambda: abs(deviation(page) - best) < 1e-9)
    drag(page, [(0.5, 0.45), (0.5, 0.7), (0.5, 0.9)])          # bump 2 of 5 pulled up, away from f
    wait_for(page, lambda: deviation(page) > best + 0.02)
    worse = deviation(page)
    drag(page, [(0.5, 0.9), (0.5, 0.45)])                        # and back near f(0.5)
    wait_for(page, lambda: deviation(page) < worse - 0.02)


def test_dragging_across_the_plot_sets_each_bump_it_crosses(page):
    open_page(page)
    element(page, "flat").click()
    wait_for(page, lambda: abs(deviation(page) - universality.average_deviation(
        universality.bump_network([0.5] * 5))) < 1e-9)
    drag(page, [(0.05, 0.25), (0.3, 0.25), (0.5, 0.45), (0.7, 0.3), (0.95, 0.75)])
    wait_for(page, lambda: deviation(page) < 0.09)


def test_the_training_button_draws_the_servers_network(page):
    open_page(page)
    set_bumps(page, 4)
    assert element(page, "plot").get_attribute("data-trained") == ""
    element(page, "train").click()
    wait_for(page, lambda: element(page, "plot").get_attribute("data-trained") == "4", seconds=60)
    trained = universality.average_deviation(universality.train(8, seed=1))
    assert deviation(page, "trained-deviation") == pytest.approx(trained, abs=1e-6)
    assert element(page, "trained-deviation").text == f"{trained:.4f}"
    assert "[1, 8, 1]" in element(page, "train-message").text


def test_the_page_fits_the_screen(page):
    open_page(page)
    width = page.execute_script("return document.documentElement.clientWidth")
    scrolled = page.execute_script("return document.documentElement.scrollWidth")
    assert scrolled <= width
    assert element(page, "plot").size["width"] <= width


def test_dragging_the_bumps_slider_adds_bumps(page):
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    open_page(page)
    element(page, "from-f").click()
    before = deviation(page)
    slider = element(page, "bumps")
    width = slider.size["width"]
    thumb = round(-width / 2 + (5 - 1) / 39 * width)          # the thumb at 5 of 1 to 40
    actions = ActionBuilder(page, mouse=PointerInput(page.pointer, page.pointer), duration=30)
    actions.pointer_action.move_to(slider, thumb, 0).pointer_down()
    for step in range(1, 6):
        actions.pointer_action.move_to(slider, thumb + step * round(width / 12), 0)
    actions.pointer_action.pointer_up()
    actions.perform()
    wait_for(page, lambda: int(element(page, "bumps-value").text) > 15)
    bumps = int(element(page, "bumps-value").text)
    assert element(page, "steps").get_attribute("data-neurons") == str(2 * bumps)
    element(page, "from-f").click()
    expected = universality.average_deviation(universality.construct(bumps))
    wait_for(page, lambda: abs(deviation(page) - expected) < 1e-9)
    assert deviation(page) < before


def test_smoother_steps_give_the_libraries_deviation_too(page):
    open_page(page)
    set_bumps(page, 5)
    element(page, "from-f").click()
    page.execute_script("const input = document.getElementById('weight'); input.value = 2;"
                        "input.dispatchEvent(new Event('input'));")
    wait_for(page, lambda: element(page, "weight-value").text == "100")
    expected = universality.average_deviation(universality.construct(5, w=100))
    wait_for(page, lambda: abs(deviation(page) - expected) < 1e-9)

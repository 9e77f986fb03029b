"""report.html and the backward-pass walkthrough in a real headless Chromium (selenium): no console
errors, every image loads, the walkthrough's controls step through the pass (also inline, as a
notebook shows it). Skipped, with the reason, where there is no Chromium and chromedriver
(`.ci/run` installs Debian's `chromium` and `chromium-driver`)."""
from __future__ import annotations

import os
import shutil

import pytest

from tinygrad_trade.viz import example_neuron, walkthrough

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")


def _browser():
    binary = next((b for b in map(shutil.which, BROWSERS) if b), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver") if os.path.exists(p)), None)
    return binary, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.common.exceptions import WebDriverException

    binary, driver_path = _browser()
    if binary is None or driver_path is None:
        pytest.skip("no headless browser: needs Chromium and chromedriver on PATH "
                    "(Debian: apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=opts)
    except WebDriverException as e:
        pytest.skip(f"Chromium did not start: {str(e).splitlines()[0]}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, path):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(path.as_uri())
    browser.execute_script("return document.readyState")


def test_the_checks_can_fail(browser, tmp_path):
    """A console error and a broken image are seen (so the other tests' checks mean something)."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><title>bad</title></head><body><img src='missing.png'>"
                   "<script>console.error('boom')</script></body></html>", encoding="utf-8")
    _open(browser, bad)
    assert [w for _, _, w in _images(browser)] == [0]
    errors = _console_errors(browser)
    assert any("boom" in e for e in errors) and any("missing.png" in e for e in errors)


def _console_errors(browser) -> list:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _images(browser) -> list:
    """(src head, complete, naturalWidth) of every <img> once all have finished loading."""
    return browser.execute_async_script("""
        var done = arguments[arguments.length - 1];
        var imgs = Array.from(document.images);
        Promise.all(imgs.map(function (i) { return i.decode().catch(function () {}); })).then(function () {
            done(imgs.map(function (i) { return [i.src.slice(0, 40), i.complete, i.naturalWidth]; }));
        });""")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from tinygrad_trade.vol.pipeline import ForecastConfig, draw_backprop_graph, prepare_out, run_forecast

    out = tmp_path_factory.mktemp("report")
    extra = {"sections": [("Backprop graph of a small net", "![backprop graph](backprop_graph.svg)")]}
    with prepare_out(out) as staged:   # files go in together at the end (vol.outdir)
        draw_backprop_graph(staged.path("backprop_graph.svg"))
        res = run_forecast(ForecastConfig(out=str(out), start="2017-01-01", models=("ewma", "har", "garch"),
                                          refit_every=126, quiet=True), report_extra=extra, out_dir=staged)
    return out / "report.html", res


def test_report_html_is_self_contained(report):
    path, res = report
    assert os.fspath(path) == res.paths["html"]
    page = path.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in page and "<svg" in page
    assert not any(s in page for s in ('src="http', "src='http", '<link ', "<script src"))


def test_report_html_in_the_browser(browser, report, tmp_path):
    path, res = report
    alone = tmp_path / "report.html"  # away from the plots: everything must come from the page itself
    shutil.copy(path, alone)
    _open(browser, alone)
    images = _images(browser)
    plots = [k for k in ("forecast_vs_realized", "cum_qlike_vs_har", "equity_curves", "var_bands", "traffic_light",
                         "training_loss", "gradient_flow") if k in res.paths]
    assert len(images) == len(plots) >= 3
    assert all(src.startswith("data:image/png") and complete and width > 0 for src, complete, width in images), images
    svg_width = browser.execute_script("var s = document.querySelector('figure svg');"
                                       "return s ? s.getBoundingClientRect().width : 0;")
    assert svg_width > 50  # the inline backprop graph is drawn
    assert browser.find_element("tag name", "h1").text
    assert len(browser.find_elements("css selector", "table")) >= 2
    assert _console_errors(browser) == []


def _check_stepping(browser):
    """The Prev/Next buttons and the keys move through every step; one step is visible at a time."""
    def state():
        return browser.execute_script("""
            var steps = Array.from(document.querySelectorAll('.step'));
            return [steps.findIndex(function (s) { return !s.hidden; }),
                    steps.filter(function (s) { return !s.hidden; }).length, steps.length,
                    document.getElementById('count').textContent,
                    document.getElementById('prev').disabled, document.getElementById('next').disabled];""")

    first = state()
    n = first[2]
    assert n == 10 and first[:2] == [0, 1] and first[3] == f"step 1 / {n}" and first[4] and not first[5]
    nxt, prev = browser.find_element("id", "next"), browser.find_element("id", "prev")
    for k in range(1, n):
        nxt.click()
        assert state()[:4] == [k, 1, n, f"step {k + 1} / {n}"]
    assert state()[5]  # Next is disabled at the last step
    prev.click()
    assert state()[0] == n - 2
    body = browser.find_element("tag name", "body")
    body.send_keys("\ue011")  # Home
    assert state()[0] == 0
    body.send_keys("\ue014")  # ArrowRight
    assert state()[0] == 1
    width = browser.execute_script("var s = document.querySelector('.step:not([hidden]) svg');"
                                   "return s.getBoundingClientRect().width;")
    assert width > 50


def test_walkthrough_page_steps_through_the_pass(browser, tmp_path):
    o = example_neuron()
    page = walkthrough(o, tmp_path / "steps.html")
    _open(browser, page)
    _check_stepping(browser)
    assert _images(browser) == []
    assert _console_errors(browser) == []


def test_walkthrough_inline_as_in_a_notebook(browser, tmp_path):
    frame = walkthrough(example_neuron())._repr_html_()
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>nb</title></head>"
                    f"<body>{frame}</body></html>", encoding="utf-8")
    _open(browser, host)
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    try:
        _check_stepping(browser)
    finally:
        browser.switch_to.default_content()
    assert _console_errors(browser) == []

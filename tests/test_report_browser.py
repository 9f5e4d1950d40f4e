"""report.html in a real headless browser (Chromium through its WebDriver): a smoke report's
page shows every plot embedded (no broken image, no file or URL outside the page) and its
verdicts in colour; a screenshot of it is taken. Skips only where no Chromium is installed
(CI installs Debian's chromium and chromium-driver: .ci/run)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture
def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium installed (apt-get install chromium chromium-driver)")


def _write(path: Path, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["problem_id,n,correct", *rows]) + "\n")


@pytest.fixture
def smoke_report(tmp_path) -> Path:
    """A smoke run of one experiment, beside results of another from an earlier command that
    fail the paper (so the page has failing points and colours of both kinds)."""
    earlier = tmp_path / "experiments" / "visual-easyr1" / "smoke" / "simulated" / "results"
    for name in ("base__mathvista-free.csv", "rl__mathvista-free.csv"):
        _write(earlier / name, [f"mathvista/{i},128,{i % 3}" for i in range(20)])
    (earlier / "environment.json").write_text(json.dumps({"python": "3.11.2", "packages": {"numpy": "2.3.1"}}))
    result = CliRunner().invoke(app, ["run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return tmp_path / "reports" / "smoke" / "report.html"


def test_the_report_page_shows_every_plot_embedded_and_verdicts_in_colour(chromium, smoke_report, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1800", "--hide-scrollbars"):
        options.add_argument(argument)
    # The driver installed beside the browser, never one downloaded (selenium-manager).
    driver_path = shutil.which("chromedriver")
    assert driver_path, "Chromium is installed without its driver (apt-get install chromium-driver)"
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get(smoke_report.as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src').slice(0, 22), i.complete, "
            "i.naturalWidth, i.alt])")
        markdown = smoke_report.with_suffix(".md").read_text()
        assert len(images) == markdown.count("](plots/") >= 2
        for source, complete, width, alt in images:
            assert source == "data:image/png;base64,", alt  # embedded: the page alone is the artifact
            assert complete and width > 0, f"broken image: {alt}"
        # Nothing else is loaded from outside the page (no stylesheet, script or frame).
        outside = driver.execute_script(
            "return Array.from(document.querySelectorAll('[src],link[href]'))"
            ".map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => !u.startsWith('data:'))")
        assert outside == []
        colours = driver.execute_script(
            "const bg = s => getComputedStyle(document.querySelector(s)).backgroundColor;"
            "return [bg('td.v-fail'), bg('td.v-pass'), bg('tr.row-fail')]")
        fail, passed, row = (tuple(map(int, re.findall(r"\d+", c)[:3])) for c in colours)
        assert fail[0] > fail[1] + 40 and passed[1] > passed[0] + 20 and row[0] > row[1]  # red, green, tinted
        assert driver.find_element("css selector", "blockquote").text.startswith("This is a smoke-tier report")
        screenshot = tmp_path / "report.png"
        assert driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    from matplotlib.image import imread

    pixels = imread(screenshot)
    assert pixels.shape[1] == 1280
    assert len({tuple(p) for p in pixels[::17, ::17, :3].reshape(-1, 3).round(2)}) > 20  # not a blank page

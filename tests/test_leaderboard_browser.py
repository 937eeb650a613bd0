"""The leaderboard page in a real headless Chromium: rows render, header clicks sort, plots load.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them). Skipped when they are
absent locally; in CI (CI=true) their absence is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from results_helpers import make_results, write_results

from vidret.hub.leaderboard import build_site

pytestmark = pytest.mark.browser

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _chromium() -> str | None:
    return next((path for path in CHROMIUM_CANDIDATES if os.access(path, os.X_OK)), None) or shutil.which("chromium")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _require_browser(chromedriver: str = CHROMEDRIVER) -> str:
    """The chromium binary; skips the test when it or the driver is missing, fails instead in CI."""
    chromium = _chromium()
    if chromium is None or not os.access(chromedriver, os.X_OK):
        reason = "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
        if _in_ci():
            pytest.fail(f"browser test cannot run in CI: {reason}")
        pytest.skip(reason)
    return chromium


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("1", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_browser_fails_in_ci_and_skips_locally(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromium-driver"):
        _require_browser(chromedriver=str(tmp_path / "no-chromedriver"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-sync",
        "--disable-component-update",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    # An explicit driver path: selenium-manager must not try to download a driver.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("leaderboard")
    scores = {"acme/a": 20, "acme/b": 45, "acme/c": 5, "acme/d": 33}
    for model_id, base in scores.items():
        revision = "v0.9.0" if model_id == "acme/d" else "v1.0.0"
        # MnR comes from the same ranks as R@K (validation checks they agree): four distinct values.
        results = make_results("lovr", model_id=model_id, base=base, dataset_revision=revision)
        write_results(root / "results" / f"{model_id.replace('/', '__')}.json", results)
        write_results(root / "results" / f"{model_id.replace('/', '__')}_covr.json", make_results("tf-covr", model_id=model_id, base=base))
    build_site(root / "results", root / "site")
    return root / "site"


def column_values(driver, key: str) -> list[float]:
    return driver.execute_script(
        """
        const table = document.querySelector("table.leaderboard");
        const index = Array.from(table.tHead.rows[0].cells).findIndex(th => th.dataset.key === arguments[0]);
        return Array.from(table.tBodies[0].rows).map(row => parseFloat(row.cells[index].dataset.value));
        """,
        key,
    )


def test_table_sorting_plots_and_screenshot(browser, site, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get((site / "lovr.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "table.leaderboard tbody tr")
    assert len(rows) == 4
    assert all(row.is_displayed() for row in rows)
    assert len(browser.find_elements(By.CSS_SELECTOR, "tbody tr.flagged")) == 1
    assert column_values(browser, "t2v/R@1") == sorted(column_values(browser, "t2v/R@1"), reverse=True)

    # MnR: lower is better, so the first click sorts ascending; the second reverses it.
    header = browser.find_element(By.CSS_SELECTOR, 'th[data-key="t2v/MnR"]')
    header.find_element(By.TAG_NAME, "button").click()
    ascending = column_values(browser, "t2v/MnR")
    assert ascending == sorted(ascending) and len(set(ascending)) == 4
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert column_values(browser, "t2v/MnR") == sorted(ascending, reverse=True)

    # R@5 (higher is better): first click puts the best first.
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="t2v/R@5"] button').click()
    descending = column_values(browser, "t2v/R@5")
    assert descending == sorted(descending, reverse=True)
    names = [row.find_element(By.TAG_NAME, "td").text for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert names == ["acme/b", "acme/d", "acme/a", "acme/c"]

    # Text column: model names sort alphabetically (ascending on first click).
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="model"] button').click()
    names = [row.find_element(By.TAG_NAME, "td").text for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert names == ["acme/a", "acme/b", "acme/c", "acme/d"]

    images = browser.find_elements(By.CSS_SELECTOR, ".plots img")
    assert len(images) == 4
    widths = [browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) for img in images]
    assert all(width and width > 0 for width in widths), widths

    shot = tmp_path / "lovr.png"
    assert browser.save_screenshot(str(shot))
    from PIL import Image, ImageStat

    with Image.open(shot) as image:
        variance = ImageStat.Stat(image.convert("L")).var[0]
        assert image.size[0] > 800
    assert variance > 100, f"screenshot looks blank (pixel variance {variance:.1f})"


def test_index_and_tf_covr_page(browser, site):
    from selenium.webdriver.common.by import By

    browser.get((site / "index.html").as_uri())
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "ul a")]
    assert [Path(link).name for link in links] == ["lovr.html", "tf-covr.html"]
    browser.find_element(By.CSS_SELECTOR, 'ul a[href="tf-covr.html"]').click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.leaderboard tbody tr")) == 4
    image = browser.find_element(By.CSS_SELECTOR, ".plots img")
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 0
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="cvr/mAP@5"] button').click()
    values = column_values(browser, "cvr/mAP@5")
    assert values == sorted(values, reverse=True)

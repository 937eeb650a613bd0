"""The leaderboard page in a real headless Chromium: rows render, header clicks sort, plots load.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them). Skipped when they are
absent locally; in CI (CI=true) their absence is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from results_helpers import make_results, with_per_query, write_results

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
    # Runs with per-query data: intervals, and e is within noise of the best (b) on t2v... or not; f is a
    # local model whose path must not show; the oracle is a check.
    for model_id, skill, seed in (("acme/e", 0.6, 0), ("acme/f", 0.59, 1)):
        results = with_per_query(make_results("lovr", model_id=model_id), skill, seed=seed)
        write_results(root / "results" / f"{model_id.replace('/', '__')}.json", results)
    local = with_per_query(make_results("tf-covr", model_id="/home/alice/models/tiny-clip"), 0.5)
    local["model"]["fingerprint"] = "0123456789abcdef"
    write_results(root / "results" / "local_covr.json", local)
    oracle = make_results("lovr", model_id="oracle", base=100)
    oracle["model"]["adapter"] = "oracle"
    write_results(root / "results" / "oracle.json", oracle)
    build_site(root / "results", root / "site")
    return root / "site"


def column_values(driver, key: str, table_id: str = "leaderboard-lovr-t2v") -> list[float]:
    return driver.execute_script(
        """
        const table = document.getElementById(arguments[1]);
        const index = Array.from(table.tHead.rows[0].cells).findIndex(th => th.dataset.key === arguments[0]);
        return Array.from(table.tBodies[0].rows).map(row => parseFloat(row.cells[index].dataset.value));
        """,
        key,
        table_id,
    )


def model_names(driver, table_id: str = "leaderboard-lovr-t2v") -> list[str]:
    from selenium.webdriver.common.by import By

    return [el.text for el in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody .model-name")]


def overflowing_tables(driver) -> list[str]:
    """Ids of the tables wider than their scrolling box (the reader would have to scroll sideways)."""
    return driver.execute_script(
        """
        return Array.from(document.querySelectorAll(".table-wrap"))
          .filter(wrap => wrap.scrollWidth > wrap.clientWidth + 1)
          .map(wrap => wrap.querySelector("table").id);
        """
    )


def test_table_sorting_plots_and_screenshot(browser, site, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get((site / "lovr.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-lovr-t2v tbody tr")
    assert len(rows) == 7
    assert all(row.is_displayed() for row in rows)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#leaderboard-lovr-t2v tbody tr.flagged")) == 1
    ranked = [v for v in column_values(browser, "t2v/R@1")][:-1]  # the oracle (a check) comes last
    assert ranked == sorted(ranked, reverse=True)
    assert model_names(browser)[-1] == "oracle"

    # MnR: lower is better, so the first click sorts ascending; the second reverses it.
    header = browser.find_element(By.CSS_SELECTOR, '#leaderboard-lovr-t2v th[data-key="t2v/MnR"]')
    header.find_element(By.TAG_NAME, "button").click()
    ascending = column_values(browser, "t2v/MnR")
    assert ascending == sorted(ascending) and len(set(ascending)) == 7
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert column_values(browser, "t2v/MnR") == sorted(ascending, reverse=True)

    # R@5 (higher is better) in another task's table: first click puts the best first.
    browser.find_element(By.CSS_SELECTOR, '#leaderboard-lovr-v2t th[data-key="v2t/R@5"] button').click()
    descending = column_values(browser, "v2t/R@5", "leaderboard-lovr-v2t")
    assert descending == sorted(descending, reverse=True)

    # Text column: model names sort alphabetically (ascending on first click).
    browser.find_element(By.CSS_SELECTOR, '#leaderboard-lovr-t2v th[data-key="model"] button').click()
    names = model_names(browser)
    assert names == sorted(names) and "acme/a" in names

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


def test_page_shows_intervals_ties_and_the_check_row(browser, site):
    from selenium.webdriver.common.by import By

    browser.get((site / "lovr.html").as_uri())
    cells = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-lovr-t2v tbody td .ci")
    shown = [cell.text for cell in cells if cell.is_displayed()]
    assert len([text for text in shown if text.startswith("± ")]) == 2 * 6  # e and f, every metric
    titled = browser.find_element(By.CSS_SELECTOR, '#leaderboard-lovr-t2v td[title^="95% interval"]')
    assert titled.is_displayed() and " to " in titled.get_attribute("title")
    old = browser.find_element(By.CSS_SELECTOR, '#leaderboard-lovr-t2v td[title^="no interval"]')
    assert "±" not in old.text
    check = browser.find_element(By.CSS_SELECTOR, "#leaderboard-lovr-t2v tbody tr.check")
    assert check.find_element(By.CSS_SELECTOR, "td").text == "check"
    assert check.find_element(By.CSS_SELECTOR, ".badge.check").is_displayed()
    browser.get((site / "tf-covr.html").as_uri())
    assert "/home/alice" not in browser.page_source
    assert "tiny-clip" in model_names(browser, "leaderboard-tf-covr-cvr")


def test_ties_are_marked_at_the_top(browser, tmp_path):
    from selenium.webdriver.common.by import By

    for model_id, skill, seed in (("acme/a", 0.45, 0), ("acme/b", 0.44, 1), ("acme/c", 0.1, 2)):
        write_results(tmp_path / "in" / f"{model_id[-1]}.json", with_per_query(make_results("tf-covr", model_id=model_id), skill, seed=seed))
    build_site(tmp_path / "in", tmp_path / "site")
    browser.get((tmp_path / "site" / "tf-covr.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-tf-covr-cvr tbody tr")
    ranks = [row.find_element(By.TAG_NAME, "td").text.replace("tied", "").strip() for row in rows]
    assert ranks == ["1", "1", "3"]
    assert [row.get_attribute("class") for row in rows] == ["", "tied", ""]
    badge = browser.find_element(By.CSS_SELECTOR, "tr.tied .badge.tied")
    assert badge.is_displayed() and "p = " in badge.get_attribute("title")


@pytest.mark.parametrize("width", [1280, 1024])
def test_tables_fit_common_widths_without_sideways_scrolling(browser, site, width):
    browser.set_window_size(width, 1000)
    try:
        for page in ("lovr.html", "tf-covr.html"):
            browser.get((site / page).as_uri())
            assert browser.execute_script("return document.documentElement.clientWidth") <= width
            assert overflowing_tables(browser) == [], (page, width)
    finally:
        browser.set_window_size(1400, 1000)


def test_index_and_tf_covr_page(browser, site):
    from selenium.webdriver.common.by import By

    browser.get((site / "index.html").as_uri())
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "ul a")]
    assert [Path(link).name for link in links] == ["lovr.html", "tf-covr.html"]
    browser.find_element(By.CSS_SELECTOR, 'ul a[href="tf-covr.html"]').click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#leaderboard-tf-covr-cvr tbody tr")) == 5
    image = browser.find_element(By.CSS_SELECTOR, ".plots img")
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 0
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="cvr/mAP@5"] button').click()
    values = column_values(browser, "cvr/mAP@5", "leaderboard-tf-covr-cvr")
    assert values == sorted(values, reverse=True)

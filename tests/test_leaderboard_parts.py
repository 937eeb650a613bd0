"""The leaderboard package's parts: row flags, labels from the registry, plots (order by K, legends),
templates (autoescape, links), and the index's top rows."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from results_helpers import make_results, with_change, with_per_query, write_results

from vidret.benchmarks import get_benchmark
from vidret.hub.leaderboard import (
    RowFlag,
    build_table,
    collect_results,
    labels,
    plot_table,
    render_board_html,
    render_index,
    render_page,
    task_records,
)
from vidret.hub.leaderboard import render as render_module

PACKAGE = Path(render_module.__file__).parent
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def figures(monkeypatch) -> list[Figure]:
    """Every figure `plot_table` saves, kept for inspection."""
    saved: list[Figure] = []
    original = Figure.savefig

    def keep(self, *args, **kwargs):
        saved.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return saved


def legend_texts(figure: Figure) -> list[str]:
    return [text.get_text() for text in figure.legends[0].get_texts()]


# ---------------------------------------------------------------- flags


def test_row_flags_round_trip_through_their_values():
    for flag in RowFlag:
        assert RowFlag(flag.value) is flag
        assert str(flag) == f"{flag}" == flag.value  # text of a flag is its value, never "RowFlag.X"
        assert flag.badge and flag.css
    with pytest.raises(ValueError, match="is not a valid RowFlag"):
        RowFlag("local path")

    check = make_results("lovr", model_id="oracle", base=100)
    check["model"]["adapter"] = "oracle"
    odd = with_change(make_results("lovr", model_id="acme/odd", random_weights=True, dataset_revision="v0.9.0"), "settings.limit", 5)
    table = build_table([check, odd, make_results("lovr", model_id="acme/a"), make_results("lovr", model_id="acme/b")], "lovr")
    flags = {row["model"]: row["flags"] for row in table.rows}
    assert flags == {
        "acme/a": [],
        "acme/b": [],
        "acme/odd": [RowFlag.RANDOM_WEIGHTS, RowFlag.SUBSET, RowFlag.OTHER_REVISION],
        "oracle": [RowFlag.CHECK],
    }
    # JSON carries the values; reading them back gives the same members.
    for row in table.rows:
        assert [RowFlag(value) for value in json.loads(json.dumps(row["flags"]))] == row["flags"]
    # Each flag is a badge on the page, and a note in the Space's records.
    html = render_board_html(table, table.boards[0])
    for flag in RowFlag:
        assert f'<span class="badge {flag.css}"' in html
    records = {record["Model"]: record["Flags"] for record in task_records(table, "t2v")}
    assert records["acme/odd"] == "random weights; subset; dataset revision differs"
    assert records["oracle"] == RowFlag.CHECK.note


# ---------------------------------------------------------------- labels


def test_labels_come_from_the_registry():
    lovr = get_benchmark("lovr")
    official = lovr.protocol("official")
    assert labels.table_label(lovr, official) == f"{lovr.short_title} (official)"
    assert labels.table_title(lovr, official) == f"{lovr.title} (official protocol)"
    assert labels.page_name(lovr, official) == "lovr_official"
    assert labels.page_label("lovr_official") == labels.table_label(lovr, official)
    assert labels.page_label("not-a-page") == "not-a-page"
    assert [spec.benchmark for spec in labels.registered_benchmarks()][:2] == ["lovr", "tf-covr"]
    table = build_table([make_results("lovr", protocol="official")], "lovr", "official")
    assert (table.label, table.page) == ("LoVR (official)", "lovr_official")


def test_a_benchmark_id_that_cannot_name_a_page_is_refused():
    lovr = get_benchmark("lovr")
    for bad in ("../lovr", "javascript:alert(1)", "a/b", ""):
        with pytest.raises(ValueError, match="cannot name a leaderboard page"):
            labels.page_name(dataclasses.replace(lovr, benchmark=bad), lovr.protocol())


def test_space_tabs_are_named_by_the_package_not_by_parsing_titles(tmp_path):
    write_results(tmp_path / "a.json", make_results("lovr", model_id="acme/a"))
    write_results(tmp_path / "b.json", make_results("lovr", model_id="acme/b", protocol="official"))
    spec = importlib.util.spec_from_file_location("leaderboard_space_app_tabs", REPO_ROOT / "spaces" / "leaderboard" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    tabs = app.load_tables(tmp_path)
    assert [tab.label for tab in tabs] == ["LoVR", "LoVR (official)", "TF-CoVR"]
    assert "split(" not in (REPO_ROOT / "spaces" / "leaderboard" / "app.py").read_text()


# ---------------------------------------------------------------- plots


def test_map_bars_are_ordered_by_k(tmp_path, figures):
    results = [make_results("tf-covr", model_id="acme/a", base=30), make_results("tf-covr", model_id="acme/b", base=12)]
    table = build_table(results, "tf-covr")
    assert table.tasks["cvr"][0] == "mAP@50"  # the headline comes first in the table ...
    plot_table(table, tmp_path)
    (figure,) = figures
    axes = figure.axes[0]
    ticks = [label.get_text() for label in axes.get_xticklabels()]
    assert ticks == ["mAP@5", "mAP@10", "mAP@25", "mAP@50"]  # ... but the bars go by K
    first_row_bars = [bar.get_height() for bar in axes.containers[0]]
    assert first_row_bars == [table.rows[0][f"cvr/{metric}"] for metric in ticks]


def test_recall_curves_are_ordered_by_k(tmp_path, figures):
    plot_table(build_table([make_results("lovr", model_id="acme/a")], "lovr"), tmp_path)
    for figure in figures:
        (line,) = figure.axes[0].get_lines()
        assert list(line.get_xdata()) == [1, 5, 10, 50]


def test_runs_with_the_same_label_get_distinct_legend_entries(tmp_path, figures):
    base = make_results("lovr", model_id="acme/a", base=30)
    same_but_pooling = with_change(make_results("lovr", model_id="acme/a", base=20), "settings.pooling", "max")
    same_but_data = make_results("lovr", model_id="acme/a", base=10, dataset_revision="v0.9.0")
    table = build_table([base, same_but_pooling, same_but_data], "lovr")
    plot_table(table, tmp_path)
    for figure in figures:
        texts = legend_texts(figure)
        assert len(texts) == 3 and len(set(texts)) == 3, texts
        assert texts == ["a@0123abc (8f) [224x224]", "a@0123abc (8f) [224x224, pooling max]", "a@0123abc (8f) [224x224] #2"]


# ---------------------------------------------------------------- templates


def test_model_ids_are_escaped_by_the_templates_autoescape(tmp_path):
    evil = make_results("lovr", model_id="<script>alert('x')</script>", dataset_revision='"><img src=x>')
    table = build_table([evil, make_results("lovr", model_id="acme/a"), make_results("lovr", model_id="acme/b")], "lovr")
    page = render_page(table, plot_table(table, tmp_path), [table.page])
    index = render_index([table])
    for html in (page, index):
        assert "<script>alert" not in html and "<img src=x>" not in html
        # markupsafe's escapes ("'" → &#39;), where html.escape would write &#x27;: the template escaped it.
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert 'title="dataset revision &#34;&gt;&lt;img src=x&gt;, not the most common one' in page
    assert render_module.environment().autoescape is True
    sources = "".join(path.read_text() for path in PACKAGE.glob("*.py"))
    assert "html.escape" not in sources and "import html" not in sources and ".replace(\"{{" not in sources
    assert sorted(path.name for path in PACKAGE.glob("*.jinja")) == [
        "base.html.jinja",
        "index.html.jinja",
        "page.html.jinja",
        "tables.html.jinja",
    ]


def test_links_must_be_plain_file_names():
    table = build_table([make_results("lovr")], "lovr")
    with pytest.raises(ValueError, match="cannot be linked"):
        render_page(table, [], ["javascript:alert(1)"])
    with pytest.raises(ValueError, match="cannot be linked"):
        render_page(table, [(Path("/tmp/x/../evil path.png"), "caption")], [table.page])


def test_no_module_of_the_package_is_over_500_lines():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 500, path.name


# ---------------------------------------------------------------- index


def top_rows(index: str, page: str) -> list[dict]:
    body = index.split(f'id="top-{page}"')[1].split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for tr in re.findall(r"<tr[^>]*>.*?</tr>", body):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr)
        rows.append(
            {
                "rank": re.sub(r"<span.*", "", cells[0]),
                "model": re.search(r'class="model-name">(.*?)<', cells[1]).group(1),
                "badges": re.findall(r'class="badge [^"]+"[^>]*>(.*?)<', cells[0] + cells[1]),
                "score": cells[2],
            }
        )
    return rows


def test_index_shows_each_benchmarks_top_rows_with_badges_and_intervals():
    lovr = [
        with_per_query(make_results("lovr", model_id="acme/random", random_weights=True), 0.7, seed=0),
        with_change(with_per_query(make_results("lovr", model_id="acme/subset"), 0.3, seed=1), "settings.limit", 5),
        make_results("lovr", model_id="acme/old", base=20, dataset_revision="v0.9.0"),
        make_results("lovr", model_id="acme/four", base=8),
        make_results("lovr", model_id="acme/five", base=4),
    ]
    oracle = make_results("lovr", model_id="oracle", base=100)
    oracle["model"]["adapter"] = "oracle"
    covr = [with_per_query(make_results("tf-covr", model_id=f"acme/{n}"), 0.45 - i / 100, seed=i) for i, n in enumerate("abcd")]
    tables = [build_table([*lovr, oracle], "lovr"), build_table(covr, "tf-covr")]
    index = render_index(tables)

    rows = top_rows(index, "lovr")
    assert [row["model"] for row in rows] == ["acme/random", "acme/subset", "acme/old"]  # top 3, never the oracle
    assert [row["badges"] for row in rows] == [["random weights"], ["subset"], ["other data"]]
    assert "± " in rows[0]["score"] and "± " not in rows[2]["score"]  # intervals where the results have them
    assert "the top 3 of 5 ranked runs" in index and "ranked by R@1" in index

    # Every run tied with the best is shown, even past the first three.
    tied = top_rows(index, "tf-covr")
    assert len(tied) == 4 and [row["rank"] for row in tied] == ["1"] * 4
    assert [row["badges"] for row in tied] == [[]] + [["tied"]] * 3
    # The page links stay the only links of the list (the browser test follows them).
    assert re.findall(r'<a href="([^"]+)"', index.split('<ul class="benchmarks">')[1]) == ["lovr.html", "tf-covr.html"]


def test_a_null_protocol_is_the_default_protocol_like_an_absent_one(tmp_path):
    null = with_change(make_results("lovr", model_id="acme/null"), "settings.protocol", None)
    absent = make_results("lovr", model_id="acme/absent")
    absent["settings"].pop("protocol", None)
    write_results(tmp_path / "null.json", null)
    write_results(tmp_path / "absent.json", absent)
    collected = collect_results(tmp_path)  # both are valid results files
    assert sorted(row["model"] for row in build_table(collected, "lovr").rows) == ["acme/absent", "acme/null"]
    assert build_table(collected, "lovr", "official").rows == []

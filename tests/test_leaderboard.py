"""Leaderboard tables, the static site, `vidret leaderboard`, and the Space app's table."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from results_helpers import make_results, with_change, with_per_query, write_results

from vidret.benchmarks import BENCHMARKS
from vidret.cli.main import main
from vidret.evaluation.results.validation import ResultsValidationError
from vidret.hub.leaderboard import (
    build_site,
    build_table,
    collect_results,
    display_model,
    plot_table,
    render_board_html,
    render_index,
    render_page,
    task_records,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def sample_results() -> list[dict]:
    return [
        make_results("lovr", model_id="acme/a", base=20),
        make_results("lovr", model_id="acme/b", base=40),
        make_results("lovr", model_id="acme/c", base=10, dataset_revision="v0.9.0"),
        make_results("tf-covr", model_id="acme/a", base=30),
        make_results("tf-covr", model_id="acme/b", base=12, random_weights=True),
    ]


def index_top_rows(index: str, page: str) -> list[tuple[str, str, list[str]]]:
    """(rank text, model, badge texts) of each row of the index's top table for `page`."""
    if f'id="top-{page}"' not in index:
        return []
    body = index.split(f'id="top-{page}"')[1].split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body):
        rank = re.sub(r"<span.*", "", re.search(r"<td[^>]*>(.*?)</td>", tr).group(1))
        model = re.search(r'<span class="model-name">(.*?)</span>', tr).group(1)
        badges = re.findall(r'<span class="badge [^"]+"[^>]*>(.*?)</span>', tr)
        rows.append((rank, model, badges))
    return rows


def write_sample_dir(root: Path) -> Path:
    for i, results in enumerate(sample_results()):
        write_results(root / "results" / results["model"]["id"].replace("/", "__") / f"{i}" / f"{results['benchmark']}.json", results)
    return root


def test_build_table_rows_boards_and_order():
    table = build_table(sample_results(), "lovr")
    assert [row["model"] for row in table.rows] == ["acme/b", "acme/a", "acme/c"]  # by t2v R@1, best first
    assert table.sort_key == "t2v/R@1"
    assert [board.task_id for board in table.boards] == BENCHMARKS["lovr"].default_tasks()
    for board in table.boards:
        spec = BENCHMARKS["lovr"].tasks[board.task_id]
        assert board.headline == spec.main_score and board.metrics[0] == spec.main_score
        assert sorted(board.metrics) == sorted(spec.metrics)
        assert [table.rows[e.run]["model"] for e in board.entries] == ["acme/b", "acme/a", "acme/c"]
        assert [e.position for e in board.entries] == [1, 2, 3]
        assert [e.gallery_size for e in board.entries] == [12, 12, 12]
    assert table.rows[0]["t2v/R@1"] == sample_results()[1]["tasks"]["t2v"]["metrics"]["R@1"]
    assert table.rows[0]["date"] == "2026-03-01"
    # Old-style results (no per-query data): no interval, no tie test.
    assert all(e.ci_low == {} and e.tied is None for board in table.boards for e in board.entries)


def test_each_task_table_puts_the_headline_first_with_gallery_size():
    table = build_table(sample_results(), "tf-covr")
    html = render_board_html(table, table.boards[0])
    headers = re.findall(r'data-key="([^"]+)"', html.split("</thead>")[0])
    assert headers == ["rank", "model", "cvr/mAP@50", "cvr/mAP@5", "cvr/mAP@10", "cvr/mAP@25", "cvr/R@1", "cvr/R@5", "cvr/R@10", "cvr/R@50", "gallery_size", "num_queries"]
    assert 'class="headline"' in html and 'aria-sort="descending"' in html
    assert html.count('data-key="gallery_size"') == 1 and '<td class="number" data-value="12.0">12</td>' in html


def test_differing_dataset_revision_and_random_weights_are_flagged():
    lovr = build_table(sample_results(), "lovr")
    assert lovr.reference_revision == "v1.0.0"
    assert {row["model"]: row["flags"] for row in lovr.rows} == {
        "acme/a": [],
        "acme/b": [],
        "acme/c": ["dataset revision differs"],
    }
    covr = build_table(sample_results(), "tf-covr")
    assert [row["flags"] for row in covr.rows] == [[], ["random weights"]]
    assert list(covr.tasks) == ["cvr"]


def test_reruns_keep_the_latest_and_other_benchmarks_are_ignored():
    old = make_results("lovr", model_id="acme/a", base=5, created_at="2026-01-01T00:00:00Z")
    new = make_results("lovr", model_id="acme/a", base=25, created_at="2026-02-01T00:00:00Z")
    other_frames = make_results("lovr", model_id="acme/a", base=15, frames=16)
    table = build_table([new, old, other_frames, make_results("tf-covr")], "lovr")
    assert sorted((row["frames"], row["date"]) for row in table.rows) == [(8, "2026-02-01"), (16, "2026-03-01")]


def test_runs_differing_in_any_scoring_setting_are_separate_rows():
    base = make_results("lovr", model_id="acme/a")
    variants = [
        base,
        with_change(base, "settings.pooling", "max"),
        with_change(base, "settings.decode_mode", "keyframe"),
        with_change(base, "settings.limit", 5),
        with_change(base, "settings.long_video", {"segments": "window", "window_s": 30.0, "aggregate": "max"}),
    ]
    rerun = with_change(base, "settings.batch_size", 64)  # speed only: a rerun of the first row
    rerun["created_at"] = "2026-04-01T00:00:00Z"
    table = build_table([*variants, rerun], "lovr")
    assert sorted(row["settings"] for row in table.rows) == [
        "224x224",
        "224x224, 30.0 s windows, max of segments",
        "224x224, keyframe decoding",
        "224x224, limit 5",
        "224x224, pooling max",
    ]
    assert next(row for row in table.rows if row["settings"] == "224x224")["date"] == "2026-04-01"
    assert [row["flags"] for row in table.rows if "limit" in row["settings"]] == [["subset"]]
    assert 'class="badge subset"' in render_board_html(table, table.boards[0])


def test_latest_run_is_found_across_time_zones():
    earlier = make_results("lovr", model_id="acme/a", base=5, created_at="2026-03-01T13:00:00+02:00")  # 11:00 UTC
    later = make_results("lovr", model_id="acme/a", base=25, created_at="2026-03-01T12:00:00Z")
    for order in ([earlier, later], [later, earlier]):
        (row,) = build_table(order, "lovr").rows
        assert row["t2v/R@1"] == later["tasks"]["t2v"]["metrics"]["R@1"]


def test_partial_results_leave_cells_empty():
    partial = with_change(make_results("lovr", model_id="acme/p"), "tasks", {"t2v": make_results("lovr")["tasks"]["t2v"]})
    table = build_table([partial, make_results("lovr")], "lovr")
    row = next(r for r in table.rows if r["model"] == "acme/p")
    assert row["t2c/R@1"] is None
    t2c = next(board for board in table.boards if board.task_id == "t2c")
    assert [table.rows[e.run]["model"] for e in t2c.entries] == ["acme/vclip"]  # acme/p did not score t2c


def test_empty_and_unknown_benchmark():
    assert build_table([], "tf_covr").rows == []
    with pytest.raises(ValueError, match="unknown benchmark"):
        build_table([], "msrvtt")


def test_task_records_for_the_space():
    records = task_records(build_table(sample_results(), "tf-covr"), "cvr")
    expected = sample_results()[3]["tasks"]["cvr"]["metrics"]["mAP@50"]
    assert records[0]["#"] == "1" and records[0]["Model"] == "acme/a"
    assert list(records[0])[:3] == ["#", "Model", "mAP@50"] and float(records[0]["mAP@50"]) == expected
    assert records[0]["Gallery"] == 12 and records[0]["Queries"] == 10
    assert records[1]["Flags"] == "random weights"
    with pytest.raises(KeyError, match="no board for task 't2v'"):
        task_records(build_table(sample_results(), "tf-covr"), "t2v")


def test_task_records_pad_scores_so_text_sorting_is_numeric():
    results = [with_per_query(make_results("tf-covr", model_id=f"acme/{name}"), skill, seed=i) for i, (name, skill) in enumerate([("a", 0.05), ("b", 0.6)])]
    records = task_records(build_table(results, "tf-covr"), "cvr")
    cells = [r["mAP@50"] for r in records]
    assert all("±" in cell for cell in cells)
    assert sorted(cells, reverse=True) == cells  # "  9.1 ± ..." sorts below " 55.0 ± ..."
    assert len({len(cell.split("±")[0]) for cell in cells}) == 1


def test_html_escapes_result_text():
    evil = make_results("lovr", model_id="<script>alert(1)</script>")
    page = render_page(build_table([evil], "lovr"), [], ["lovr"])
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_plots_are_pngs_per_task(tmp_path):
    plots = plot_table(build_table(sample_results(), "lovr"), tmp_path)
    assert [p.name for p, _ in plots] == [f"lovr_{t}_recall.png" for t in ("t2v", "v2t", "t2c", "c2t")]
    (covr_plot, caption), = plot_table(build_table(sample_results(), "tf-covr"), tmp_path)
    assert covr_plot.name == "tf-covr_cvr_map.png" and "mAP@K" in caption
    for path, _ in plots + [(covr_plot, caption)]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_table(build_table([], "lovr"), tmp_path) == []


def test_plots_draw_dollar_signs_in_model_names_as_text(tmp_path):
    # matplotlib reads text between two "$" as math: "x$^$y" would not parse and fail the whole site.
    results = [make_results("lovr", model_id=f"acme/{name}") for name in ("x$^$y", "x${$", "$_{$")]
    results.append(make_results("lovr", model_id="acme/ok", model_revision="rev$^$1"))
    plots = plot_table(build_table(results, "lovr"), tmp_path)
    assert len(plots) == 4 and all(path.read_bytes()[:4] == b"\x89PNG" for path, _ in plots)


def test_plots_leave_out_rows_that_did_not_score_the_task(tmp_path, monkeypatch):
    monkeypatch.setattr("vidret.hub.leaderboard.plots.MAX_PLOTTED_ROWS", 1)
    partial = with_change(make_results("lovr", model_id="acme/p"), "tasks", {"t2v": make_results("lovr")["tasks"]["t2v"]})
    table = build_table([partial, make_results("lovr", model_id="acme/a", base=10)], "lovr")
    captions = {path.name: caption for path, caption in plot_table(table, tmp_path)}
    assert captions["lovr_t2v_recall.png"] == "t2v: Recall@K (top 1 of 2 rows)"
    assert captions["lovr_v2t_recall.png"] == "v2t: Recall@K (all rows)"  # acme/p did not score v2t


def test_collect_results_policies(tmp_path, caplog):
    write_sample_dir(tmp_path)
    write_results(tmp_path / ".cache" / "ignored.json", {"not": "results"})
    assert len(collect_results(tmp_path)) == 5
    assert collect_results(tmp_path)[0].source.startswith("results/")
    write_results(tmp_path / "results" / "broken.json", with_change(make_results(), "num_failed", 9))
    with pytest.raises(ResultsValidationError, match="broken.json"):
        collect_results(tmp_path)
    assert len(collect_results(tmp_path, on_invalid="warn")) == 5
    assert "skipping invalid results file" in caplog.text and "broken.json" in caplog.text
    assert len(collect_results(tmp_path, on_invalid="skip")) == 5
    with pytest.raises(ValueError, match="on_invalid"):
        collect_results(tmp_path, on_invalid="ignore")
    with pytest.raises(FileNotFoundError, match="results folder not found"):
        collect_results(tmp_path / "nope")


def test_build_site_files(tmp_path):
    write_sample_dir(tmp_path / "in")
    written = build_site(tmp_path / "in", tmp_path / "site")
    names = sorted(p.name for p in written)
    assert names == sorted(
        ["index.html", "lovr.html", "tf-covr.html", "tf-covr_cvr_map.png"]
        + [f"lovr_{t}_recall.png" for t in ("t2v", "v2t", "t2c", "c2t")]
    )
    page = (tmp_path / "site" / "lovr.html").read_text()
    t2v = page.split('id="leaderboard-lovr-t2v"')[1].split("</table>")[0]
    assert t2v.count("<tr") == 4  # header + 3 rows
    assert t2v.count('<tr class="flagged">') == 1
    assert page.count('<table class="leaderboard"') == 4 and 'id="runs-lovr"' in page
    assert '<img src="lovr_t2v_recall.png"' in page
    assert "http://" not in page and "https://" not in page  # offline: nothing external
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'href="lovr.html"' in index and "3 result(s)" in index
    assert index_top_rows(index, "lovr")[0][:2] == ("1", "acme/b")  # the leader


def test_cli_leaderboard(tmp_path, capsys, caplog):
    write_sample_dir(tmp_path / "in")
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote 3 page(s) and 5 plot(s) to {tmp_path / 'site'}")
    assert main(["leaderboard", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 1
    assert "results folder not found" in capsys.readouterr().err
    write_results(tmp_path / "in" / "bad.json", {"benchmark": "lovr"})
    # By default one bad file never takes the site down: it is skipped, named, and the rest is built.
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site")]) == 0
    assert capsys.readouterr().out.startswith("wrote 3 page(s)")
    assert any("bad.json" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site"), "--on-invalid", "error"]) == 1
    assert "bad.json" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site"), "--on-invalid", "skip"]) == 0


def load_space_app():
    spec = importlib.util.spec_from_file_location("leaderboard_space_app", REPO_ROOT / "spaces" / "leaderboard" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_space_app_renders_the_same_tables(tmp_path):
    app = load_space_app()
    write_sample_dir(tmp_path)
    tabs = app.load_tables(tmp_path)
    assert [tab.label for tab in tabs] == ["LoVR", "TF-CoVR"]  # no results under the official protocol: no tab
    for tab, name in zip(tabs, BENCHMARKS):
        table = build_table(collect_results(tmp_path), name)
        assert tab.title == table.title
        assert [records for _, records in tab.boards] == [task_records(table, task_id) for task_id in table.tasks]
        assert [heading.split(":")[0] for heading, _ in tab.boards] == list(table.tasks)


def write_bad_files(results_dir: Path) -> dict[str, str]:
    """Results files that once stopped the leaderboard or the Space, under `results_dir`: file name ->
    the reason its warning must give."""
    from vidret.evaluation.results.schema import MAX_RESULTS_BYTES

    bad = results_dir / "results" / "bad"
    bad.mkdir(parents=True)
    # settings.fps = 10**400 passed validation, then settings_text raised OverflowError.
    text = json.dumps(with_change(make_results("lovr", model_id="acme/fps"), "settings.fps", "@X@"))
    (bad / "fps.json").write_text(text.replace('"@X@"', "1" + "0" * 400))
    text = json.dumps(with_change(make_results("lovr", model_id="acme/inf"), "tasks.t2v.metrics.MnR", "@X@"))
    (bad / "inf.json").write_text(text.replace('"@X@"', "Infinity"))
    with (bad / "huge.json").open("wb") as file:
        file.truncate(MAX_RESULTS_BYTES + 1)
    return {
        "fps.json": "settings.fps: 100000000000... (401 characters) is out of range",
        "inf.json": "tasks.t2v.metrics.MnR: Infinity is not a finite number",
        "huge.json": f"{MAX_RESULTS_BYTES + 1:,} bytes; a results file is at most {MAX_RESULTS_BYTES:,} bytes",
    }


def test_a_bad_results_file_is_skipped_with_a_named_warning(tmp_path, caplog, capsys):
    write_sample_dir(tmp_path / "in")
    reasons = write_bad_files(tmp_path / "in")
    written = build_site(tmp_path / "in", tmp_path / "site", on_invalid="warn")
    assert "lovr.html" in [path.name for path in written]
    page = (tmp_path / "site" / "lovr.html").read_text()
    assert "acme/b" in page and "acme/fps" not in page and "acme/inf" not in page
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    for name, reason in reasons.items():
        assert any(f"bad/{name}" in w and reason in w for w in warnings), (name, warnings)
    # The command: a bad file is skipped with a warning by default; --on-invalid error stops the build
    # with one line naming it.
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site2")]) == 0
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site2"), "--on-invalid", "error"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vidret leaderboard: ") and "bad/" in err and "Traceback" not in err


def test_space_app_skips_a_bad_file_beside_good_ones(tmp_path, caplog):
    app = load_space_app()
    write_sample_dir(tmp_path)
    reasons = write_bad_files(tmp_path)
    tabs = app.load_tables(tmp_path)
    lovr = tabs[0]
    assert lovr.label == "LoVR"
    models = {record["Model"] for _, records in lovr.boards for record in records}
    assert models == {"acme/a", "acme/b", "acme/c"}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    for name, reason in reasons.items():
        assert any(f"bad/{name}" in w and reason in w for w in warnings), (name, warnings)


def test_space_readme_has_space_metadata():
    readme = (REPO_ROOT / "spaces" / "leaderboard" / "README.md").read_text()
    import yaml

    meta = yaml.safe_load(readme.split("---")[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    requirements = (REPO_ROOT / "spaces" / "leaderboard" / "requirements.txt").read_text()
    assert "vidret" in requirements
    assert json.dumps(meta)  # plain YAML, no custom tags


# ---------------------------------------------------------------- intervals, ties, checks, names


def paired_runs(benchmark: str = "lovr") -> list[dict]:
    """Three paired runs: b is a hair below a (tied), c far below (not tied)."""
    return [
        with_per_query(make_results(benchmark, model_id="acme/a"), 0.45, seed=0),
        with_per_query(make_results(benchmark, model_id="acme/b"), 0.44, seed=1),
        with_per_query(make_results(benchmark, model_id="acme/c"), 0.15, seed=2),
    ]


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
def test_runs_not_significantly_worse_than_the_best_share_rank_one(benchmark):
    table = build_table(paired_runs(benchmark), benchmark)
    for board in table.boards:
        a, b, c = board.entries  # a and b are close enough for either to come first on a task
        assert [table.rows[e.run]["model"] for e in board.entries][2] == "acme/c"
        assert (a.tied, a.p_value) == (None, None)  # the best is not tested against itself
        assert b.tied is True and b.p_value >= 0.05
        assert c.tied is False and c.p_value < 0.05
        assert [e.rank_label() for e in board.entries] == ["1", "1", "3"]
    html = render_board_html(table, table.boards[0])
    assert html.count('<tr class="tied">') == 1 and 'class="badge tied"' in html
    assert "paired randomisation test, p = " in html
    assert [(rank, badges) for rank, _, badges in index_top_rows(render_index([table]), benchmark)] == [("1", []), ("1", ["tied"]), ("3", [])]


def test_the_tie_test_needs_per_query_data_and_comparable_runs():
    a, b, _ = paired_runs()
    other_data = with_change(b, "dataset.revision", "v0.9.0")
    other_protocol = with_change(b, "settings.protocol", "official")
    old = make_results("lovr", model_id="acme/old", base=40)  # no per-query data
    # Another protocol is not even on the board: each protocol has its own table.
    assert [len(board.entries) for board in build_table([a, other_protocol], "lovr").boards] == [1] * 4
    for runner_up in (other_data, old):
        table = build_table([a, runner_up], "lovr")
        entry = table.boards[0].entries[1]
        assert (entry.tied, entry.p_value, entry.rank_label()) == (None, None, "2")
    # A best run without per-query data cannot be tested against: nobody is tied.
    table = build_table([with_change(old, "tasks.t2v.metrics.R@1", 99.0), a, b], "lovr")
    assert [e.tied for e in table.boards[0].entries] == [None, None, None]


def test_scores_show_plus_minus_half_their_interval_and_old_results_none():
    new = with_per_query(make_results("lovr", model_id="acme/new"), 0.4)
    old = make_results("lovr", model_id="acme/old", base=60)
    table = build_table([new, old], "lovr")
    html = render_board_html(table, table.boards[0])
    task = new["tasks"]["t2v"]
    half = (task["ci_high"]["R@1"] - task["ci_low"]["R@1"]) / 2
    low, high = task["ci_low"]["R@1"], task["ci_high"]["R@1"]
    assert f'title="95% interval {low:.2f} to {high:.2f}">{task["metrics"]["R@1"]:.2f}<span class="ci">± {half:.2f}</span>' in html
    old_cell = f'title="no interval: these results carry no per-query data">{old["tasks"]["t2v"]["metrics"]["R@1"]:.2f}</td>'
    assert old_cell in html
    records = task_records(table, "t2v")
    assert records[0]["Model"] == "acme/old" and "±" not in records[0]["R@1"]
    assert records[1]["R@1"].endswith(f"± {half:.2f}")


def test_the_oracle_is_a_check_listed_last_and_never_the_leader():
    oracle = make_results("lovr", model_id="oracle", base=100)
    oracle["model"]["adapter"] = "oracle"
    model = make_results("lovr", model_id="acme/real", base=20)
    table = build_table([oracle, model], "lovr")
    assert [row["model"] for row in table.rows] == ["acme/real", "oracle"]
    for board in table.boards:
        assert [(table.rows[e.run]["model"], e.rank_label()) for e in board.entries] == [("acme/real", "1"), ("oracle", "check")]
    html = render_board_html(table, table.boards[0])
    assert '<tr class="check">' in html and 'class="badge check"' in html
    assert index_top_rows(render_index([table]), "lovr") == [("1", "acme/real", [])]  # the oracle is not a top row
    assert task_records(table, "t2v")[1]["#"] == "check"
    # An oracle-only board has no leader at all.
    index = render_index([build_table([oracle], "lovr")])
    assert index_top_rows(index, "lovr") == [] and "no ranked runs yet (checks only)" in index


@pytest.mark.parametrize(
    "model, shown",
    [
        ({"id": "openai/clip-vit-base-patch32"}, "openai/clip-vit-base-patch32"),
        ({"id": "oracle"}, "oracle"),
        ({"id": "/home/me/models/tiny-clip"}, "tiny-clip"),
        ({"id": "/home/me/models/tiny-clip/"}, "tiny-clip"),
        ({"id": "~/models/x"}, "x"),
        ({"id": "./x"}, "x"),
        ({"id": "C:\\models\\clip"}, "clip"),
        ({"id": "file:///srv/models/m"}, "m"),
        ({"id": "runs/exp1/model"}, "model"),
        ({"id": "models/tiny", "fingerprint": "abc"}, "tiny"),  # a relative local folder: its fingerprint says so
    ],
)
def test_display_model_never_shows_a_local_path(model, shown):
    assert display_model(model) == shown


def test_a_run_that_did_not_record_its_frames_shows_no_none(tmp_path):
    # settings.frames is null for embeddings read from released files without --frames.
    table = build_table([with_change(make_results("lovr"), "settings.frames", None)], "lovr")
    page = render_page(table, plot_table(table, tmp_path), ["lovr"])
    assert "None" not in page
    assert '<div class="run">@0123abc · clip · 224x224</div>' in page


def test_pages_never_show_full_local_model_paths(tmp_path):
    local = make_results("lovr", model_id="/home/alice/secret/models/tiny-clip", base=30)
    local["model"]["fingerprint"] = "9de0938ba3a1067a"
    write_results(tmp_path / "in" / "local.json", local)
    build_site(tmp_path / "in", tmp_path / "site")
    for page in (tmp_path / "site").glob("*.html"):
        assert "/home/alice" not in page.read_text()
    assert ">tiny-clip</span>" in (tmp_path / "site" / "lovr.html").read_text()


def test_rows_say_where_stored_embeddings_came_from(tmp_path):
    released = make_results("tf-covr", model_id="acme/blip2-text", base=30)
    released["embeddings"] = {
        "videos": {"source": "files", "format": "pth-folder", "path": "/home/alice/TF-CoVR/Embeddings/BLIP2",
                   "sha256": "0123456789abcdef" * 4, "num_ids": 30},
        "texts": {"source": "model", "model": "acme/blip2-text"},
    }
    embedded = make_results("tf-covr", model_id="acme/vclip", base=20)
    embedded["embeddings"] = {side: {"source": "model", "model": "acme/vclip"} for side in ("texts", "videos")}
    old = make_results("tf-covr", model_id="acme/old", base=10)  # written before the field existed
    table = build_table([released, embedded, old], "tf-covr")
    shown = {row["model"]: row["embeddings"] for row in table.rows}
    assert shown == {
        "acme/blip2-text": "videos: embedding files BLIP2 (pth-folder, sha256 0123456789ab…); texts: model acme/blip2-text",
        "acme/vclip": "videos, texts: model acme/vclip",
        "acme/old": None,
    }
    page = render_page(table, plot_table(table, tmp_path), ["tf-covr"])
    assert ("embeddings: videos: embedding files BLIP2 (pth-folder, sha256 0123456789ab…); texts: model acme/blip2-text"
            in page.replace("&#39;", "'"))
    runs = page.split('id="runs-tf-covr"')[1]
    assert "<button type=\"button\">Embeddings</button>" in runs and "videos, texts: model acme/vclip" in runs
    assert page.count("embeddings: ") == 1  # a row embedded by its own model adds nothing to its name
    assert "alice" not in page


def test_a_subset_filed_by_submit_is_flagged_even_without_a_limit():
    labelled = with_change(make_results("lovr", model_id="acme/part"), "settings.subset", "SUBSET, not the split's score: ...")
    table = build_table([labelled, make_results("lovr", model_id="acme/whole")], "lovr")
    assert {row["model"]: row["flags"] for row in table.rows} == {"acme/part": ["subset"], "acme/whole": []}

"""Leaderboard tables, the static site, `vidret leaderboard`, and the Space app's table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from results_helpers import make_results, with_change, write_results

from vidret.benchmarks import BENCHMARKS
from vidret.cli.main import main
from vidret.evaluation.validation import ResultsValidationError
from vidret.hub.leaderboard import (
    build_site,
    build_table,
    collect_results,
    plot_table,
    render_page,
    render_table_html,
    table_records,
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


def write_sample_dir(root: Path) -> Path:
    for i, results in enumerate(sample_results()):
        write_results(root / "results" / results["model"]["id"].replace("/", "__") / f"{i}" / f"{results['benchmark']}.json", results)
    return root


def test_build_table_columns_rows_and_order():
    table = build_table(sample_results(), "lovr")
    assert [row["model"] for row in table.rows] == ["acme/b", "acme/a", "acme/c"]  # by t2v R@1, best first
    assert table.sort_key == "t2v/R@1"
    keys = [c.key for c in table.columns]
    assert keys[:6] == ["model", "model_revision", "adapter", "frames", "settings", "split"]
    assert keys[-3:] == ["num_failed", "date", "dataset_revision"]
    for task_id in BENCHMARKS["lovr"].default_tasks():
        for metric in BENCHMARKS["lovr"].tasks[task_id].metrics:
            assert f"{task_id}/{metric}" in keys
    assert next(c for c in table.columns if c.key == "t2v/MdR").higher_is_better is False
    assert next(c for c in table.columns if c.key == "t2v/R@5").higher_is_better is True
    assert table.rows[0]["t2v/R@1"] == sample_results()[1]["tasks"]["t2v"]["metrics"]["R@1"]
    assert table.rows[0]["date"] == "2026-03-01"


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
    assert 'class="badge subset"' in render_table_html(table)


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
    assert 'data-value="">–</td>' in render_table_html(table)


def test_empty_and_unknown_benchmark():
    assert build_table([], "tf_covr").rows == []
    with pytest.raises(ValueError, match="unknown benchmark"):
        build_table([], "msrvtt")


def test_table_records_for_the_space():
    records = table_records(build_table(sample_results(), "tf-covr"))
    assert records[0]["Model"] == "acme/a" and records[0]["cvr mAP@50"] == sample_results()[3]["tasks"]["cvr"]["metrics"]["mAP@50"]
    assert records[1]["Flags"] == "random weights"


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


def test_plots_leave_out_rows_that_did_not_score_the_task(tmp_path, monkeypatch):
    monkeypatch.setattr("vidret.hub.leaderboard.MAX_PLOTTED_ROWS", 1)
    partial = with_change(make_results("lovr", model_id="acme/p"), "tasks", {"t2v": make_results("lovr")["tasks"]["t2v"]})
    table = build_table([partial, make_results("lovr", model_id="acme/a", base=10)], "lovr")
    captions = {path.name: caption for path, caption in plot_table(table, tmp_path)}
    assert captions["lovr_t2v_recall.png"] == "t2v: Recall@K (top 1 of 2 rows)"
    assert captions["lovr_v2t_recall.png"] == "v2t: Recall@K (all rows)"  # acme/p did not score v2t


def test_collect_results_policies(tmp_path, caplog):
    write_sample_dir(tmp_path)
    write_results(tmp_path / ".cache" / "ignored.json", {"not": "results"})
    assert len(collect_results(tmp_path)) == 5
    assert collect_results(tmp_path)[0]["_source"].startswith("results/")
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
    assert page.count("<tr>") + page.count('<tr class="flagged">') == 4  # header + 3 rows
    assert page.count('<tr class="flagged">') == 1
    assert '<img src="lovr_t2v_recall.png"' in page
    assert "http://" not in page and "https://" not in page  # offline: nothing external
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'href="lovr.html"' in index and "3 result(s)" in index and "leader: acme/b" in index


def test_cli_leaderboard(tmp_path, capsys):
    write_sample_dir(tmp_path / "in")
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote 3 page(s) and 5 plot(s) to {tmp_path / 'site'}")
    assert main(["leaderboard", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 1
    assert "results folder not found" in capsys.readouterr().err
    write_results(tmp_path / "in" / "bad.json", {"benchmark": "lovr"})
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site")]) == 1
    assert "bad.json" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "in"), "--out", str(tmp_path / "site"), "--on-invalid", "skip"]) == 0


def load_space_app():
    spec = importlib.util.spec_from_file_location("leaderboard_space_app", REPO_ROOT / "spaces" / "leaderboard" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_space_app_renders_the_same_table(tmp_path):
    app = load_space_app()
    write_sample_dir(tmp_path)
    tables = app.load_tables(tmp_path)
    expected = [table_records(build_table(collect_results(tmp_path), name)) for name in BENCHMARKS]
    assert [records for _, records, _ in tables] == expected


def test_space_readme_has_space_metadata():
    readme = (REPO_ROOT / "spaces" / "leaderboard" / "README.md").read_text()
    import yaml

    meta = yaml.safe_load(readme.split("---")[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    requirements = (REPO_ROOT / "spaces" / "leaderboard" / "requirements.txt").read_text()
    assert "vidret" in requirements
    assert json.dumps(meta)  # plain YAML, no custom tags

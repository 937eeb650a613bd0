"""Bring your own release (issue 21.1): each raw file's columns are declared once, in the
benchmark's `raw_columns.py`; the builders check files against it, the missing-column error says
what the column holds and points at the README section, and that section is what the
declarations say (it is generated from them)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vidret.benchmarks import get_benchmark
from vidret.benchmarks.lovr import raw_columns as lovr_raw
from vidret.benchmarks.raw_files import README_LINK, README_SECTION, RawColumn, RawFile, raw_files, readme_section, section_span
from vidret.benchmarks.tf_covr import raw_columns as tfcovr_raw
from vidret.builders import BuildError, build, get_builder

REPO = Path(__file__).resolve().parents[1]


def test_readme_section_is_generated_from_the_declarations():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    span = section_span(text)
    assert span is not None, f"README.md has no '## {README_SECTION}' section"
    section = text[span[0] : span[1]].rstrip("\n") + "\n"
    assert section == readme_section(), "README section out of date: run `python -m vidret.benchmarks.raw_files README.md`"


def test_readme_section_lists_every_declared_column_of_every_file():
    # Not only equal to the renderer's output: the rendered text holds each file, each column
    # with required/optional, what it holds and its example, and the example row.
    section = readme_section()
    for name in ("lovr", "tf-covr"):
        files, layout = raw_files(get_benchmark(name))
        assert files and layout
        assert f"`vidret build {name}`" in section
        for raw in files:
            for path in raw.files:
                assert f"`{path}`" in section
            for column in raw.columns:
                kind = "required" if column.required else "optional"
                assert f"| `{column.name}` | {kind} | {column.holds} |" in section
            assert raw.example_text() in section


def test_declared_files_are_the_files_the_builders_read():
    tf = get_builder("tf-covr")
    assert {f for raw in tfcovr_raw.RAW_FILES for f in raw.files} == {tf.CSV_FILE.format(split=s) for s in ("train", "val", "test")}
    lovr = get_builder("lovr")
    expected = {f"{lovr.CAPTION_DIR}/{pattern.format(split=s)}" for pattern in (lovr.CLIP_FILE, lovr.VIDEO_FILE) for s in ("train", "test")}
    expected |= {f"{lovr.CAPTION_DIR}/{lovr.QUERY_FILE}", f"{lovr.CAPTION_DIR}/{lovr.ALL_VIDEO_FILE}"}
    assert {f for raw in lovr_raw.RAW_FILES for f in raw.files} == expected


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _write(raw: RawFile, root: Path, drop: str | None = None, row: dict | None = None) -> None:
    """Every file of `raw`, holding `row` (default: its example row, without column `drop`)."""
    if row is None:
        row = {k: v for k, v in raw.example_row().items() if k != drop}
    for name in raw.files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw.format == "csv":
            _write_csv(path, [row])
        elif raw.format == "parquet":
            pq.write_table(pa.Table.from_pylist([row]), path)
        else:
            path.write_text(json.dumps(row) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    "benchmark, files, rows",
    [
        ("tf-covr", tfcovr_raw.RAW_FILES, {"triplets": {"train": 1, "val": 1, "test": 1}}),
        # the Hub layout, then the official evaluation layout
        ("lovr", (lovr_raw.CLIP_PARQUET, lovr_raw.VIDEO_PARQUET), {"clips": {"train": 1, "test": 1}, "videos": {"train": 1, "test": 1}}),
        ("lovr", (lovr_raw.CLIP_JSONL, lovr_raw.VIDEO_JSONL), {"clips": {"test": 1}, "videos": {"test": 1}, "clip_queries": {"test": 1}}),
    ],
)
def test_a_release_made_of_the_example_rows_builds(tmp_path, benchmark, files, rows):
    # The README's example rows are a valid release: each file's row becomes one built row.
    for raw in files:
        _write(raw, tmp_path / "raw")
    report = build(benchmark, tmp_path / "raw", tmp_path / "out", progress=False)
    assert {config: report.num_rows[config] for config in rows} == rows
    # Required columns alone build too (every optional column may be absent), but TF-CoVR train's
    # dict literal is what names the target label without `label2`.
    for raw in files:
        _write(raw, tmp_path / "raw", row={c.name: c.example for c in raw.columns if c.required})
    build(benchmark, tmp_path / "raw", tmp_path / "out-required", progress=False)


def test_missing_column_error_says_what_it_holds_and_where_the_columns_are_listed(tmp_path):
    # The first contact of issue 21: a val CSV without query_id.
    for raw in tfcovr_raw.RAW_FILES:
        _write(raw, tmp_path / "raw", drop="query_id" if "val_finegd.csv" in raw.files else None)
    with pytest.raises(BuildError) as caught:
        build("tf-covr", tmp_path / "raw", tmp_path / "out", progress=False)
    assert str(caught.value) == (
        "val_finegd.csv: missing column(s) ['query_id']; found ['modification', 'query_video', 'target_video', "
        "'target_videos_ids']. 'query_id' holds the query's id, unique within the file (the release numbers them "
        "0, 1, ...) (e.g. 0). Every column this file needs and may have: \"Bring your own release\" in vidret's "
        f"README ({README_LINK})"
    )
    assert README_LINK.endswith("#bring-your-own-release")  # the anchor GitHub gives the section heading


def test_missing_parquet_and_jsonl_columns_are_explained(tmp_path):
    for raw in (lovr_raw.CLIP_PARQUET, lovr_raw.VIDEO_PARQUET):
        _write(raw, tmp_path / "hub", drop="cap" if raw is lovr_raw.CLIP_PARQUET else None)
    with pytest.raises(BuildError, match=r"clip_train.parquet: missing column\(s\) \['cap'\]; found \[.*\]\. 'cap' holds "
                       r"the clip's caption \(e\.g\. \"A man kneads dough.*\"\)\. Every column .*#bring-your-own-release\)$"):
        build("lovr", tmp_path / "hub", tmp_path / "out", progress=False)
    for raw in (lovr_raw.CLIP_JSONL, lovr_raw.VIDEO_JSONL):
        _write(raw, tmp_path / "official", drop="vid" if raw is lovr_raw.VIDEO_JSONL else None)
    with pytest.raises(BuildError, match=r"all_video.jsonl, row 1: missing field\(s\) \['vid'\]; found \[.*\]\. 'vid' holds "
                       r"the video's id \(its full video is `merged/<vid>.mp4`\) \(e\.g\. \"-7wwfGJXEZg\"\)\. Every field"):
        build("lovr", tmp_path / "official", tmp_path / "out", progress=False)


def test_a_file_with_every_column_but_an_optional_one_is_fine_and_other_columns_are_ignored(tmp_path):
    raw_train, raw_eval = tfcovr_raw.RAW_FILES
    _write(raw_eval, tmp_path / "raw")
    row = {**raw_train.example_row(), "notes": "ignored"}
    del row["label1"]
    _write_csv(tmp_path / "raw" / "train_finegd.csv", [row])
    build("tf-covr", tmp_path / "raw", tmp_path / "out", progress=False)


def test_declarations_refuse_malformed_files():
    column = RawColumn("a", "a thing", "x")
    with pytest.raises(ValueError, match="format must be one of"):
        RawFile(("x.tsv",), "tsv", "rows", (column,))
    with pytest.raises(ValueError, match="repeated column names"):
        RawFile(("x.csv",), "csv", "rows", (column, column))
    with pytest.raises(ValueError, match="no required column"):
        RawFile(("x.csv",), "csv", "rows", (RawColumn("a", "a thing", "x", required=False),))


def test_update_readme_rewrites_only_the_section(tmp_path):
    from vidret.benchmarks.raw_files import update_readme

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nintro\n\n## {README_SECTION}\n\nold text\n\n## Next\n\nkept\n", encoding="utf-8")
    assert update_readme(readme) is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# x\n\nintro\n\n" + readme_section() + "\n## Next\n\nkept\n")
    assert update_readme(readme) is False
    (tmp_path / "none.md").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no '## Bring your own release' section"):
        update_readme(tmp_path / "none.md")

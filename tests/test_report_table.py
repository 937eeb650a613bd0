"""The results table printed by `vidret evaluate` / `vidret demo`: readable at 80 and 120 columns,
grouped per task and protocol (named in each title) with the headline metric first, gallery size
shown, the oracle labelled a check (and warned about off vidret's samples), the embeddings' origin."""

from __future__ import annotations

import pytest
from results_helpers import make_results, with_change

from vidret.benchmarks import BENCHMARKS
from vidret.evaluation.results.report import embeddings_origin, format_record, format_table, oracle_notes


def records():
    model = make_results("lovr", model_id="openai/clip-vit-base-patch32", base=31.0)
    random = with_change(make_results("lovr", model_id="tiny-clip-random-with-a-long-name", base=2.0), "model.random_weights", True)
    oracle = with_change(make_results("lovr", model_id="oracle"), "model.adapter", "oracle")
    composed = [make_results("tf-covr", model_id="google/siglip-base-patch16-224"),
                with_change(make_results("tf-covr", model_id="oracle"), "model.adapter", "oracle")]
    return [model, random, oracle, *composed]


@pytest.mark.parametrize("width", [80, 120])
def test_table_fits_the_terminal(width):
    text = format_table(records(), width=width)
    assert max(len(line) for line in text.splitlines()) <= width


def header_line(text: str) -> str:
    """The column header of a table's first block (below a title whose counts may have wrapped)."""
    return next(line for line in text.splitlines() if line.startswith("  model"))


def test_one_block_per_task_headline_first_gallery_shown():
    recs = records()
    blocks = format_table(recs).split("\n\n")
    lovr, tfcovr = BENCHMARKS["lovr"], BENCHMARKS["tf-covr"]
    assert len(blocks) == len(lovr.default_tasks()) + 1
    for block, (benchmark, task_id) in zip(blocks, [("lovr", t) for t in lovr.default_tasks()] + [("tf-covr", "cvr")]):
        spec = (lovr if benchmark == "lovr" else tfcovr).tasks[task_id]
        task = next(r for r in recs if r["benchmark"] == benchmark)["tasks"][task_id]
        lines = block.splitlines()
        title = lines.pop(0)
        if not lines[0].startswith("  model"):  # a title too long for 80 columns: its counts on the next line
            title += ", " + lines.pop(0).strip()
        header = lines[0]
        assert title == (f"{benchmark} {task_id} [vidret protocol]: {spec.name}, {task['num_queries']} queries, "
                         f"gallery {task['gallery_size']}, headline {spec.main_score}")
        assert header.split()[:2] == ["model", spec.main_score + "*"]  # the headline, marked, comes first
        assert header.split()[2:] == [m for m in spec.metrics if m != spec.main_score]
        assert "failed" not in header  # no failures: no column for them
    t2v = blocks[0].splitlines()
    assert t2v[2].split() == ["openai/clip-vit-base-patch32", *(f"{recs[0]['tasks']['t2v']['metrics'][m]:.2f}"
                                                                  for m in BENCHMARKS["lovr"].tasks["t2v"].metrics)]


def test_oracle_is_a_check_and_random_weights_are_labelled():
    text = format_table(records())
    assert "  oracle (check) " in text and "tiny-clip-random-with-a-long-name (random weights)" in text
    assert "leader" not in text


def test_a_long_model_name_gets_its_own_line_at_80_columns():
    record = records()[3]
    headline = f"{record['tasks']['cvr']['metrics']['mAP@50']:.2f}"
    lines = format_table([record], width=80).splitlines()  # TF-CoVR: 8 metrics
    assert lines[3] == "  google/siglip-base-patch16-224"  # below the title, its counts and the header
    assert lines[4].startswith("  " + " " * len("model")) and lines[4].split()[0] == headline  # the row's numbers
    wide = format_table([record], width=120).splitlines()
    assert wide[2].split()[:2] == ["google/siglip-base-patch16-224", headline]


def test_counts_that_differ_between_rows_get_columns():
    full, limited = records()[3], with_change(records()[4], "tasks.cvr.num_queries", 7)
    limited = with_change(limited, "tasks.cvr.num_failed", 2)
    header = header_line(format_table([full, limited])).split()
    assert header[-2:] == ["queries", "failed"] and " queries," not in format_table([full, limited])


def test_a_long_title_puts_its_counts_on_a_line_of_their_own():
    record = with_change(with_change(records()[3], "tasks.cvr.num_queries", 123456), "tasks.cvr.gallery_size", 654321)
    title, counts = format_table([record], width=80).splitlines()[:2]
    assert title == "tf-covr cvr [vidret protocol]: composed video retrieval"
    assert counts == "  123456 queries, gallery 654321, headline mAP@50"


def test_the_headline_interval_stands_beside_it_when_recorded():
    with_ci = make_results("lovr", model_id="acme/vclip", base=31.0)
    t2v = with_ci["tasks"]["t2v"]
    t2v["ci_low"] = {name: value - 9.5 for name, value in t2v["metrics"].items()}
    t2v["ci_high"] = {name: value + 8.25 for name, value in t2v["metrics"].items()}
    t2v["ci"] = {"method": "percentile bootstrap", "level": 0.95, "num_resamples": 1000, "seed": 0}
    old = make_results("lovr", model_id="acme/older-run", base=20.0)  # an earlier version: no interval
    block = format_table([with_ci, old]).split("\n\n")[0]
    header, first, second = block.splitlines()[1:4]
    assert header.split()[1:3] == ["R@1*", "95%"] and "95% CI" in header
    r1 = t2v["metrics"]["R@1"]
    assert f"{r1:.2f} {r1 - 9.5:.2f}-{r1 + 8.25:.2f}" in first
    assert second.split()[2] == "-"  # no interval recorded: a dash, not a made-up one
    assert "CI" not in format_table([old])  # nothing recorded anywhere: no column at all


def test_the_demo_records_with_intervals_fit_80_columns():
    recs = records()
    for record in recs:
        for task in record["tasks"].values():
            task["ci_low"] = {name: 100.0 for name in task["metrics"]}  # the widest cells there are
            task["ci_high"] = {name: 100.0 for name in task["metrics"]}
            task["ci"] = {"method": "percentile bootstrap", "level": 0.95, "num_resamples": 1000, "seed": 0}
    text = format_table(recs, width=80)
    assert "100.00-100.00" in text and max(len(line) for line in text.splitlines()) <= 80


def test_the_title_names_the_protocol_and_protocols_never_share_a_block():
    ours = make_results("tf-covr", model_id="acme/a")
    official = make_results("tf-covr", model_id="acme/b", protocol="official")
    blocks = format_table([ours, official], width=120).split("\n\n")
    assert [block.splitlines()[0].split(":")[0] for block in blocks] == [
        "tf-covr cvr [vidret protocol]", "tf-covr cvr [official protocol]"
    ]
    assert "acme/a" in blocks[0] and "acme/b" not in blocks[0] and "acme/b" in blocks[1]
    legacy = with_change(ours, "settings.protocol", None)  # recorded before protocols: ours
    assert format_table([legacy]).startswith("tf-covr cvr [vidret protocol]: ")


def oracle_record(score: float, protocol: str | None = None) -> dict:
    record = with_change(make_results("lovr", model_id="oracle", protocol=protocol), "model.adapter", "oracle")
    for task in record["tasks"].values():
        task["metrics"][task["main_score"]] = score
    return record


def test_the_oracle_says_it_only_checks_vidrets_samples_and_warns_off_them():
    perfect = format_record(oracle_record(100.0))
    assert "oracle (check): it reads the codes planted in vidret's sample videos" in perfect
    assert "WARNING" not in perfect
    off_sample = format_record(oracle_record(100 / 3))  # other data: no planted codes, a third right by chance
    assert ("WARNING: the oracle scored below 100 (t2v R@1 33.33, v2t R@1 33.33, t2c R@1 33.33, c2t R@1 33.33): "
            "this data is not vidret's sample") in off_sample
    # Another protocol scores the samples differently by design (official LoVR themes: 17.65); the
    # shuffled control is meant to miss; a model is no oracle.
    assert "WARNING" not in format_record(oracle_record(17.65, protocol="official"))
    shuffled = with_change(oracle_record(20.0), "model.id", "oracle-shuffled")
    assert len(oracle_notes(shuffled)) == 1
    assert oracle_notes(make_results("lovr", base=5)) == []


def test_embeddings_origin_names_each_side_without_local_folders():
    record = make_results("tf-covr")
    assert embeddings_origin(record) is None  # written before the field existed
    record["embeddings"] = {
        "texts": {"source": "model", "model": "/home/alice/ckpt/blip2-text"},
        "videos": {"source": "files", "format": "pth-folder", "path": "/home/alice/TF-CoVR/Embeddings/AIM",
                   "sha256": "0123456789abcdef" * 4, "num_ids": 30, "pool": "mean"},
        "composed": {"source": "model", "model": "/home/alice/ckpt/blip2-text"},
    }
    text = embeddings_origin(record)
    assert text == ("videos: embedding files AIM (pth-folder, sha256 0123456789ab…, mean-pooled); "
                    "composed, texts: model blip2-text")
    assert "alice" not in text
    record["embeddings"] = {side: {"source": "hub", "repo": "acme/lovr-clip", "revision": "v1", "model": "openai/clip",
                                   "manifest_sha256": "f" * 64} for side in ("texts", "videos")}
    assert embeddings_origin(record) == "videos, texts: export acme/lovr-clip@v1 of openai/clip (sha256 ffffffffffff…)"


def test_embeddings_origin_reads_a_record_as_its_json():
    from vidret.evaluation.results.model import ResultsRecord

    record = make_results("lovr")
    assert embeddings_origin(ResultsRecord.from_json(record)) is None
    record["embeddings"] = {"texts": {"source": "model", "model": "/home/alice/ckpt/clip"},
                            "videos": {"source": "files", "format": "npy", "path": "/home/alice/emb", "sha256": "ab" * 32}}
    assert embeddings_origin(ResultsRecord.from_json(record)) == embeddings_origin(record)
    assert "alice" not in embeddings_origin(ResultsRecord.from_json(record))

"""`vidret evaluate --protocol vidret|official` end to end on the sample benchmarks, with the oracle."""

from __future__ import annotations

from collections import Counter

import pytest
from runner_helpers import build_sample_repos, run

from vidret.evaluation.results.validation import validate_file


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    import pyarrow.parquet as pq

    from vidret.builders import build
    from vidret.testing.samples import make_lovr_release

    root = tmp_path_factory.mktemp("protocols")
    repos = build_sample_repos(root)
    # The Hub layout plus the official all_clip.jsonl listing every other clip of each video: the
    # build gains the `clip_queries` config.
    make_lovr_release(root / "raw-both", layout="both", query_every=2)
    build("lovr", root / "raw-both", root / "lovr-with-queries", videos="copy")
    (shard,) = (root / "lovr-with-queries" / "data" / "clip_queries").glob("test-*.parquet")
    return {**repos, "lovr+queries": root / "lovr-with-queries", "queries": pq.read_table(shard).to_pylist()}


def test_lovr_official_ranks_the_release(repos, tmp_path):
    out = tmp_path / "official.json"
    record = run("lovr", repos["lovr+queries"], "oracle", protocol="official", output=str(out))
    ours = run("lovr", repos["lovr+queries"], "oracle")
    tasks = record["tasks"]
    assert record["settings"]["protocol"] == "official" and ours["settings"]["protocol"] == "vidret"
    assert record["split"] == "all" and record["config"] == "videos+clips+clip_queries"
    # The sample has 2 train + 3 test videos: official t2v/v2t rank all 5, ours the 3 of test.
    assert tasks["t2v"]["num_queries"] == tasks["t2v"]["gallery_size"] == 5
    assert ours["tasks"]["t2v"]["gallery_size"] == 3
    # t2c: the listed caption queries (every other clip of each video) against every clip.
    assert tasks["t2c"]["num_queries"] == tasks["c2t"]["num_queries"] == tasks["c2t"]["gallery_size"] == len(repos["queries"])
    assert len(repos["queries"]) < tasks["t2c"]["gallery_size"] == 17  # every clip of the release, train ones too
    assert ours["tasks"]["t2c"]["gallery_size"] == 11  # the test split's
    for task in tasks.values():
        assert list(task["metrics"]) == ["R@1", "R@5", "R@10"] and task["metrics"]["R@1"] == 100.0
    assert validate_file(out)["settings"]["protocol"] == "official"


def test_lovr_official_theme_hits_belong_to_one_clip(repos):
    # Every sample clip carries its video's theme; the oracle embeds a theme text as its theme
    # and every clip of a theme alike on that axis, so the clips of one theme tie. Officially
    # each theme text is one clip's and only that clip is a hit: the clips of a theme rank in
    # gallery order, the j-th of them at rank j. R@1 = (number of themes) / (themed clips).
    import pyarrow.parquet as pq

    clips = [row for split in ("train", "test")
             for row in pq.read_table(next((repos["lovr"] / "data" / "clips").glob(f"{split}-*.parquet"))).to_pylist()]
    themes = Counter(c["theme"] for c in clips)
    position = [sum(1 for prev in clips[:i] if prev["theme"] == c["theme"]) + 1 for i, c in enumerate(clips)]
    record = run("lovr", repos["lovr"], "oracle", protocol="official", tasks="theme2c,c2theme")
    for task in record["tasks"].values():
        assert task["num_queries"] == len(clips)
        for k in (1, 5, 10):
            assert task["metrics"][f"R@{k}"] == pytest.approx(100 * sum(p <= k for p in position) / len(clips))
    assert record["tasks"]["theme2c"]["metrics"]["R@1"] == pytest.approx(100 * len(themes) / len(clips))


def test_lovr_official_without_clip_queries_names_the_file_to_add(repos):
    with pytest.raises(ValueError, match=r"needs the config 'clip_queries'.*put caption_data/all_clip\.jsonl"):
        run("lovr", repos["lovr"], "oracle", protocol="official")


def test_tfcovr_official_counts_the_duplicated_gallery(repos, tmp_path):
    # The sample's 20 test rows name 10 target videos, each as the target_video of 2 rows; each
    # query's valid targets are the 2 videos of its target label. The oracle ranks them first:
    # officially each is in the gallery twice, so the top 4 entries are all hits:
    # AP@K = (1/1 + 2/2 + 3/3 + 4/4) / min(2, K) = 2.0 -> 200; the designated target appears twice.
    out = tmp_path / "tf.json"
    record = run("tf-covr", repos["tf-covr"], "oracle", protocol="official", output=str(out))
    task = record["tasks"]["cvr"]
    assert task["gallery_size"] == task["num_queries"] == 20
    assert task["metrics"] == {f"{m}@{k}": 200.0 for m in ("mAP", "R") for k in (5, 10, 25, 50)}
    assert validate_file(out)["settings"]["protocol"] == "official"
    ours = run("tf-covr", repos["tf-covr"], "oracle")["tasks"]["cvr"]
    assert ours["gallery_size"] == 10 and set(ours["metrics"].values()) == {100.0}


def test_cli_protocol_flag(repos, tmp_path, capsys):
    from vidret.cli.main import main

    out = tmp_path / "cli.json"
    args = ["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", "oracle",
            "--num-workers", "0", "--no-cache", "--output", str(out)]
    assert main([*args, "--protocol", "official"]) == 0
    assert validate_file(out)["tasks"]["cvr"]["metrics"]["mAP@50"] == 200.0
    with pytest.raises(SystemExit):
        main([*args, "--protocol", "paper"])
    assert "invalid choice: 'paper'" in capsys.readouterr().err

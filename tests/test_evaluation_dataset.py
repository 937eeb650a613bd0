"""Where the runner reads videos from: the repo itself, a Hub prefix, or --video-root."""

from __future__ import annotations

import shutil

import pytest
from runner_helpers import run

from vidret.evaluation.planning.dataset import is_local, make_resolver


def test_resolver_local_repo_hub_and_absolute(tmp_path):
    local = make_resolver(str(tmp_path), None, None)
    assert local("videos/a.mp4") == str(tmp_path.resolve() / "videos" / "a.mp4")
    assert make_resolver(str(tmp_path), None, None, allow_external=True)("/abs/a.mp4") == "/abs/a.mp4"
    hub = make_resolver("vidret/lovr", "v1.0.0", None)
    assert hub("videos/a.mp4") == "hf://datasets/vidret/lovr@v1.0.0/videos/a.mp4"
    assert make_resolver("vidret/lovr", None, None)("videos/a.mp4").startswith("hf://datasets/vidret/lovr@main/")
    assert is_local(str(tmp_path)) and not is_local("vidret/lovr")


def test_annotations_only_repo_with_video_root(tmp_path):
    from vidret.builders import build
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release

    raw = make_lovr_release(tmp_path / "raw", videos_per_split={"train": 1, "test": 2}, clips_per_video=(2, 2))
    repo = tmp_path / "repo"
    build("lovr", raw, repo, videos="none")
    assert not (repo / "videos").exists()
    merged = raw / "video_data" / "merged"  # a flat folder of <id>.mp4
    resolver = make_resolver(str(repo), None, str(merged))
    assert resolver("videos/x.mp4") == str(merged.resolve() / "videos" / "x.mp4")  # absent: named where expected
    record = run("lovr", repo, "oracle", video_root=str(merged))
    assert all(t["metrics"]["R@1"] == 100.0 for t in record["tasks"].values())
    with pytest.raises(ValueError, match="no video was found in the dataset repo: .* pass --video-root DIR"):
        run("lovr", repo, "oracle", tasks="t2v")  # without any video: said before the run, not 100% failures
    partial = tmp_path / "partial"
    shutil.copytree(merged, partial)
    import datasets

    victim = datasets.load_dataset(str(repo), "videos", split="test")[0]["video_id"]
    (partial / f"{victim}.mp4").unlink()
    missing = run("lovr", repo, "oracle", tasks="t2v", video_root=str(partial))  # some missing: each counted
    assert [f["item_id"] for f in missing["failures"] if f["kind"] == "video"] == [victim]
    assert missing["tasks"]["t2v"]["metrics"]["R@1"] < 100.0


def test_a_local_folder_rebuilt_in_place_is_read_afresh(tmp_path):
    # `datasets` caches a folder with YAML configs under its name and patterns, not its contents:
    # without a fresh read the second load returned the first folder's rows.
    from builders_helpers import edit_parquet
    from runner_helpers import build_sample_repos, copy_repo
    from vidret.evaluation.planning.dataset import _load_rows

    built = build_sample_repos(tmp_path / "built")["tf-covr"]
    rows = []
    for n, tag in ((1, "first"), (2, "second")):
        repo = copy_repo(built, tmp_path / str(n) / "same-name")
        shard = next((repo / "data" / "videos").glob("test-*.parquet"))
        edit_parquet(shard, lambda r, tag=tag: [{**r[0], "video": f"videos/{tag}.mp4"}] + r[1:])
        rows.append(_load_rows(str(repo), "videos", "test", None)[0][0]["video"])
    assert rows == ["videos/first.mp4", "videos/second.mp4"]


def test_a_local_folder_whose_columns_changed_is_read_with_its_new_columns(tmp_path):
    # `datasets` reuses the features it cached under a folder's name (for cards that declare
    # none) even with force_redownload, so a folder of that name rebuilt with a new column (a
    # newer vidret's build) failed with a CastError.
    import yaml
    from builders_helpers import edit_parquet
    from runner_helpers import build_sample_repos, copy_repo

    from vidret.evaluation.planning.dataset import _load_rows

    def without_declared_features(repo):
        header, body = (repo / "README.md").read_text().split("---", 2)[1:]
        meta = yaml.safe_load(header)
        meta.pop("dataset_info")
        (repo / "README.md").write_text("---\n" + yaml.safe_dump(meta) + "---" + body)
        return repo

    built = build_sample_repos(tmp_path / "built")["tf-covr"]
    first = without_declared_features(copy_repo(built, tmp_path / "1" / "same-name"))
    assert "extra" not in _load_rows(str(first), "videos", "test", None)[0][0]
    second = without_declared_features(copy_repo(built, tmp_path / "2" / "same-name"))
    for shard in (second / "data" / "videos").glob("*.parquet"):  # every split has the new column
        edit_parquet(shard, lambda r: [{**row, "extra": "new column"} for row in r])
    assert _load_rows(str(second), "videos", "test", None)[0][0]["extra"] == "new column"

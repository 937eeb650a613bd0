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
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release

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


@pytest.fixture(scope="module")
def official_only(tmp_path_factory):
    """The sample's official evaluation layout alone (all_clip.jsonl listing every other clip of each
    video + all_video.jsonl), built with its videos."""
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
    from vidret.builders import build

    root = tmp_path_factory.mktemp("official-only")
    make_lovr_release(root / "raw", layout="official", query_every=2)
    build("lovr", root / "raw", root / "repo", videos="copy")
    return root / "repo"


@pytest.mark.parametrize("task", ["t2c", "c2t", "theme2c", "c2theme", "t2v", "v2t"])
def test_lovr_official_refuses_a_build_without_every_clip(official_only, task):
    import pyarrow.parquet as pq

    videos = pq.read_table(next((official_only / "data" / "videos").glob("test-*.parquet"))).to_pylist()
    assert [v["clips_complete"] for v in videos] == [False] * 5  # the builder says so per video
    missing = (
        r"lacks the clip list of 5 of 5 video\(s\).*only the \d+ clip\(s\) that caption_data/all_clip\.jsonl names.*"
        r"every clip file under video_data/long_video_clip/.*Hub caption files caption_data/clip_\{train,test\}\.parquet"
    )
    what = "ranks every clip of the release" if task[0] == "c" or "2c" in task else r"embeds each full video from all its clips"
    with pytest.raises(ValueError, match=rf"LoVR task '{task}' under the official protocol {what}.*{missing}"):
        run("lovr", official_only, "oracle", protocol="official", tasks=task)
    # Ours ranks what the split holds; full videos from their own file need no clip list.
    assert run("lovr", official_only, "oracle", tasks="t2c")["tasks"]["t2c"]["metrics"]["R@1"] == 100.0
    if task in ("t2v", "v2t"):
        record = run("lovr", official_only, "oracle", protocol="official", tasks=task, long_video="window:1.0")
        assert record["tasks"][task]["num_queries"] == 5


def test_lovr_official_refuses_an_older_official_only_build(official_only, tmp_path):
    # A build made before `clips_complete`: its clips are exactly the official caption queries.
    import shutil

    import pyarrow.parquet as pq

    old = tmp_path / "old"
    shutil.copytree(official_only, old)
    for shard in (old / "data" / "videos").glob("*.parquet"):
        pq.write_table(pq.read_table(shard).drop(["clips_complete"]), shard)
    with pytest.raises(ValueError, match=r"LoVR task 't2c' under the official protocol ranks every clip .* lacks the clip list"):
        run("lovr", old, "oracle", protocol="official", tasks="t2c")


def _recording_oracle(data, **plan_args):
    """The oracle for `data`'s plan, recording the frame codes of every input it is fed, per call."""
    from vidret.evaluation.planning.dataset import load_plan
    from vidret.testing.oracle import build_oracle
    from vidret.testing.synthetic import decode_frame_index

    adapter = build_oracle(load_plan("lovr", str(data), **plan_args)[0])
    calls, encode = [], adapter.encode_video

    def recording(clips):
        calls.append([[decode_frame_index(frame) for frame in clip] for clip in clips])
        return encode(clips)

    adapter.encode_video = recording
    return adapter, calls


@pytest.mark.parametrize("timed", [True, False], ids=["spans-of-the-full-video", "clip-files"])
def test_lovr_concat_feeds_the_stride_over_the_joined_clips_in_one_pass(repos, tmp_path, timed, caplog):
    import math

    from vidret.builders import build
    from vidret.evaluation.running.runner import EvalSettings, evaluate
    from vidret.testing.samples import frame_index_offset
    from vidret.video import probe

    raw = repos["lovr"].parent / "raw_lovr"
    data, video_root = repos["lovr"], None
    if not timed:  # annotations only: no timestamps, each clip read from its own file under --video-root
        data, video_root = tmp_path / "annotations-only", str(raw / "video_data")
        build("lovr", raw, data, progress=False)
    args = dict(tasks="t2v,v2t", protocol="official", long_video="concat", video_root=video_root)
    adapter, calls = _recording_oracle(data, **args)
    out = tmp_path / "concat.json"
    with caplog.at_level("WARNING"):
        record = evaluate(EvalSettings(benchmark="lovr", data=str(data), model="oracle", frame_stride=3, num_workers=0,
                                       output=str(out), **args), adapter=adapter)
    assert not [r for r in caplog.records if "reference code embeds a full video" in r.getMessage()]
    # One forward pass per full video, fed every 3rd frame of its clips joined: the stride never restarts.
    assert len(calls) == 5 and all(len(call) == 1 for call in calls)
    for (codes,) in calls:
        vid = next(v.stem for v in (raw / "video_data" / "merged").iterdir() if frame_index_offset(v.stem) == codes[0])
        frames = probe(raw / "video_data" / "merged" / f"{vid}.mp4").num_frames
        assert codes == [codes[0] + 3 * k for k in range(math.ceil(frames / 3))], vid
    assert record["settings"]["long_video"] == {"segments": "concat", "window_s": None, "aggregate": None}
    assert record["settings"]["frame_stride"] == 3 and validate_file(out, require_all_tasks=False)["settings"]["long_video"]["segments"] == "concat"
    assert {t: task["metrics"]["R@1"] for t, task in record["tasks"].items()} == {"t2v": 100.0, "v2t": 100.0}


def test_lovr_official_says_when_full_videos_are_not_built_its_way(repos, caplog):
    with caplog.at_level("WARNING"):
        run("lovr", repos["lovr"], "oracle", protocol="official", tasks="t2v")
    said = [r.getMessage() for r in caplog.records if "reference code embeds a full video" in r.getMessage()]
    assert said == [
        "the official protocol's reference code embeds a full video as --long-video concat; this run uses "
        "--long-video clips (recorded in settings.long_video)"
    ]


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

"""Loading built repos with `datasets` (map-style and streaming) and decoding frames lazily."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from builders_helpers import read_parquet

import vidret
from vidret.builders import build
from vidret.datasets import FrameDecoder, hub_root, infer_video_root, load, repo_id, resolve_video_path, with_frames
from vidret.testing.samples import frame_index_offset
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release
from vidret.video import sample_frames
from vidret.video.containment import ExternalVideoError
from vidret.testing.synthetic import decode_frame_index

datasets = pytest.importorskip("datasets")
SIZE = (64, 64)  # decode_frame_index needs >= 64x64


@pytest.fixture(scope="module")
def lovr(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("lovr_ds")
    raw = make_lovr_release(base / "raw", archive=True)
    build("lovr", raw, base / "repo", videos="copy", progress=False, work_dir=base)
    make_lovr_release(base / "raw_dirs")  # same seed: the same videos, extracted, to read clip files
    return base / "raw_dirs", base / "repo"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("hf_cache"))


def _codes(frames: np.ndarray, video_id: str) -> list[int]:
    return [decode_frame_index(f) - frame_index_offset(video_id) for f in frames]


@pytest.mark.parametrize("streaming", [False, True])
def test_load_dataset_without_torchcodec_and_clip_frames_match_the_full_video(lovr, cache, streaming):
    raw, repo = lovr
    ds = datasets.load_dataset(str(repo), "clips", split="test", streaming=streaming, cache_dir=cache)
    framed = with_frames(ds, num_frames=4, size=SIZE, video_root=repo)
    rows = list(framed) if streaming else [framed[i] for i in range(len(framed))]
    assert len(rows) == len(read_parquet(repo / "data/clips/test-00000-of-00001.parquet"))
    for row in rows:
        assert row["decode_error"] is None and row["frames"].shape == (4, 64, 64, 3) and row["frames"].dtype == np.uint8
        codes = _codes(row["frames"], row["video_id"])
        # Frame k is the one shown at start + (k + 0.5) * (end - start) / 4 in the full video (10 fps) ...
        times = [row["start"] + (k + 0.5) * (row["end"] - row["start"]) / 4 for k in range(4)]
        assert codes == [int(t * 10 + 1e-6) for t in times]
        # ... and the same frames as the clip file, decoded on its own.
        clip_file = raw / f"video_data/long_video_clip/{row['video_id']}/{row['clip_id']}.mp4"
        assert _codes(sample_frames(clip_file, 4, size=SIZE), row["video_id"]) == codes


def test_streaming_infers_the_repo_root_and_works_with_dataloader_workers(lovr, cache):
    import torch

    _, repo = lovr
    ds = datasets.load_dataset(str(repo), "videos", split="test", streaming=True, cache_dir=cache)
    assert infer_video_root(ds) == str(repo)
    framed = with_frames(ds, num_frames=2, size=SIZE)
    loader = torch.utils.data.DataLoader(framed, batch_size=None, num_workers=2)
    rows = list(loader)
    assert len(rows) == 3 and all(r["decode_error"] is None for r in rows)
    assert all(_codes(r["frames"].numpy(), r["video_id"])[0] >= 0 for r in rows)  # default_convert makes tensors


def test_map_style_dataset_in_dataloader_workers(lovr, cache):
    import torch

    _, repo = lovr
    ds = datasets.load_dataset(str(repo), "clips", split="train", cache_dir=cache)
    framed = with_frames(ds, num_frames=2, size=SIZE, video_root=repo, mode="keyframe")
    loader = torch.utils.data.DataLoader(framed, batch_size=None, num_workers=2)
    assert sum(r["decode_error"] is None for r in loader) == len(ds)


def test_decode_failures_are_rows_with_an_error_not_dropped(lovr, tmp_path, cache):
    _, repo = lovr
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    victim = copy / read_parquet(copy / "data/videos/test-00000-of-00001.parquet")[0]["video"]
    victim.write_bytes(b"broken")
    ds = datasets.load_dataset(str(copy), "clips", split="test", cache_dir=cache)
    framed = with_frames(ds, num_frames=2, size=SIZE, video_root=copy)
    batch = framed[0 : len(ds)]
    failed = [i for i, e in enumerate(batch["decode_error"]) if e]
    assert failed and len(batch["frames"]) == len(ds)
    for i in range(len(ds)):
        bad = batch["video"][i] == f"videos/{victim.name}"
        assert (batch["frames"][i] is None) == bad == (batch["decode_error"][i] is not None)
    assert victim.name in batch["decode_error"][failed[0]] and "VideoDecodeError" in batch["decode_error"][failed[0]]


def test_rows_without_timestamps_or_path_fail_clearly():
    decoder = FrameDecoder(2, SIZE, "/nowhere", "exact")
    results = decoder.decode_rows(
        [
            {"video": "videos/a.mp4", "start": None, "end": None},
            {"video": "", "start": 0.0, "end": 1.0},
            {"video": "videos/absent.mp4"},
        ]
    )
    assert results[0] == (None, "ValueError: /nowhere/videos/a.mp4: the row has no timestamps (a clip of this video was missing when the dataset was built)")
    assert results[1] == (None, "ValueError: empty 'video' value")
    assert results[2][0] is None and results[2][1].startswith("VideoNotFoundError")


def test_absent_video_fails_its_clip_rows_without_a_retry_per_row(monkeypatch):
    import vidret.video

    calls = []
    monkeypatch.setattr(vidret.video, "sample_frames", lambda *a, **k: calls.append(a) or pytest.fail("retried"))
    monkeypatch.setattr(vidret.video.sampler, "_sample_one", lambda *a, **k: calls.append(a) or pytest.fail("retried"))
    decoder = FrameDecoder(2, SIZE, "/nowhere", "exact")
    rows = [{"video": "videos/absent.mp4", "start": float(k), "end": k + 1.0} for k in range(3)]
    results = decoder.decode_rows(rows)
    assert not calls  # one open of the group says the file is absent for every row
    assert [f for f, _ in results] == [None] * 3
    assert all(e.startswith("VideoNotFoundError: /nowhere/videos/absent.mp4") for _, e in results)


def test_annotations_only_repo_resolves_against_a_flat_video_root(tmp_path, cache):
    raw = make_tfcovr_release(tmp_path / "raw", videos_per_label=1)
    build("tf-covr", raw, tmp_path / "repo", videos="none", progress=False)
    ds = datasets.load_dataset(str(tmp_path / "repo"), "videos", split="val", cache_dir=cache)
    framed = with_frames(ds, num_frames=3, size=SIZE, video_root=raw / "FineGD_videos")
    row = framed[0]
    assert row["decode_error"] is None
    assert _codes(row["frames"], row["video_id"])[0] >= 0
    triplets = datasets.load_dataset(str(tmp_path / "repo"), "triplets", split="val", cache_dir=cache)
    with pytest.raises(ValueError, match="no 'video' column .* 'videos' config"):
        with_frames(triplets, video_root=tmp_path)


def test_resolve_video_path(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos/a.mp4").write_bytes(b"")
    (tmp_path / "b.mp4").write_bytes(b"")
    assert resolve_video_path("videos/a.mp4", tmp_path) == str(tmp_path / "videos/a.mp4")
    assert resolve_video_path("videos/b.mp4", tmp_path) == str(tmp_path / "b.mp4")
    assert resolve_video_path("videos/c.mp4", tmp_path) == str(tmp_path / "videos/c.mp4")
    assert resolve_video_path("videos/a.mp4", "hf://datasets/vidret/lovr@v1.0.0/") == "hf://datasets/vidret/lovr@v1.0.0/videos/a.mp4"
    assert resolve_video_path("/abs/x.mp4", tmp_path, allow_external=True) == "/abs/x.mp4"
    with pytest.raises(ExternalVideoError, match="'/abs/x.mp4' is outside the dataset"):
        resolve_video_path("/abs/x.mp4", tmp_path)  # issue 15.5: only with allow_external
    assert resolve_video_path("videos/a.mp4", None) == "videos/a.mp4"


def test_with_frames_argument_errors(lovr, cache):
    _, repo = lovr
    ds = datasets.load_dataset(str(repo), "videos", split="test", cache_dir=cache)
    with pytest.raises(TypeError, match="expects a datasets.Dataset"):
        with_frames([{"video": "x"}])
    with pytest.raises(ValueError, match="num_frames must be an int"):
        with_frames(ds, num_frames=0, video_root=repo)
    with pytest.raises(ValueError, match="mode must be one of"):
        with_frames(ds, mode="approx", video_root=repo)
    with pytest.raises(ValueError, match="pass video_root="):
        with_frames(ds)  # a map-style dataset does not remember its folder
    # Exactly one of num_frames / fps / frame_stride, worded as sample_frames words it.
    with pytest.raises(ValueError, match="pass exactly one of num_frames, fps, frame_stride"):
        with_frames(ds, num_frames=4, fps=1.0, video_root=repo)
    with pytest.raises(ValueError, match="fps must be a positive number"):
        with_frames(ds, fps=0, video_root=repo)
    with pytest.raises(ValueError, match="frame_stride must be an integer >= 1"):
        with_frames(ds, frame_stride=0, video_root=repo)
    with pytest.raises(ValueError, match="max_frames"):
        with_frames(ds, num_frames=4, max_frames=2, video_root=repo)


def test_with_frames_rejects_bad_settings_up_front(lovr, cache):
    # Checked when the dataset is wrapped, with the sampler's own checks: a bad size used to
    # reach the decoder and turn every row into a decode_error instead of raising.
    _, repo = lovr
    ds = datasets.load_dataset(str(repo), "videos", split="test", cache_dir=cache)
    with pytest.raises(ValueError, match="size must be two positive integers"):
        with_frames(ds, size=(0, 64), video_root=repo)
    with pytest.raises(ValueError, match=r"size must be \(width, height\)"):
        with_frames(ds, size=(64,), video_root=repo)
    with pytest.raises(ValueError, match="num_frames must be an int"):
        with_frames(ds, num_frames=True, video_root=repo)


def test_load_is_a_pinned_load_dataset(monkeypatch):
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or "ds")
    monkeypatch.delenv("VIDRET_HUB_ORG", raising=False)
    assert vidret.load("lovr", "clips", "test") == "ds"
    assert calls[-1] == (("vidret/lovr", "clips"), {"split": "test", "revision": "v1.0.0"})
    monkeypatch.setenv("VIDRET_HUB_ORG", "me")
    load("tf_covr", "triplets", "val", revision="v2.0.0", streaming=True)
    assert calls[-1] == (("me/tf-covr", "triplets"), {"split": "val", "revision": "v2.0.0", "streaming": True})
    assert repo_id("lovr", org="x") == "x/lovr"
    assert hub_root("lovr") == "hf://datasets/me/lovr@v1.0.0"
    with pytest.raises(ValueError, match="unknown benchmark"):
        load("msrvtt", "clips")


def test_a_bad_clip_row_fails_alone_among_rows_of_its_video(tmp_path):
    from vidret.testing.synthetic import make_test_video

    make_test_video(tmp_path / "videos/v.mp4", 4.0, fps=10, size=SIZE, gop=10)
    source = str(tmp_path / "videos/v.mp4")
    rows = [
        {"video": "videos/v.mp4", "start": 0.0, "end": 1.0},
        {"video": "videos/v.mp4", "start": 3.0, "end": 9.0},
        {"video": "videos/v.mp4", "start": 2.0, "end": 3.0},
    ]
    results = FrameDecoder(2, SIZE, str(tmp_path), "exact").decode_rows(rows + [{"video": "videos/v.mp4"}])
    assert np.array_equal(results[0][0], sample_frames(source, 2, 0.0, 1.0, size=SIZE)) and results[0][1] is None
    assert np.array_equal(results[2][0], sample_frames(source, 2, 2.0, 3.0, size=SIZE)) and results[2][1] is None
    assert np.array_equal(results[3][0], sample_frames(source, 2, size=SIZE)) and results[3][1] is None
    assert results[1] == (None, f"ValueError: {source}: end 9.0 s is past the end of the video (4.000 s)")


def test_a_programming_error_in_decoding_is_not_a_row_error(monkeypatch):
    import vidret.video.sampler

    def broken(*args, **kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(vidret.video.sampler, "collect_segments", broken)  # what the segment decoder calls
    with pytest.raises(ZeroDivisionError, match="bug"):
        FrameDecoder(2, SIZE, "/nowhere", "exact").decode_rows([{"video": "videos/a.mp4", "start": 0.0, "end": 1.0}])


def test_local_map_style_dataset_error_names_the_one_argument(lovr, cache):
    _, repo = lovr
    ds = datasets.load_dataset(str(repo), "clips", split="test", cache_dir=cache)
    with pytest.raises(ValueError, match=r"loaded without streaming, so it does not remember its folder: pass video_root=<the folder you gave load_dataset, 'repo'>"):
        with_frames(ds)
    framed = with_frames(ds, num_frames=2, size=SIZE, video_root=repo)  # the one argument the message names
    assert framed[0]["decode_error"] is None


def test_rows_without_timestamps_decode_their_own_clip_file(tmp_path):
    from vidret.testing.synthetic import make_test_video

    clip = tmp_path / "video_data/long_video_clip/v/v-Scene-002.mp4"
    make_test_video(clip, 2.0, fps=10, size=SIZE, gop=10, first_index=500)
    row = {"video": "videos/v.mp4", "start": None, "end": None, "clip_video": "long_video_clip/v/v-Scene-002.mp4"}
    for root in (tmp_path / "video_data", tmp_path):  # the release's video_data/, or the release folder above it
        (frames, error), = FrameDecoder(3, SIZE, str(root), "exact").decode_rows([row])
        assert error is None and np.array_equal(frames, sample_frames(clip, 3, size=SIZE))


def test_resolve_video_path_accepts_the_releases_own_folders(tmp_path):
    lovr = tmp_path / "LoVR-benchmark"
    for rel in ("video_data/merged/v.mp4", "video_data/long_video_clip/v/v-Scene-001.mp4", "FineGD_videos/s.mp4"):
        (lovr / rel).parent.mkdir(parents=True, exist_ok=True)
        (lovr / rel).write_bytes(b"")
    merged, clip = lovr / "video_data/merged/v.mp4", lovr / "video_data/long_video_clip/v/v-Scene-001.mp4"
    assert resolve_video_path("videos/v.mp4", lovr / "video_data") == str(merged)  # video_data/ as extracted
    assert resolve_video_path("videos/v.mp4", lovr) == str(merged)  # the release folder
    assert resolve_video_path("videos/v.mp4", lovr / "video_data/merged") == str(merged)  # a flat folder
    assert resolve_video_path("long_video_clip/v/v-Scene-001.mp4", lovr / "video_data") == str(clip)
    assert resolve_video_path("long_video_clip/v/v-Scene-001.mp4", lovr) == str(clip)
    assert resolve_video_path("videos/s.mp4", lovr) == str(lovr / "FineGD_videos/s.mp4")  # TF-CoVR's clip folder
    assert resolve_video_path("long_video_clip/v/absent.mp4", lovr) == str(lovr / "long_video_clip/v/absent.mp4")
    repo = tmp_path / "repo"  # a --videos copy build ships untimed clips under videos/long_video_clip/
    (repo / "videos/long_video_clip/v").mkdir(parents=True)
    (repo / "videos/long_video_clip/v/c.mp4").write_bytes(b"")
    assert resolve_video_path("long_video_clip/v/c.mp4", repo) == str(repo / "videos/long_video_clip/v/c.mp4")


def _span_dataset(tmp_path: Path):
    """A 4 s, 10 fps, 64x48 video (frame i encodes i) and clip rows naming two spans of it."""
    from vidret.testing.synthetic import make_test_video

    make_test_video(tmp_path / "videos/v.mp4", 4.0, fps=10, size=(64, 48), gop=10)
    spans = [(0.5, 3.5), (2.0, 3.0)]
    rows = {"video": ["videos/v.mp4"] * 2, "start": [a for a, _ in spans], "end": [b for _, b in spans]}
    return datasets.Dataset.from_dict(rows), str(tmp_path / "videos/v.mp4"), spans


@pytest.mark.parametrize(
    "sampling", [{"fps": 2.0}, {"frame_stride": 5}, {"fps": 10.0, "max_frames": 4}, {"frame_stride": 1, "max_frames": 3}, {"num_frames": 3}]
)
def test_with_frames_samples_by_rate_exactly_as_sample_frames(tmp_path, sampling):
    ds, source, spans = _span_dataset(tmp_path)
    rows = with_frames(ds, size=SIZE, video_root=tmp_path, **sampling)[0:2]
    assert rows["decode_error"] == [None, None]
    for frames, (start, end) in zip(rows["frames"], spans):
        want = sample_frames(source, start=start, end=end, size=SIZE, **sampling)
        assert np.array_equal(frames, want)  # the same frames, not just as many
        assert [decode_frame_index(f) for f in frames] == [decode_frame_index(f) for f in want]
    if sampling == {"frame_stride": 5}:  # every 5th frame from the span's first: frames 5, 10, ..., 30
        assert [decode_frame_index(f) for f in rows["frames"][0]] == [5, 10, 15, 20, 25, 30]
    if sampling == {"fps": 10.0, "max_frames": 4}:  # 30 grid frames (5 .. 34) thinned evenly to 4
        assert [decode_frame_index(f) for f in rows["frames"][0]] == [8, 16, 23, 31]


def test_with_frames_keeps_the_native_size_by_default(tmp_path):
    clips, source, spans = _span_dataset(tmp_path)
    videos = datasets.Dataset.from_dict({"video": ["videos/v.mp4"]})  # a video row: the whole file
    whole = with_frames(videos, video_root=tmp_path)[0]  # no size: native, 8 uniform frames, as sample_frames
    assert whole["decode_error"] is None and whole["frames"].shape == (8, 48, 64, 3)
    assert np.array_equal(whole["frames"], sample_frames(source))
    clip = with_frames(clips, num_frames=2, video_root=tmp_path)[1]
    assert np.array_equal(clip["frames"], sample_frames(source, 2, *spans[1]))
    assert with_frames(clips, size=(32, 32), video_root=tmp_path)[0]["frames"].shape == (8, 32, 32, 3)


def test_untimed_clip_rows_without_clip_video_read_the_release_clip_file(tmp_path):
    # The runner's rule (`clip_location`): no clip_video column value -> long_video_clip/<vid>/<clip>.mp4.
    from vidret.datasets import clip_location
    from vidret.testing.synthetic import make_test_video

    clip = make_test_video(tmp_path / "long_video_clip/v/v-Scene-003.mp4", 2.0, fps=10, size=SIZE, gop=10, first_index=300)
    row = {"video": "videos/v.mp4", "start": None, "end": 2.0, "video_id": "v", "clip_id": "v-Scene-003"}
    assert clip_location(row) == ("long_video_clip/v/v-Scene-003.mp4", None, None)
    assert clip_location({**row, "start": 1.0}) == ("videos/v.mp4", 1.0, 2.0)
    assert clip_location({"video": "videos/v.mp4"}) == ("videos/v.mp4", None, None)
    (frames, error), = FrameDecoder(3, SIZE, str(tmp_path), "exact").decode_rows([row])
    assert error is None and np.array_equal(frames, sample_frames(clip, 3, size=SIZE))

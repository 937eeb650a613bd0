"""`SegmentDecoder` (the runner's DataLoader dataset): per-segment failures as error strings, and the
same frames as `vidret.datasets.with_frames` for the same clip (one grouped segment decoder)."""

from __future__ import annotations

import numpy as np
import pytest

import vidret.video.sampler
from vidret.evaluation.embeddings.model import SegmentDecoder
from vidret.evaluation.planning.tasks import Segment
from vidret.video import sample_frames
from vidret.testing.synthetic import make_test_video


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return str(make_test_video(tmp_path_factory.mktemp("seg") / "v.mp4", 4.0, fps=10, size=(64, 48), gop=10))


def _seg(source: str, start: float | None, end: float | None) -> Segment:
    name = f"v@{start}-{end}"
    return Segment(name, "v", name, "window", source, start, end)


def test_a_bad_segment_fails_alone_and_the_rest_decode(video):
    group = [_seg(video, 0.0, 1.0), _seg(video, 3.0, 9.0), _seg(video, 1.0, 2.0), _seg(video, None, None)]
    out = SegmentDecoder([group], 2, (32, 24), "exact")[0]
    assert [seg for seg, _, _ in out] == group
    assert np.array_equal(out[0][1], sample_frames(video, 2, 0.0, 1.0, size=(32, 24)))
    assert np.array_equal(out[2][1], sample_frames(video, 2, 1.0, 2.0, size=(32, 24)))
    assert np.array_equal(out[3][1], sample_frames(video, 2, size=(32, 24)))  # whole video
    assert out[1][1] is None and out[1][2] == f"ValueError: {video}: end 9.0 s is past the end of the video (4.000 s)"
    assert all(err is None for i, (_, _, err) in enumerate(out) if i != 1)


def test_a_missing_video_fails_every_segment(tmp_path):
    source = str(tmp_path / "absent.mp4")
    out = SegmentDecoder([[_seg(source, 0.0, 1.0), _seg(source, 1.0, 2.0)]], 2, None, "keyframe")[0]
    assert [frames for _, frames, _ in out] == [None, None]
    assert all(err == f"VideoNotFoundError: {source}: no such file" for _, _, err in out)


def test_a_programming_error_is_not_reported_as_a_decode_failure(video, monkeypatch):
    def broken(*args, **kwargs):
        raise AttributeError("bug")

    monkeypatch.setattr(vidret.video.sampler, "collect_segments", broken)  # what the segment decoder calls
    with pytest.raises(AttributeError, match="bug"):
        SegmentDecoder([[_seg(video, 0.0, 1.0)]], 2, None, "exact")[0]


def test_the_runner_and_with_frames_decode_the_same_frames_for_every_clip(tmp_path):
    # A LoVR build whose first clip of one video was missing: later clips of that video lost their
    # timestamps and are read from their own files, the missing one fails. The runner's plan and
    # `with_frames` must read every clip from the same place and get the same frames or error.
    import shutil
    from pathlib import Path

    datasets = pytest.importorskip("datasets")
    from builders_helpers import read_parquet

    from vidret.builders import build
    from vidret.datasets import with_frames
    from vidret.evaluation.planning.dataset import load_plan
    from vidret.evaluation.running.workers import SegmentDecoder
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
    from vidret.video import group_segments

    raw = make_lovr_release(tmp_path / "raw", videos_per_split={"train": 1, "test": 2}, clips_per_video=(3, 3))
    victim = next(c for c in read_parquet(raw / "caption_data/clip_test.parquet") if c["slice_num"] == 1)
    (raw / "video_data" / victim["path"]).unlink()
    repo = tmp_path / "repo"
    build("lovr", raw, repo, videos="copy", allow_missing=True, progress=False)
    shutil.rmtree(raw)  # only the repo's own videos are there to read
    # One untimed clip as a build before the clip_video column wrote it: read from the release's
    # long_video_clip/<video_id>/<clip_id>.mp4 (shipped under the repo's videos/).
    import pyarrow.parquet as pq

    shard = repo / "data/clips/test-00000-of-00001.parquet"
    table = pq.read_table(shard)
    starts, own = table.column("start").to_pylist(), table.column("clip_video").to_pylist()
    ids = table.column("clip_id").to_pylist()
    first_untimed = next(i for i, (s, c) in enumerate(zip(starts, ids)) if s is None and c != Path(victim["path"]).stem)
    own[first_untimed] = None
    table = table.set_column(table.schema.get_field_index("clip_video"), "clip_video", pa_array(own, table))
    pq.write_table(table, shard)

    plan, _ = load_plan("lovr", str(repo), tasks="t2c,c2t")
    groups = group_segments(plan.segments)
    decoder = SegmentDecoder(groups, 3, (64, 64), "exact")
    runner = {seg.name: (frames, error) for i in range(len(decoder)) for seg, frames, error in decoder[i]}

    ds = datasets.load_dataset(str(repo), "clips", split="test", cache_dir=str(tmp_path / "hf"))
    rows = with_frames(ds, num_frames=3, size=(64, 64), video_root=Path(repo).resolve())[0 : len(ds)]
    assert sorted(rows["clip_id"]) == sorted(runner)
    untimed = []
    for cid, start, frames, error in zip(rows["clip_id"], rows["start"], rows["frames"], rows["decode_error"]):
        want_frames, want_error = runner[cid]
        assert error == want_error, cid
        assert (frames is None and want_frames is None) or np.array_equal(frames, want_frames), cid
        if start is None and error is None:
            untimed.append(cid)
    # Clips read whole from their own files, the same way by both, with and without clip_video.
    assert rows["clip_id"][first_untimed] in untimed and len(untimed) >= 2
    assert runner[Path(victim["path"]).stem][1].startswith("VideoNotFoundError: ")


def pa_array(values: list, table):
    """`values` as an Arrow array of the type `table`'s clip_video column has."""
    import pyarrow as pa

    return pa.array(values, type=table.schema.field("clip_video").type)

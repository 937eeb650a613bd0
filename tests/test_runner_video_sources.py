"""Which videos an evaluation reads and how long it waits (issue 15.5, 15.6, 15.9): references outside
the dataset are refused unless allowed, remote videos have a recorded time limit, and a pixel bomb
or a stalled server is one counted failure, not the end of the run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from builders_helpers import edit_parquet
from runner_helpers import build_sample_repos, copy_repo, run
from vidret.cli.main import main
from vidret.datasets import with_frames
from vidret.evaluation.embeddings.model import SegmentDecoder
from vidret.evaluation.planning.tasks import Segment
from vidret.video.containment import ExternalVideoError, is_inside
from vidret.testing.rangeserver import serve_directory
from vidret.testing.synthetic import decode_frame_index, make_oversized_video, make_test_video


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="module")
def www(repos, tmp_path_factory):
    """A range server over a copy of the TF-CoVR sample's videos (it counts every request)."""
    root = tmp_path_factory.mktemp("www")
    for video in (repos["tf-covr"] / "videos").iterdir():
        shutil.copy(video, root / video.name)
    with serve_directory(root) as server:
        yield server, root


def _point_first_test_video_at(repo: Path, reference: str) -> str:
    """Rewrite the `video` of the first row of the test split's videos config; returns its id."""
    shard = next((repo / "data" / "videos").glob("test-*.parquet"))
    victim: list[str] = []

    def edit(rows):
        victim.append(rows[0]["video_id"])
        rows[0]["video"] = reference(rows[0]) if callable(reference) else reference
        return rows

    edit_parquet(shard, edit)
    return victim[0]


@pytest.mark.parametrize(
    "reference, root, inside",
    [
        ("videos/a.mp4", "/data/repo", True),
        ("videos/../a.mp4", "/data/repo", True),
        ("../secret.mp4", "/data/repo", False),
        ("videos/../../secret.mp4", "/data/repo", False),
        ("..\\..\\secret.mp4", "/data/repo", False),
        ("/data/repo/videos/a.mp4", "/data/repo", True),
        ("/data/repository/a.mp4", "/data/repo", False),
        ("/etc/passwd", "/data/repo", False),
        ("C:\\Users\\me\\a.mp4", "/data/repo", False),
        ("http://169.254.169.254/latest/meta-data", "/data/repo", False),
        ("file:///etc/passwd", "/data/repo", False),
        ("hf://datasets/org/lovr@v1/videos/a.mp4", "hf://datasets/org/lovr@v1", True),
        ("hf://datasets/org/lovr@v1/../other/a.mp4", "hf://datasets/org/lovr@v1", False),
        ("hf://datasets/org/lovr@v1/%2e%2e/%2E%2E/x.mp4", "hf://datasets/org/lovr@v1", False),
        ("hf://datasets/org/lovr@v1extra/a.mp4", "hf://datasets/org/lovr@v1", False),
        ("https://example.org/a.mp4", "hf://datasets/org/lovr@v1", False),
        ("/data/repo/a.mp4", "hf://datasets/org/lovr@v1", False),
        ("%2e%2e/x.mp4", "hf://datasets/org/lovr@v1", False),
    ],
)
def test_containment_rule(reference, root, inside):
    assert is_inside(reference, root) is inside


def test_a_dataset_naming_a_url_or_a_local_file_is_refused_before_any_request(repos, www, tmp_path):
    server, _ = www
    repo = copy_repo(repos["tf-covr"], tmp_path / "repo")
    _point_first_test_video_at(repo, lambda row: server.url(Path(row["video"]).name))
    server.reset()
    with pytest.raises(ExternalVideoError, match=r"video 'http://127\.0\.0\.1:\d+/.*\.mp4' is outside the dataset"):
        run("tf-covr", repo, "oracle")
    assert server.requests == 0  # refused from the text alone
    out = tmp_path / "r.json"
    with pytest.raises(SystemExit, match="vidret evaluate: video .* --allow-external-videos"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repo), "--model", "oracle", "--no-cache",
              "--num-workers", "0", "--output", str(out)])
    assert server.requests == 0 and not out.exists()
    # an absolute path outside the repo is refused the same way
    outside = copy_repo(repos["tf-covr"], tmp_path / "repo2")
    _point_first_test_video_at(outside, lambda row: str(repos["tf-covr"] / row["video"]))
    with pytest.raises(ExternalVideoError, match="is outside the dataset"):
        run("tf-covr", outside, "oracle")


def test_external_videos_are_read_when_the_user_allows_them(repos, www, tmp_path):
    server, _ = www
    repo = copy_repo(repos["tf-covr"], tmp_path / "repo")
    _point_first_test_video_at(repo, lambda row: server.url(Path(row["video"]).name))
    server.reset()
    out = tmp_path / "r.json"
    assert main(["evaluate", "--benchmark", "tf-covr", "--data", str(repo), "--model", "oracle", "--no-cache",
                 "--num-workers", "0", "--allow-external-videos", "--output", str(out)]) == 0
    record = json.loads(out.read_text())
    assert server.requests > 0 and record["num_failed"] == 0
    assert record["settings"]["allow_external_videos"] is True
    assert record["tasks"]["cvr"]["metrics"]["mAP@50"] == 100.0


def test_the_remote_time_limit_is_recorded_and_set_by_the_environment(repos, tmp_path, monkeypatch):
    record = run("tf-covr", repos["tf-covr"], "oracle", limit=2)
    assert record["settings"]["http_timeout_s"] == 60.0 and record["settings"]["allow_external_videos"] is False
    out = tmp_path / "r.json"
    monkeypatch.setenv("VIDRET_HTTP_TIMEOUT", "7.5")
    assert main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", "oracle",
                 "--no-cache", "--num-workers", "0", "--limit", "2", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["settings"]["http_timeout_s"] == 7.5
    monkeypatch.setenv("VIDRET_HTTP_TIMEOUT", "soon")
    with pytest.raises(SystemExit, match="vidret evaluate: VIDRET_HTTP_TIMEOUT='soon' must be a positive number of seconds"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", "oracle", "--no-cache"])


def test_a_stalled_server_is_one_counted_failure(repos, www, tmp_path):
    server, _ = www
    repo = copy_repo(repos["tf-covr"], tmp_path / "repo")
    victim = _point_first_test_video_at(repo, lambda row: server.url(Path(row["video"]).name))
    server.reset()
    server.stall_s = 30.0
    try:
        record = run("tf-covr", repo, "oracle", allow_external_videos=True, http_timeout=0.5)
    finally:
        server.reset()
    [failure] = record["failures"]
    assert failure["item_id"] == victim and "timed out opening the video: no answer from the server within 0.5 s" in failure["reason"]
    assert record["settings"]["http_timeout_s"] == 0.5


def test_a_pixel_bomb_is_one_failed_video_in_the_runners_decoder(tmp_path):
    bomb = str(make_oversized_video(tmp_path / "bomb.mp4", (7696, 4320)))
    good = str(make_test_video(tmp_path / "good.mp4", 2.0, size=(64, 48), gop=10))
    groups = [[Segment("b", "b", "b", "video", bomb, None, None)], [Segment("g", "g", "g", "video", good, None, None)]]
    decoder = SegmentDecoder(groups, 2, None, "exact")  # native size, as for CLIP-style adapters
    [(_, frames, error)] = decoder[0]
    assert frames is None and error.startswith("VideoTooLargeError: ") and "7696x4320" in error and "size=" in error
    [(_, frames, error)] = decoder[1]
    assert error is None and [decode_frame_index(f) for f in frames] == [15, 45]


def test_with_frames_lists_a_refused_row_and_decodes_the_rest(repos, www, tmp_path):
    import datasets

    server, _ = www
    repo = copy_repo(repos["tf-covr"], tmp_path / "repo")
    _point_first_test_video_at(repo, lambda row: server.url(Path(row["video"]).name))
    ds = datasets.load_dataset(str(repo), "videos", split="test", download_mode="force_redownload")  # edited in place
    server.reset()
    rows = with_frames(ds, num_frames=2, size=(64, 64), video_root=repo)[0:3]
    assert rows["frames"][0] is None and rows["decode_error"][0].startswith("ExternalVideoError: video 'http://")
    assert all(f is not None for f in rows["frames"][1:]) and server.requests == 0
    allowed = with_frames(ds, num_frames=2, size=(64, 64), video_root=repo, allow_external=True, timeout=10)[0:1]
    assert allowed["decode_error"] == [None] and server.requests > 0


def test_a_run_that_read_external_videos_can_be_exported(repos, tmp_path):
    """`vidret embeddings export` re-derives the run's plan with the run's --allow-external-videos."""
    from vidret.evaluation.embeddings.export import export_embeddings, read_export

    repo = copy_repo(repos["tf-covr"], tmp_path / "repo")
    victim = _point_first_test_video_at(repo, lambda row: str(repos["tf-covr"] / row["video"]))
    out = tmp_path / "r.json"
    run("tf-covr", repo, "oracle", allow_external_videos=True, cache_dir=str(tmp_path / "c"), output=str(out))
    report = export_embeddings(out, tmp_path / "e")
    assert report.failed == [] and victim in read_export(tmp_path / "e").ids

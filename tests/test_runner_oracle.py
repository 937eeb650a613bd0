"""The oracle proves ids, ordering, aggregation, fusion and scoring end to end; its shuffled
control must fall to chance."""

from __future__ import annotations

import numpy as np
import pytest

from runner_helpers import build_sample_repos, run
from vidret.testing.oracle import OracleAdapter, OracleVideo, build_oracle
from vidret.evaluation.results.validation import validate_file


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("samples"))


def test_oracle_lovr_all_tasks_perfect(repos, tmp_path):
    out = tmp_path / "lovr.json"
    record = run("lovr", repos["lovr"], "oracle", output=str(out))
    assert set(record["tasks"]) == {"t2v", "v2t", "t2c", "c2t"}
    for task_id, task in record["tasks"].items():
        assert task["metrics"]["R@1"] == 100.0, task_id
        assert task["metrics"]["MdR"] == 1.0
        assert task["num_failed"] == 0
    assert record["tasks"]["t2c"]["num_queries"] == record["tasks"]["t2c"]["gallery_size"] > 3
    assert record["model"]["adapter"] == "oracle" and record["num_processes"] == 1
    assert record["settings"]["long_video"] == {"segments": "clips", "window_s": None, "aggregate": "mean"}
    assert record["dataset"]["revision"] == "v1.0.0"  # the local build's version, as `vidret publish` tags it
    validate_file(out)


def test_oracle_lovr_theme_tasks_perfect(repos):
    # The sample gives every clip its video's theme (several clips and videos share one).
    record = run("lovr", repos["lovr"], "oracle", tasks="theme2c,c2theme,t2c")
    for task_id, task in record["tasks"].items():
        assert task["metrics"]["R@1"] == 100.0, (task_id, task["metrics"])
    assert record["tasks"]["theme2c"]["num_queries"] == record["tasks"]["c2theme"]["gallery_size"] >= 2
    assert record["tasks"]["c2theme"]["num_queries"] == record["tasks"]["t2c"]["num_queries"]


def test_oracle_lovr_windows_and_max(repos):
    record = run("lovr", repos["lovr"], "oracle", tasks="t2v,v2t", long_video="window:1.5", aggregate="max")
    assert [t["metrics"]["R@1"] for t in record["tasks"].values()] == [100.0, 100.0]
    assert record["settings"]["long_video"] == {"segments": "window", "window_s": 1.5, "aggregate": "max"}


@pytest.mark.parametrize("fusion", ["avg", "text", "weighted:0.3"])
def test_oracle_tfcovr_perfect(repos, tmp_path, fusion):
    out = tmp_path / "tf.json"
    record = run("tf-covr", repos["tf-covr"], "oracle", fusion=fusion, output=str(out))
    task = record["tasks"]["cvr"]
    assert all(v == 100.0 for v in task["metrics"].values()), task["metrics"]
    assert record["settings"]["fusion"] == fusion
    assert task["num_queries"] == 20 and task["gallery_size"] == 10
    validate_file(out)


def test_shuffled_control_falls_to_chance(repos):
    lovr = run("lovr", repos["lovr"], "oracle-shuffled")
    # A derangement of identities: no query can find its own item first except by tie order.
    assert max(t["metrics"]["R@1"] for t in lovr["tasks"].values()) < 35.0
    assert lovr["tasks"]["t2c"]["metrics"]["MnR"] > 3.0
    tf = run("tf-covr", repos["tf-covr"], "oracle-shuffled")
    assert tf["tasks"]["cvr"]["metrics"]["mAP@5"] < 50.0
    assert tf["tasks"]["cvr"]["metrics"]["R@1"] < 50.0


def test_oracle_reads_pixels_not_ids(tmp_path):
    from vidret.video import sample_frames
    from vidret.testing.synthetic import make_test_video

    a = make_test_video(tmp_path / "a.mp4", 2.0, fps=10, size=(64, 48), gop=10, first_index=500)
    b = make_test_video(tmp_path / "b.mp4", 2.0, fps=10, size=(64, 48), gop=10, first_index=9000)
    videos = [
        OracleVideo("A", 500, 10.0, clips=(("A-1", 0.0, 1.0), ("A-2", 1.0, 2.0))),
        OracleVideo("B", 9000, 10.0, clips=(("B-1", 0.0, 2.0),)),
    ]
    oracle = OracleAdapter("lovr", videos)
    frames = sample_frames(a, num_frames=3, start=1.0, end=2.0, size=(128, 96))
    assert oracle.identify(frames) == ("A", "A-2")
    assert oracle.identify(sample_frames(b, num_frames=2, size=(128, 96))) == ("B", "B-1")
    assert oracle.identify(np.zeros((2, 96, 128, 3), np.uint8)) == (None, None)  # no code: unknown
    emb = oracle.encode_video([frames]).numpy()
    txt = oracle.encode_text(["the scene A-2 shows", "the video A", "nothing known"]).numpy()
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0)
    assert emb @ txt[0] == pytest.approx(1.0) and emb @ txt[1] == pytest.approx(2**-0.5)
    assert txt[2, -1] == 1.0


def test_oracle_errors():
    with pytest.raises(ValueError, match="unknown benchmark"):
        OracleAdapter("msrvtt", [OracleVideo("A", 0, 10.0)])
    assert OracleAdapter("lovr", []).encode_text(["anything"]).tolist() == [[1.0]]  # nothing readable: unknown
    with pytest.raises(ValueError, match="share a first frame code"):
        OracleAdapter("lovr", [OracleVideo("A", 0, 10.0), OracleVideo("B", 0, 10.0)])
    with pytest.raises(ValueError, match="unknown oracle"):
        build_oracle(None, "oracle-perfect")  # type: ignore[arg-type]


def test_local_build_revision_is_the_tag_publish_accepts(repos, tmp_path):
    """`.eval_results` names the recorded revision: it must be the tag the folder is published under."""
    from pathlib import Path

    from vidret.hub.publish import PublishError, check_folder

    record = run("tf-covr", repos["tf-covr"], "oracle")
    revision = record["dataset"]["revision"]
    assert revision == "v1.0.0" and record["dataset"]["commit"] is None
    check_folder(Path(repos["tf-covr"]), revision)  # accepted as the publish tag
    with pytest.raises(PublishError, match="does not match the build's version"):
        check_folder(Path(repos["tf-covr"]), revision.removeprefix("v"))
    # An explicit --revision is recorded as given.
    assert run("tf-covr", repos["tf-covr"], "oracle", revision="v9")["dataset"]["revision"] == "v9"

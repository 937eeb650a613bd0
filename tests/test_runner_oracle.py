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


# A plug-in benchmark (a package registered in the entry-point group `vidret.benchmarks`) with
# its own oracle reader: one dimension per video, captions naming their video.
_TOY_INIT = '''
from vidret.benchmarks import Benchmark

BENCHMARK = Benchmark(benchmark="toy-t2v", title="Toy: text to video", default_repo="toy-t2v",
                      upstream_repo="example/toy-t2v", package=__name__)
'''
_TOY_ORACLE = '''
from vidret.testing.oracle import OracleSplit, OracleVideo


class Space:
    def __init__(self, videos):
        self.text_keys = [v.video_id for v in videos]
        self._dim = {vid: i for i, vid in enumerate(self.text_keys)}
        self.size = len(self._dim)
        self.identities = {"video": self.text_keys}

    def video_entries(self, video_id, clip_id, shuffled):
        return {self._dim[shuffled("video", video_id)]: 1.0}

    def text_entries(self, text, key):
        return None if key is None else {self._dim[key]: 1.0}


def split(plan, files):
    ids = [v["video_id"] for v in plan.tables["videos"]]
    return OracleSplit(tuple(OracleVideo(i, files.first_index(i), files.fps(i)) for i in ids if files.fps(i) is not None))


def space(videos, themes):
    return Space(videos)
'''


@pytest.fixture
def toy_benchmark(tmp_path, monkeypatch):
    """Install the toy plug-in (package + dist-info with its entry point) on sys.path; unregister after."""
    import sys

    from vidret.benchmarks import registry

    site = tmp_path / "site"
    (site / "toy_t2v").mkdir(parents=True)
    (site / "toy_t2v" / "__init__.py").write_text(_TOY_INIT)
    (site / "toy_t2v" / "oracle.py").write_text(_TOY_ORACLE)
    (site / "toy_t2v-0.1.dist-info").mkdir()
    (site / "toy_t2v-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-t2v\nVersion: 0.1\n")
    (site / "toy_t2v-0.1.dist-info" / "entry_points.txt").write_text("[vidret.benchmarks]\ntoy-t2v = toy_t2v:BENCHMARK\n")
    monkeypatch.syspath_prepend(str(site))
    registry.reload()
    yield "toy-t2v"
    monkeypatch.undo()
    for name in [m for m in sys.modules if m == "toy_t2v" or m.startswith("toy_t2v.")]:
        del sys.modules[name]
    registry.reload()


def test_oracle_reads_what_the_registered_benchmark_declares(toy_benchmark, tmp_path, monkeypatch):
    """The adapter reaches a benchmark's embeddings only through the registry: a plug-in's reader works as is."""
    from types import SimpleNamespace

    from vidret.benchmarks import get_benchmark, registered
    from vidret.evaluation.planning.tasks import Segment
    from vidret.testing.samples import frame_index_offset
    from vidret.testing.synthetic import make_test_video
    from vidret.video import sample_frames

    assert toy_benchmark in registered() and get_benchmark(toy_benchmark).provider == "toy-t2v"
    files = {vid: make_test_video(tmp_path / f"{vid}.mp4", 1.0, fps=10, size=(64, 48), gop=10, first_index=frame_index_offset(vid))
             for vid in ("vid-a", "vid-b")}
    plan = SimpleNamespace(
        benchmark=SimpleNamespace(benchmark=toy_benchmark),
        segments=[Segment(vid, vid, vid, "video", str(path), None, None) for vid, path in files.items()],
        tables={"videos": [{"video_id": "vid-a"}, {"video_id": "vid-b"}, {"video_id": "vid-gone"}]},  # no file: left out
    )
    frames = [sample_frames(files[vid], num_frames=2, size=(128, 96)) for vid in ("vid-a", "vid-b")]
    texts = ["a dog runs (vid-b)", "vid-a: a cat sleeps", "nobody"]

    oracle = build_oracle(plan)
    assert oracle.dim == 3  # the toy's one dimension per readable video, plus "unknown"
    scores = oracle.encode_video(frames).numpy() @ oracle.encode_text(texts).numpy().T
    assert scores.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    shuffled = build_oracle(plan, "oracle-shuffled")  # the generic control permutes the toy's identities
    swapped = shuffled.encode_video(frames).numpy() @ shuffled.encode_text(texts).numpy().T
    assert swapped.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert OracleAdapter(toy_benchmark, []).encode_text(["vid-a"]).tolist() == [[1.0]]  # by id, like the built-ins

    monkeypatch.delattr(get_benchmark(toy_benchmark).oracle_reader(), "space")
    with pytest.raises(ValueError, match="oracle reader of benchmark 'toy-t2v'.*no split\\(\\) and space\\(\\)"):
        build_oracle(plan)

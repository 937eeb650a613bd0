"""Task derivation from dataset rows: relevance, galleries, exclusions, segments, errors."""

from __future__ import annotations

import pytest

from vidret.benchmarks import get_benchmark
from vidret.benchmarks.lovr.planner import plan_lovr
from vidret.benchmarks.tf_covr.planner import plan_tfcovr
from vidret.evaluation.planning.tasks import LongVideo, parse_long_video, resolve_task_ids, rows_of


def lovr_rows():
    videos = [
        {"video_id": "vidA", "video": "videos/vidA.mp4", "duration": 6.0, "caption": "about vidA", "theme": "sport"},
        {"video_id": "vidB", "video": "videos/vidB.mp4", "duration": 4.0, "caption": "about vidB", "theme": "food"},
    ]
    clips = [
        {"clip_id": "vidA-Scene-002", "video_id": "vidA", "start": 3.0, "end": 6.0, "caption": "A2", "theme": "sport", "video": "videos/vidA.mp4"},
        {"clip_id": "vidA-Scene-001", "video_id": "vidA", "start": 0.0, "end": 3.0, "caption": "A1", "theme": "sport", "video": "videos/vidA.mp4"},
        {"clip_id": "vidB-Scene-001", "video_id": "vidB", "start": 0.0, "end": 4.0, "caption": "B1", "theme": "food", "video": "videos/vidB.mp4"},
    ]
    return videos, clips


def test_lovr_tasks_relevance_and_shared_segments():
    videos, clips = lovr_rows()
    plan = plan_lovr(videos, clips, ["t2v", "v2t", "t2c", "c2t"], "test", resolve=lambda p: "/root/" + p)
    tasks = {t.task_id: t for t in plan.tasks}
    assert tasks["t2v"].query_ids == ["vidA", "vidB"] and tasks["t2v"].gallery_ids == ["vidA", "vidB"]
    assert tasks["t2v"].relevant == [["vidA"], ["vidB"]]
    assert [q.kind for q in tasks["t2v"].queries] == ["text", "text"]
    assert [q.kind for q in tasks["v2t"].queries] == ["visual", "visual"]
    assert tasks["t2c"].gallery_ids == ["vidA-Scene-002", "vidA-Scene-001", "vidB-Scene-001"]
    assert tasks["c2t"].relevant[1] == ["vidA-Scene-001"]
    # Clips are embedded once and reused as the segments of their full video, in time order.
    assert len(plan.segments) == 3
    seg = {s.name: s for s in plan.segments}
    assert plan.visuals["vidA"] == [seg["vidA-Scene-001"].item_id, seg["vidA-Scene-002"].item_id]
    assert seg["vidB-Scene-001"].source == "/root/videos/vidB.mp4"
    assert (seg["vidA-Scene-002"].start, seg["vidA-Scene-002"].end) == (3.0, 6.0)
    assert len(plan.texts) == 5  # 2 video captions + 3 clip captions


def test_lovr_identical_captions_are_relevant_to_each_other():
    """Two clips (and two videos) with the same caption: either copy answers, in both directions."""
    import numpy as np

    from vidret.evaluation.running.score import score_task

    videos, clips = lovr_rows()
    videos[1]["caption"] = videos[0]["caption"]
    clips[2]["caption"] = clips[0]["caption"]  # vidB-Scene-001 and vidA-Scene-002 share "A2"
    plan = plan_lovr(videos, clips, ["t2v", "v2t", "t2c", "c2t"], "test")
    tasks = {t.task_id: t for t in plan.tasks}
    for task_id in ("t2v", "v2t"):
        assert tasks[task_id].relevant == [["vidA", "vidB"], ["vidA", "vidB"]]
    for task_id in ("t2c", "c2t"):
        assert tasks[task_id].relevant == [
            ["vidA-Scene-002", "vidB-Scene-001"], ["vidA-Scene-001"], ["vidA-Scene-002", "vidB-Scene-001"]
        ]
    # A model that matches every clip to its caption perfectly: the shared caption embeds once, and
    # the second clip's query ties with the first copy (lower gallery index): still a hit.
    basis = np.eye(4, dtype=np.float32)
    texts = {tid: basis[i] for i, tid in enumerate(dict.fromkeys(q.text for q in tasks["t2c"].queries))}
    shared = texts[tasks["t2c"].queries[0].text]
    visuals = {"vidA-Scene-002": shared, "vidA-Scene-001": texts[tasks["t2c"].queries[1].text], "vidB-Scene-001": shared}
    result = score_task(tasks["c2t"], texts, visuals, "avg")
    assert result["metrics"]["R@1"] == 100.0


def test_lovr_windows():
    videos, clips = lovr_rows()
    plan = plan_lovr(videos, clips, ["t2v"], "test", long_video=LongVideo("window", 2.5, "max"))
    spans = [(plan_seg.start, plan_seg.end) for plan_seg in plan.segments if plan_seg.video_id == "vidA"]
    assert spans == [(0.0, 2.5), (2.5, 5.0), (5.0, 6.0)]
    assert all(s.kind == "window" for s in plan.segments)
    assert len(plan.visuals["vidB"]) == 2


def test_lovr_concat_embeds_each_full_video_once_from_its_clips_in_order():
    videos, clips = lovr_rows()
    clips[2] = {**clips[2], "start": None, "end": None, "clip_video": "long_video_clip/vidB/vidB-Scene-001.mp4"}
    plan = plan_lovr(videos, clips, ["t2v", "t2c"], "test", resolve=lambda p: "/root/" + p, long_video=LongVideo("concat", None, None))
    by_name = {s.name: s for s in plan.segments}
    full_a, full_b = by_name["vidA"], by_name["vidB"]
    assert plan.visuals["vidA"] == [full_a.item_id] and plan.visuals["vidB"] == [full_b.item_id]
    # Its clips in temporal order (the rows are not), each where the clip is decoded from: a span of
    # the full video, or (no timestamps) its own file.
    assert full_a.parts == (("/root/videos/vidA.mp4", 0.0, 3.0), ("/root/videos/vidA.mp4", 3.0, 6.0))
    assert full_b.parts == (("/root/long_video_clip/vidB/vidB-Scene-001.mp4", None, None),)
    assert (full_a.kind, full_a.source, full_a.start, full_a.end) == ("video", "/root/videos/vidA.mp4", None, None)
    # Its own cache id: never a clip's, a window's or the whole file's.
    others = {s.item_id for s in plan.segments if not s.parts}
    assert len(others) == 3 and full_a.item_id not in others and full_a.item_id.startswith("concat:/root/videos/vidA.mp4@2:")
    moved = [dict(c, end=c["end"] + 0.5) if c["clip_id"] == "vidA-Scene-002" else c for c in clips]
    again = plan_lovr(videos, moved, ["t2v"], "test", resolve=lambda p: "/root/" + p, long_video=LongVideo("concat", None, None))
    assert {s.name: s.item_id for s in again.segments}["vidA"] != full_a.item_id  # other spans, other id
    clips_only = [c for c in clips if c["video_id"] == "vidA"]
    with pytest.raises(ValueError, match="video 'vidB' has no clips to join"):
        plan_lovr(videos, clips_only, ["t2v"], "test", long_video=LongVideo("concat", None, None))


def test_lovr_limit_keeps_first_videos_and_their_clips():
    videos, clips = lovr_rows()
    plan = plan_lovr(videos, clips, ["t2c"], "test", limit=1)
    assert plan.tasks[0].query_ids == ["vidA-Scene-002", "vidA-Scene-001"]


def test_lovr_theme_tasks():
    videos, clips = lovr_rows()
    plan = plan_lovr(videos, clips, ["theme2c", "c2theme"], "test")
    t2c, c2t = plan.tasks
    assert t2c.query_ids == ["theme:sport", "theme:food"]
    assert t2c.relevant == [["vidA-Scene-002", "vidA-Scene-001"], ["vidB-Scene-001"]]
    assert c2t.relevant[2] == ["theme:food"]


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda v, c: [row.pop("caption") for row in v], "missing column"),
        (lambda v, c: v[1].update(video_id="vidA"), "duplicate id 'vidA'"),
        (lambda v, c: c[1].update(clip_id="vidA-Scene-002"), "duplicate id 'vidA-Scene-002'"),
        (lambda v, c: c[0].update(video_id="ghost"), "unknown video 'ghost'"),
        (lambda v, c: v[0].update(caption="  "), "row 0 caption: empty"),
        (lambda v, c: c[0].update(caption=None), "row 0 caption: empty"),
        (lambda v, c: c.pop(2), "'vidB' has no clips"),
    ],
)
def test_lovr_bad_rows(mutate, match):
    videos, clips = lovr_rows()
    mutate(videos, clips)
    with pytest.raises(ValueError, match=match):
        plan_lovr(videos, clips, ["t2v", "t2c"], "test")


def test_lovr_empty_and_window_errors():
    videos, clips = lovr_rows()
    with pytest.raises(ValueError, match="no rows"):
        plan_lovr([], clips, ["t2v"], "test")
    videos[0]["duration"] = None
    with pytest.raises(ValueError, match="no positive duration"):
        plan_lovr(videos, clips, ["t2v"], "test", long_video=LongVideo("window", 2.0))
    _, clips = lovr_rows()
    clips[0]["theme"] = None
    with pytest.raises(ValueError, match="needs a theme"):
        plan_lovr(lovr_rows()[0], clips, ["theme2c"], "test")


def tfcovr_rows():
    videos = [{"video_id": v, "video": f"v/{v}.mp4", "label": lab} for v, lab in
              [("q1", "x"), ("t1", "y"), ("t2", "y"), ("q2", "y"), ("t3", "x")]]
    triplets = [
        {"query_id": "0", "query_video": "q1", "modification": "do y", "target_video": "t1", "target_videos": ["t1", "t2", "q2"]},
        {"query_id": "1", "query_video": "q2", "modification": "do x", "target_video": "t3", "target_videos": "['t3']"},
        {"query_id": "2", "query_video": "t1", "modification": "do y again", "target_video": "t1", "target_videos": []},
    ]
    return triplets, videos


def test_tfcovr_gallery_relevance_exclusion():
    triplets, videos = tfcovr_rows()
    plan = plan_tfcovr(triplets, videos, "test")
    (task,) = plan.tasks
    assert task.task_id == "cvr"
    assert task.gallery_ids == ["t1", "t3"]  # distinct target videos, deduplicated
    assert task.relevant == [["t1", "t2", "q2"], ["t3"], ["t1"]]  # a literal string is parsed, empty → target_video
    assert task.exclude == [["q1"], ["q2"], ["t1"]]
    assert [q.kind for q in task.queries] == ["composed"] * 3
    assert set(plan.visuals) == {"q1", "t1", "q2", "t3"}  # t2 is neither query nor gallery
    assert all(s.start is None and s.kind == "video" for s in plan.segments)


def test_tfcovr_errors():
    triplets, videos = tfcovr_rows()
    with pytest.raises(ValueError, match="'ghost' is not in the TF-CoVR videos config"):
        plan_tfcovr([{**triplets[0], "target_video": "ghost"}], videos, "test")
    with pytest.raises(ValueError, match="not a list literal"):
        plan_tfcovr([{**triplets[0], "target_videos": "[t1"}], videos, "test")
    with pytest.raises(ValueError, match="must be a list"):
        plan_tfcovr([{**triplets[0], "target_videos": 5}], videos, "test")
    with pytest.raises(ValueError, match="duplicate id '0'"):
        plan_tfcovr([triplets[0], triplets[0]], videos, "test")
    with pytest.raises(ValueError, match="missing column"):
        plan_tfcovr([{"query_id": "0"}], videos, "test")
    # __import__ builtins inside a literal is never evaluated
    with pytest.raises(ValueError, match="not a list literal"):
        plan_tfcovr([{**triplets[0], "target_videos": "__import__('os').getcwd()"}], videos, "test")


def test_tfcovr_limit():
    triplets, videos = tfcovr_rows()
    plan = plan_tfcovr(triplets, videos, "test", limit=1)
    assert plan.tasks[0].gallery_ids == ["t1"]


def test_parse_long_video():
    assert parse_long_video("clips") == LongVideo("clips", None, "mean")
    assert parse_long_video("window:30", "max") == LongVideo("window", 30.0, "max")
    assert parse_long_video("concat") == LongVideo("concat", None, None)
    assert parse_long_video("concat").as_dict() == {"segments": "concat", "window_s": None, "aggregate": None}
    with pytest.raises(ValueError, match="--aggregate max: --long-video concat embeds each full video once"):
        parse_long_video("concat", "max")
    for bad in ("window:", "window:-1", "window:abc", "frames", "window:nan", "official"):
        with pytest.raises(ValueError, match="--long-video"):
            parse_long_video(bad)
    with pytest.raises(ValueError, match="--aggregate"):
        parse_long_video("clips", "median")


def test_resolve_task_ids():
    lovr = get_benchmark("lovr")
    assert resolve_task_ids(lovr, None) == ["t2v", "v2t", "t2c", "c2t"]
    assert resolve_task_ids(lovr, "t2c, t2v,t2c") == ["t2c", "t2v"]
    with pytest.raises(ValueError, match="unknown task"):
        resolve_task_ids(lovr, "t2v,cvr")
    with pytest.raises(ValueError, match="empty"):
        resolve_task_ids(lovr, " , ")


def test_rows_of_plain_iterables():
    assert rows_of([{"a": 1}]) == [{"a": 1}]

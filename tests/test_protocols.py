"""Protocols as data: the declarations, the tasks derived from them, and scoring under each rule.

Every official rule has a hand-worked case with its arithmetic: duplicate gallery hits, AP > 1,
designated recall, the pushed-down query video, identical captions, theme hits.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from results_helpers import make_results, with_change

from vidret.benchmarks import BENCHMARKS, PROTOCOLS, TaskRules, eval_yaml_tasks, get_protocol
from vidret.benchmarks.lovr.spec import LOVR_OFFICIAL_METRICS
from vidret.benchmarks.tf_covr.spec import TFCOVR_OFFICIAL_METRICS
from vidret.evaluation.running.score import expand_ranking, score_task
from vidret.benchmarks.lovr.planner import plan_lovr
from vidret.benchmarks.tf_covr.planner import plan_tfcovr
from vidret.benchmarks.tf_covr.textnorm import tfcovr_official
from vidret.evaluation.results.validation import check_results, summarize
from vidret.hub.leaderboard import build_table
from vidret.hub.submit import eval_result_entries, plan_submission

OFFICIAL_LOVR = get_protocol("lovr", "official")
OFFICIAL_TFCOVR = get_protocol("tf-covr", "official")


# ---------------------------------------------------------------- declarations


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
def test_every_protocol_declares_the_same_task_ids(benchmark):
    spec = BENCHMARKS[benchmark]
    assert list(spec.protocols) == list(PROTOCOLS)
    assert spec.protocol() is spec.protocols["vidret"] and spec.protocol("vidret").tasks == spec.tasks
    for protocol in spec.protocols.values():
        assert list(protocol.tasks) == list(spec.tasks)
        for task in protocol.tasks.values():
            assert task.main_score in task.metrics
    with pytest.raises(ValueError, match=r"unknown protocol 'paper' for .*choose one of \['vidret', 'official'\]"):
        spec.protocol("paper")


def test_official_declarations_state_the_official_rules():
    t2c = OFFICIAL_LOVR.tasks["t2c"]
    assert t2c.metrics == LOVR_OFFICIAL_METRICS == ("R@1", "R@5", "R@10") and t2c.cutoffs("R") == (1, 5, 10)
    assert t2c.rules.rows == "release" and t2c.rules.caption_queries == "clip_queries"
    assert not t2c.rules.identical_texts_relevant and OFFICIAL_LOVR.tasks["theme2c"].rules.themes == "per_clip"
    cvr = OFFICIAL_TFCOVR.tasks["cvr"]
    assert cvr.metrics == TFCOVR_OFFICIAL_METRICS and cvr.cutoffs("mAP") == cvr.cutoffs("R") == (5, 10, 25, 50)
    assert (cvr.rules.gallery, cvr.rules.own_video, cvr.rules.count_repeats, cvr.rules.decimals, cvr.rules.recall) == (
        "per_row", "push_down", True, 2, "designated",
    )
    assert cvr.kernel == "composed" and t2c.kernel == "retrieval"
    assert cvr.rules.text_normalization == "tf-covr-official" and not OFFICIAL_TFCOVR.bounded
    assert OFFICIAL_TFCOVR.hub_task_id("cvr") == "cvr_official" and get_protocol("tf-covr").hub_task_id("cvr") == "cvr"
    with pytest.raises(ValueError, match=r"TaskRules.own_video must be one of \('exclude', 'push_down'\), got 'drop'"):
        TaskRules(own_video="drop")


def test_eval_yaml_declares_both_protocols_under_distinct_ids():
    entries = eval_yaml_tasks(BENCHMARKS["lovr"], "test")
    ids = [e["id"] for e in entries]
    assert ids == ["t2v", "v2t", "t2c", "c2t", "theme2c", "c2theme"] + [
        f"{t}_official" for t in ("t2v", "v2t", "t2c", "c2t", "theme2c", "c2theme")
    ]
    official = {e["id"]: e for e in entries if e["protocol"] == "official"}
    assert official["t2v_official"]["metrics"] == ["R@1", "R@5", "R@10"]
    assert official["t2v_official"]["name"] == "text-to-video (official protocol)"


# ---------------------------------------------------------------- LoVR rules


def lovr_rows():
    videos = [
        {"video_id": "vidA", "video": "videos/vidA.mp4", "duration": 6.0, "caption": "a dog runs", "theme": "pets"},
        {"video_id": "vidB", "video": "videos/vidB.mp4", "duration": 4.0, "caption": "a dog runs", "theme": "pets"},
        {"video_id": "vidC", "video": "videos/vidC.mp4", "duration": 4.0, "caption": "soup", "theme": "food"},
    ]
    clips = [
        {"clip_id": "A1", "video_id": "vidA", "start": 0.0, "end": 6.0, "caption": "a dog", "theme": "pets", "video": "videos/vidA.mp4"},
        {"clip_id": "B1", "video_id": "vidB", "start": 0.0, "end": 4.0, "caption": "a dog", "theme": "pets", "video": "videos/vidB.mp4"},
        {"clip_id": "C1", "video_id": "vidC", "start": 0.0, "end": 2.0, "caption": "pot", "theme": "food", "video": "videos/vidC.mp4"},
        {"clip_id": "C2", "video_id": "vidC", "start": 2.0, "end": 4.0, "caption": "bowl", "theme": None, "video": "videos/vidC.mp4"},
    ]
    return videos, clips


def perfect_embeddings(plan):
    """Each video/clip embeds exactly like its caption: identical captions give identical vectors."""
    texts = {tid: np.eye(len(plan.texts), dtype=np.float32)[i] for i, tid in enumerate(plan.texts)}
    by_caption = {}
    for task in plan.tasks:
        if task.spec.query == "text" and task.spec.gallery != "theme":
            for qid, ref in zip(task.query_ids, task.queries):
                by_caption[qid] = texts[ref.text]
    return texts, by_caption


def test_identical_captions_are_one_item_each_under_the_official_protocol():
    # vidA and vidB share the caption "a dog runs". The text query of vidB ties with vidA's video
    # (same embedding); the tie goes to the lower gallery index, vidA.
    # vidret: relevant(vidB's caption) = {vidA, vidB}: vidA at rank 1 is a hit -> R@1 = 3/3 = 100.
    # official: relevant = {vidB} only: vidB at rank 2 -> R@1 = 2/3 = 66.67, R@5 = 100.
    videos, clips = lovr_rows()
    ours = plan_lovr(videos, clips, ["t2v"], "test")
    theirs = plan_lovr(videos, clips, ["t2v"], "test", protocol=OFFICIAL_LOVR)
    assert ours.tasks[0].relevant == [["vidA", "vidB"], ["vidA", "vidB"], ["vidC"]]
    assert theirs.tasks[0].relevant == [["vidA"], ["vidB"], ["vidC"]]
    texts, visuals = perfect_embeddings(ours)
    assert score_task(ours.tasks[0], texts, visuals, "avg")["metrics"]["R@1"] == 100.0
    official = score_task(theirs.tasks[0], texts, visuals, "avg")["metrics"]
    assert official == {"R@1": pytest.approx(200 / 3), "R@5": 100.0, "R@10": 100.0}


def test_official_clip_tasks_rank_the_caption_queries_against_every_clip():
    # The query list names A1 and C2 only: t2c has 2 queries against all 4 clips; c2t has the 2
    # listed clips against the 2 listed captions; each caption is relevant to its own clip only.
    videos, clips = lovr_rows()
    queries = [{"clip_id": "A1", "video_id": "vidA", "caption": "a dog"}, {"clip_id": "C2", "video_id": "vidC", "caption": "bowl"}]
    plan = plan_lovr(videos, clips, ["t2c", "c2t"], "all", protocol=OFFICIAL_LOVR, query_lists={"clip_queries": queries})
    t2c, c2t = plan.tasks
    assert plan.config == "videos+clips+clip_queries" and plan.split == "all"
    assert t2c.query_ids == ["A1", "C2"] and t2c.gallery_ids == ["A1", "B1", "C1", "C2"]
    assert t2c.relevant == [["A1"], ["C2"]]
    assert c2t.query_ids == c2t.gallery_ids == ["A1", "C2"] and c2t.relevant == [["A1"], ["C2"]]
    assert [q.kind for q in c2t.queries] == ["visual", "visual"]


@pytest.mark.parametrize(
    "queries, match",
    [
        (None, r"config 'clip_queries', which the dataset does not have; add caption_data/all_clip\.jsonl"),
        ([{"clip_id": "ghost", "caption": "x"}], r"clip_queries/all row 0: clip 'ghost' is not a clip of the dataset"),
        ([{"clip_id": "A1", "caption": "x"}, {"clip_id": "A1", "caption": "y"}], "duplicate id 'A1'"),
        ([{"clip_id": "A1"}], "missing column"),
        ([{"clip_id": "A1", "caption": " "}], "row 0 caption: empty"),
    ],
)
def test_official_clip_query_errors(queries, match):
    videos, clips = lovr_rows()
    query_lists = {} if queries is None else {"clip_queries": queries}
    with pytest.raises(ValueError, match=match):
        plan_lovr(videos, clips, ["t2c"], "all", protocol=OFFICIAL_LOVR, query_lists=query_lists)


def test_official_limit_keeps_the_queries_of_the_kept_videos():
    videos, clips = lovr_rows()
    queries = [{"clip_id": "A1", "caption": "a dog"}, {"clip_id": "C2", "caption": "bowl"}]
    plan = plan_lovr(videos, clips, ["t2c"], "all", limit=1, protocol=OFFICIAL_LOVR, query_lists={"clip_queries": queries})
    assert plan.tasks[0].query_ids == ["A1"] and plan.tasks[0].gallery_ids == ["A1"]


def test_official_theme_queries_belong_to_one_clip_each():
    # Themed clips: A1 (pets), B1 (pets), C1 (food); C2 has none and is left out.
    # theme2c: one query per themed clip, relevant = that clip. A perfect model embeds a clip
    # like its theme: the "pets" query of B1 ties with A1 (lower index) -> B1 at rank 2.
    # R@1 = (A1 hit + B1 miss + C1 hit) / 3 = 66.67; R@5 = 100. Ours: one query per distinct
    # theme, relevant = all its clips -> R@1 = 100.
    videos, clips = lovr_rows()
    clips_ok = [c for c in clips if c["theme"]]
    ours = plan_lovr(videos, clips_ok, ["theme2c"], "test")
    theirs = plan_lovr(videos, clips, ["theme2c", "c2theme"], "all", protocol=OFFICIAL_LOVR)
    t2c, c2t = theirs.tasks
    assert t2c.query_ids == ["theme:A1", "theme:B1", "theme:C1"] and t2c.relevant == [["A1"], ["B1"], ["C1"]]
    assert t2c.gallery_ids == ["A1", "B1", "C1", "C2"]
    assert c2t.query_ids == ["A1", "B1", "C1"] and c2t.gallery_ids == ["theme:A1", "theme:B1", "theme:C1"]
    assert c2t.relevant == [["theme:A1"], ["theme:B1"], ["theme:C1"]]
    assert ours.tasks[0].query_ids == ["theme:pets", "theme:food"]

    basis = {"pets": np.array([1, 0, 0], np.float32), "food": np.array([0, 1, 0], np.float32)}
    texts = {ref.text: basis[theirs.texts[ref.text]] for ref in t2c.queries}
    visuals = {"A1": basis["pets"], "B1": basis["pets"], "C1": basis["food"], "C2": np.array([0, 0, 1], np.float32)}
    for task in (t2c, c2t):  # c2theme: B1's own entry ties with A1's (lower index) -> rank 2 too
        assert score_task(task, texts, visuals, "avg")["metrics"] == {"R@1": pytest.approx(200 / 3), "R@5": 100.0, "R@10": 100.0}
    assert score_task(ours.tasks[0], texts, visuals, "avg")["metrics"]["R@1"] == 100.0


# ---------------------------------------------------------------- TF-CoVR rules


def tfcovr_rows():
    videos = [{"video_id": v, "video": f"v/{v}.mp4"} for v in ("q1", "t1", "t2", "q2", "t3")]
    triplets = [
        {"query_id": "0", "query_video": "q1", "modification": "Do 1.5 twists!", "target_video": "t1", "target_videos": ["t1", "t2", "q2"]},
        {"query_id": "1", "query_video": "q2", "modification": "do x", "target_video": "t3", "target_videos": ["t3"]},
        {"query_id": "2", "query_video": "t1", "modification": "do y again", "target_video": "t1", "target_videos": ["t1"]},
    ]
    return triplets, videos


def test_official_tfcovr_task_keeps_one_gallery_entry_per_row():
    triplets, videos = tfcovr_rows()
    (task,) = plan_tfcovr(triplets, videos, "test", protocol=OFFICIAL_TFCOVR).tasks
    assert task.gallery_ids == ["t1", "t3"] and task.gallery_copies == [2, 1]  # t1 is named by rows 0 and 2
    assert task.push_down == [["q1"], ["q2"], ["t1"]] and task.exclude is None
    assert task.designated == ["t1", "t3", "t1"]
    plan = plan_tfcovr(triplets, videos, "test", protocol=OFFICIAL_TFCOVR)
    assert plan.texts[task.queries[0].text] == "do one and a half twists" == tfcovr_official("Do 1.5 twists!")
    (ours,) = plan_tfcovr(triplets, videos, "test").tasks
    assert ours.gallery_copies is None and ours.push_down is None and ours.exclude == [["q1"], ["q2"], ["t1"]]


def test_expand_ranking():
    # copies t1 x2, t3 x1; q pushed: it follows only a complete ranking.
    assert expand_ranking(["t3", "t1"], {"t1": 2, "t3": 1}, ["q"], True, 50) == ["t3", "t1", "t1", "q"]
    assert expand_ranking(["t3", "t1"], {"t1": 2, "t3": 1}, ["q"], False, 50) == ["t3", "t1", "t1"]
    assert expand_ranking(["t1", "t3"], {"t1": 2}, [], True, 2) == ["t1", "t1"]
    assert expand_ranking(["a", "b"], None, [], True, 5) == ["a", "b"]


def test_pushed_down_query_video_duplicates_and_designated_recall():
    # Rows: q1 -> t1 (targets t1, t2, q2), q2 -> t3 (targets t3), t1 -> t1 (targets t1).
    # Every query embeds as its text [1, 0, 0] ("text" fusion): t3 scores 1, t1 scores 0.
    # vidret gallery t1, t3 (each once); the query video is removed:
    #   q0: t3, t1      -> t1 at 2: AP@5 = (1/2) / min(3, 5) = 1/6; a valid target in the top 5
    #   q1: t3, t1      -> t3 at 1: AP@5 = 1 / 1 = 1
    #   q2: t3 (t1 gone) -> nothing: AP@5 = 0, no target in the top 5
    #   mAP@5 = (1/6 + 1 + 0) / 3 = 38.89; R@5 = 2/3 = 66.67
    # official gallery t1, t3, t1 (one entry per row); the query video is pushed to the bottom:
    #   q0: t3, t1, t1  -> hits at 2, 3: (1/2 + 2/3) / min(3, 5) = 0.3889; designated t1: 2 copies
    #   q1: t3, t1, t1  -> hit at 1: 1 / 1 = 1; designated t3: 1
    #   q2: t3, t1, t1  -> t1 pushed down, still ranked: (1/2 + 2/3) / min(1, 5) = 1.1667 (> 1); t1: 2
    #   mAP@5 = round((0.3889 + 1 + 1.1667) / 3 * 100, 2) = 85.19; R@5 = (2 + 1 + 2) / 3 -> 166.67
    triplets, videos = tfcovr_rows()
    visuals = {v: np.asarray(e, np.float32) for v, e in
               {"q1": [0, 0, 1], "t1": [0, 1, 0], "t2": [0, 0, 1], "q2": [0, 0, 1], "t3": [1, 0, 0]}.items()}
    for protocol, expected, size in ((None, (38.89, 66.67), 2), (OFFICIAL_TFCOVR, (85.19, 166.67), 3)):
        plan = plan_tfcovr(triplets, videos, "test", protocol=protocol)
        texts = {tid: np.asarray([1, 0, 0], np.float32) for tid in plan.texts}
        result = score_task(plan.tasks[0], texts, visuals, "text")
        assert (round(result["metrics"]["mAP@5"], 2), round(result["metrics"]["R@5"], 2)) == expected, protocol
        assert result["gallery_size"] == size  # official: every row's entry counts


def test_official_tfcovr_relevance_is_the_list_as_written_and_ours_each_id_once(caplog):
    triplets, videos = tfcovr_rows()
    triplets[0]["target_videos_as_written"] = ["t2", "t1", "t2", "q2"]  # t2 twice, as a release may write it
    triplets[1]["target_videos_as_written"] = ["t3"]
    triplets[2]["target_videos_as_written"] = ["t1", "t1"]
    (official,) = plan_tfcovr(triplets, videos, "test", protocol=OFFICIAL_TFCOVR).tasks
    (ours,) = plan_tfcovr(triplets, videos, "test").tasks
    assert official.relevant == [["t2", "t1", "t2", "q2"], ["t3"], ["t1", "t1"]]
    assert ours.relevant == [["t1", "t2", "q2"], ["t3"], ["t1"]]
    # A build made before the column: official falls back to the de-duplicated lists, and says so once.
    for t in triplets:
        del t["target_videos_as_written"]
    with caplog.at_level("WARNING"):
        (old,) = plan_tfcovr(triplets, videos, "test", protocol=OFFICIAL_TFCOVR).tasks
    assert old.relevant == ours.relevant
    said = [r.getMessage() for r in caplog.records if "target_videos_as_written" in r.getMessage()]
    assert len(said) == 1 and "rebuild with `vidret build tf-covr` to honour repeats" in said[0]


@pytest.fixture(scope="module")
def repeated_targets_release(tmp_path_factory):
    """A TF-CoVR release of 1,500 test rows (50 labels x 1 video x 30 target labels: the sample's frame
    blocks allow 167 videos in all), 150 of whose target_videos_ids name their target twice; built
    annotations-only."""
    from vidret.benchmarks.tf_covr.sample import make_release
    from vidret.builders import build

    root = tmp_path_factory.mktemp("tfcovr-repeats")
    labels = [f"el{i:03d}" for i in range(50)]
    raw = make_release(root / "raw", labels=labels, videos_per_label=1, targets_per_query=30, videos=False, repeated_targets=150)
    build("tf-covr", raw, root / "repo", progress=False)
    return raw, root / "repo"


def official_tfcovr_map(rows, targets, queries, entries, ks=(5, 10, 25, 50)):
    """A transcription of the official TF-CoVR evaluation (src/test/*/circo.py, compute_metrics): one
    gallery entry per row (its target_video), the query's own video at score - 100, the top 50 by
    descending score, AP@K = sum of the first K precisions / min(len(gt as listed), K), then
    round(mean * 100, 2)."""
    tar_ids = np.array([r["target_video"] for r in rows])
    gallery = np.stack([entries[t] for t in tar_ids])
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    aps = {k: [] for k in ks}
    for row, gt, query in zip(rows, targets, queries):
        sims = gallery @ (query / np.linalg.norm(query)) - 100.0 * (tar_ids == row["query_video"])
        predictions = tar_ids[np.argsort(sims)[::-1]][:50]
        labels = np.isin(predictions, np.array(gt))
        precisions = np.cumsum(labels, axis=0) * labels / np.arange(1, labels.shape[0] + 1)
        for k in ks:
            aps[k].append(float(np.sum(precisions[:k]) / min(len(gt), k)))
    return {f"mAP@{k}": round(float(np.mean(v)) * 100, 2) for k, v in aps.items()}


def test_official_tfcovr_map_counts_repeated_target_ids_as_written(repeated_targets_release):
    import ast
    import csv

    from vidret.evaluation.planning.dataset import load_plan

    raw, repo = repeated_targets_release
    with open(raw / "test_finegd.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    written = [ast.literal_eval(r["target_videos_ids"]) for r in rows]
    assert len(rows) == 1500 and sum(len(w) != len(set(w)) for w in written) == 150
    plan, _ = load_plan("tf-covr", str(repo), protocol="official")
    (task,) = plan.tasks
    assert task.relevant == written and [q.visual for q in task.queries] == [r["query_video"] for r in rows]
    (ours,) = load_plan("tf-covr", str(repo))[0].tasks
    assert ours.relevant == [sorted(set(w)) for w in written]
    # Embeddings without near-ties: each video a one-hot axis; each modification text a permutation of
    # 1..V with its target label's videos drawn towards the top, so queries find their targets often
    # but not always.
    rng = np.random.default_rng(0)
    video_ids = sorted(plan.visuals)
    axis = {v: i for i, v in enumerate(video_ids)}
    visuals = {v: np.eye(len(video_ids), dtype=np.float32)[axis[v]] for v in video_ids}
    texts = {}
    for tid, gt in zip([q.text for q in task.queries], written):
        if tid not in texts:
            values = rng.permutation(len(video_ids)).astype(np.float32) + 1
            for v in set(gt):
                top = values.argsort()[-int(rng.integers(1, 12))]  # trade places with a high one
                values[[axis[v], top]] = values[[top, axis[v]]]
            texts[tid] = values
    result = score_task(task, texts, visuals, "avg")
    composed = [visuals[q.visual] / 1 + texts[q.text] / np.linalg.norm(texts[q.text]) for q in task.queries]
    as_written = official_tfcovr_map(rows, written, composed, visuals)
    merged = official_tfcovr_map(rows, [sorted(set(w)) for w in written], composed, visuals)
    assert {k: result["metrics"][k] for k in as_written} == as_written
    # The repeats matter: each id once would score higher wherever |G| < K.
    assert all(merged[k] > as_written[k] for k in ("mAP@5", "mAP@10", "mAP@25", "mAP@50")), (merged, as_written)



# ---------------------------------------------------------------- results, validate, submit, leaderboard


def test_official_results_validate_with_scores_above_100():
    official = make_results("tf-covr", protocol="official", base=20.0)
    official["tasks"]["cvr"]["metrics"]["mAP@50"] = 230.5  # repeated hits: allowed, reported as computed
    assert check_results(official) == []
    ours = make_results("tf-covr")
    problems = check_results(with_change(ours, "tasks.cvr.metrics.mAP@50", 230.5))
    assert "tasks.cvr.metrics.mAP@50: 230.5 is outside [0, 100] (mAP@50 is a percentage)" in [str(p) for p in problems]
    # Each protocol's own metric list is required: official TF-CoVR has R@25, ours R@1.
    assert any("R@1: missing" in str(p) for p in check_results(with_change(official, "settings.protocol", "vidret")))
    bad = check_results(with_change(official, "settings.protocol", "paper"))
    assert any(p.path == "settings.protocol" for p in bad)
    assert "[official protocol]" in summarize(official) and "[vidret protocol]" in summarize(ours)


def test_submit_keeps_official_scores_apart():
    official = make_results("lovr", protocol="official")
    entries = eval_result_entries(official)
    assert [e.task_id for e in entries] == ["t2v_official", "v2t_official", "t2c_official", "c2t_official"]
    (upload,) = plan_submission(official, "acme/vclip")
    assert upload.path_in_repo == ".eval_results/lovr_official.yaml"
    assert "official protocol" in upload.commit_message and "protocol=official" in upload.commit_description
    submitted = {e["dataset"]["task_id"] for e in yaml.safe_load(upload.content)}
    declared = {e["id"] for e in eval_yaml_tasks(BENCHMARKS["lovr"], "test")}
    assert submitted <= declared  # the Hub matches them to the dataset's eval.yaml
    (ours,) = plan_submission(make_results("lovr"), "acme/vclip")
    assert ours.path_in_repo == ".eval_results/lovr.yaml"
    release = with_change(official, "split", "all")  # the split a release-wide run records
    assert plan_submission(release, "acme/vclip")[0].path_in_repo == ".eval_results/lovr_official.yaml"


def test_leaderboard_never_ranks_protocols_together():
    ours = make_results("tf-covr", model_id="acme/a", base=10)
    official = make_results("tf-covr", model_id="acme/b", base=60, protocol="official")
    mine = build_table([ours, official], "tf-covr")
    theirs = build_table([ours, official], "tf-covr", "official")
    assert [r["model"] for r in mine.rows] == ["acme/a"] and [r["model"] for r in theirs.rows] == ["acme/b"]
    assert theirs.page == "tf-covr_official" and theirs.title.endswith("(official protocol)")
    assert "R@25" in theirs.tasks["cvr"] and "R@1" not in theirs.tasks["cvr"] and "R@1" in mine.tasks["cvr"]


def test_leaderboard_site_has_a_page_per_protocol(tmp_path):
    from results_helpers import write_results

    from vidret.hub.leaderboard import build_site

    write_results(tmp_path / "r" / "a.json", make_results("lovr", model_id="acme/a"))
    write_results(tmp_path / "r" / "b.json", make_results("lovr", model_id="acme/b", protocol="official"))
    names = {p.name for p in build_site(tmp_path / "r", tmp_path / "site")}
    assert {"lovr.html", "lovr_official.html", "lovr_official_t2v_recall.png", "lovr_t2v_recall.png"} <= names
    page = (tmp_path / "site" / "lovr_official.html").read_text()
    assert "acme/b" in page and "acme/a" not in page and "LoVR (official)" in page

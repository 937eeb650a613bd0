"""BLIP-2, Qwen2-VL and Qwen3-VL embedders (tiny random weights) through the full runner on both
sample benchmarks, and native composed queries as embedding units of their own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from runner_helpers import build_sample_repos, run
from vidret.testing.tiny import build_tiny_blip2, build_tiny_mllm_embedder
from vidret.benchmarks import get_benchmark
from vidret.evaluation.results.validation import validate_file

# Tiny frames (at most 56 x 56 pixels) keep the MLLM runs fast; the presets' prompts are unchanged.
SMALL = 56


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("mllm_runs")


@pytest.fixture(scope="module")
def repos(root):
    return build_sample_repos(root)


@pytest.fixture(scope="module")
def models(root):
    return {
        "blip2": build_tiny_blip2(root / "blip2"),
        "gme": build_tiny_mllm_embedder(root / "gme", preset="gme"),  # Qwen2-VL
        "qwen3-vl-embedding": build_tiny_mllm_embedder(root / "qwen3", preset="qwen3-vl-embedding"),  # Qwen3-VL
    }


@pytest.mark.parametrize("kind", ["blip2", "gme", "qwen3-vl-embedding"])
@pytest.mark.parametrize("benchmark", ["lovr", "tf-covr"])
def test_full_run_on_both_samples(repos, models, tmp_path, kind, benchmark):
    out = tmp_path / "results.json"
    record = run(benchmark, repos[benchmark], models[kind], frames=2, batch_size=4, output=str(out),
                 resolution=SMALL if kind != "blip2" else None)
    validate_file(out)
    assert list(record["tasks"]) == get_benchmark(benchmark).default_tasks()
    assert record["model"]["adapter"] == kind and record["model"]["random_weights"] is True
    assert record["num_failed"] == 0
    if benchmark == "tf-covr":
        native = kind != "blip2"
        assert record["settings"]["fusion"] == ("native" if native else "avg")
        assert ("composed_s" in record["timings"]) is native
        assert record["tasks"]["cvr"]["num_failed"] == 0
    if kind != "blip2":
        assert record["settings"]["adapter"]["prompts"]["composed"].count("{text}") == 1
        assert record["settings"]["pooling"] in ("last", "eos")


def test_cli_evaluate_with_the_folder_alone_uses_its_preset_and_caches_composed_units(repos, models, tmp_path, capsys):
    from vidret.cli.main import main

    cache = tmp_path / "cache"
    args = ["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", str(models["gme"]),
            "--frames", "2", "--resolution", str(SMALL), "--num-workers", "0", "--cache-dir", str(cache)]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main([*args, "--output", str(first)]) == 0
    assert main([*args, "--output", str(second)]) == 0
    capsys.readouterr()
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["model"]["adapter"] == "gme" and a["settings"]["fusion"] == "native"
    assert a["tasks"]["cvr"]["metrics"] == b["tasks"]["cvr"]["metrics"]
    # Second run: texts, videos and the composed (video + text) units all come from the cache.
    assert b["cache"]["misses"] == 0 and b["cache"]["hits"] == a["cache"]["misses"]
    n_queries = a["tasks"]["cvr"]["num_queries"]
    assert a["cache"]["misses"] >= n_queries  # the composed units are cached too
    # Late fusion stays available for the same model.
    late = tmp_path / "late.json"
    assert main([*args, "--fusion", "avg", "--output", str(late)]) == 0
    capsys.readouterr()
    late_record = json.loads(late.read_text())
    assert late_record["settings"]["fusion"] == "avg" and "composed_s" not in late_record["timings"]
    assert late_record["tasks"]["cvr"]["metrics"] != a["tasks"]["cvr"]["metrics"]


def test_native_fusion_on_a_late_fusion_model_is_a_clear_error(repos, models, tmp_path):
    from vidret.cli.main import main

    with pytest.raises(SystemExit, match="--fusion native"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", str(models["blip2"]),
              "--fusion", "native", "--no-cache", "--num-workers", "0", "--output", str(tmp_path / "r.json")])


def test_native_scores_use_the_composed_units(repos, models, monkeypatch):
    """The composed query embedding the scorer ranks with is the model's joint embedding of the pair."""
    from vidret.evaluation.running import runner, score

    seen = {}
    original = score.score_task

    def spy(task, texts, visuals, fusion, composed=None):  # noqa: ANN001
        seen.update(fusion=fusion, composed=composed, visuals=visuals)
        return original(task, texts, visuals, fusion, composed=composed)

    monkeypatch.setattr(runner, "score_task", spy)
    record = run("tf-covr", repos["tf-covr"], models["gme"], frames=2, batch_size=4, limit=6, resolution=SMALL)
    assert seen["fusion"] == "native" and len(seen["composed"]) == record["tasks"]["cvr"]["num_queries"] == 6
    # (a query video that is also a target has an embedding of its own to compare with)
    (visual, _), row = next((pair, row) for pair, row in seen["composed"].items() if pair[0] in seen["visuals"])
    assert np.isclose(np.linalg.norm(row), 1.0) and not np.allclose(row, seen["visuals"][visual], atol=1e-3)


def test_a_query_video_that_fails_to_decode_misses_under_native_fusion(repos, models, tmp_path):
    import datasets

    from runner_helpers import copy_repo
    from vidret.testing.synthetic import make_corrupt_video

    repo = copy_repo(repos["tf-covr"], tmp_path / "broken")
    triplets = datasets.load_dataset(str(repo), "triplets", split="test")
    videos = {v["video_id"]: v["video"] for v in datasets.load_dataset(str(repo), "videos", split="test")}
    victim = triplets[0]
    make_corrupt_video(repo / videos[victim["query_video"]])
    record = run("tf-covr", repo, models["gme"], frames=2, batch_size=4, limit=3, resolution=SMALL)
    cvr = record["tasks"]["cvr"]
    assert str(victim["query_id"]) in [str(q) for q in cvr["failed_queries"]]
    assert any(f["item_id"] == victim["query_video"] and f["reason"] for f in record["failures"])


def test_native_composed_embeddings_export_and_score_without_the_model(repos, models, tmp_path):
    """A native run's composed units are exported with its texts and videos; scoring the export alone
    (no model, no decoding) reproduces the run."""
    from vidret.evaluation.embeddings.export import export_embeddings
    from vidret.evaluation.running.runner import EvalSettings, evaluate

    out = tmp_path / "run.json"
    record = run("tf-covr", repos["tf-covr"], models["gme"], frames=2, batch_size=4, resolution=SMALL,
                 cache_dir=str(tmp_path / "cache"), output=str(out))
    report = export_embeddings(out, tmp_path / "export")
    assert report.num_rows["composed"] == record["tasks"]["cvr"]["num_queries"]  # one per distinct (video, text)
    again = evaluate(EvalSettings(benchmark="tf-covr", data=str(repos["tf-covr"]), model=None,
                                  embeddings=str(tmp_path / "export"), num_workers=0))
    assert again["settings"]["fusion"] == "native" and again["embeddings"]["composed"]["source"] == "export"
    assert again["tasks"]["cvr"]["metrics"] == record["tasks"]["cvr"]["metrics"]


def test_native_fusion_decodes_and_embeds_a_query_video_once(repos, models, tmp_path, monkeypatch):
    """Under `native` a query video is embedded with its text (a composed unit), not also on its own:
    only gallery videos go through `encode_video`, and a query video that fails is one failure."""
    import datasets

    from runner_helpers import copy_repo
    from vidret.adapters.mllm import MllmEmbedderAdapter
    from vidret.testing.synthetic import make_corrupt_video

    repo = copy_repo(repos["tf-covr"], tmp_path / "repo")
    triplets = datasets.load_dataset(str(repo), "triplets", split="test").to_list()[:4]
    targets = {t["target_video"] for t in triplets}
    only_queries = [t["query_video"] for t in triplets if t["query_video"] not in targets]
    assert only_queries  # the sample has query videos that are not targets
    videos = {v["video_id"]: v["video"] for v in datasets.load_dataset(str(repo), "videos", split="test")}
    make_corrupt_video(repo / videos[only_queries[0]])
    plain = []
    original = MllmEmbedderAdapter.encode_video
    monkeypatch.setattr(MllmEmbedderAdapter, "encode_video", lambda self, clips: plain.append(len(clips)) or original(self, clips))
    record = run("tf-covr", repo, models["gme"], frames=2, batch_size=64, limit=4, resolution=SMALL)
    assert sum(plain) == len(targets)
    assert [f["item_id"] for f in record["failures"]] == [only_queries[0]] and record["num_failed"] == 1

"""Tiny random-weight CLIP, SigLIP and X-CLIP through the full runner on both sample benchmarks."""

from __future__ import annotations

import json

import pytest

from runner_helpers import TINY_BUILDERS, build_sample_repos, build_tiny_model, run
from vidret.benchmarks import get_benchmark
from vidret.evaluation.results.validation import validate_file


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def repos(root):
    return build_sample_repos(root)


@pytest.mark.parametrize("kind", TINY_BUILDERS)
@pytest.mark.parametrize("benchmark", ["lovr", "tf-covr"])
def test_tiny_model_full_run(repos, root, tmp_path, kind, benchmark):
    model = build_tiny_model(kind, root)
    out = tmp_path / "results.json"
    record = run(benchmark, repos[benchmark], model, frames=None if kind == "xclip" else 2, batch_size=4, output=str(out))
    validate_file(out)  # schema + consistency (every default task, metric ranges)
    spec = get_benchmark(benchmark)
    assert list(record["tasks"]) == spec.default_tasks()
    for task_id, task in record["tasks"].items():
        assert list(task["metrics"]) == list(spec.tasks[task_id].metrics)
    assert record["model"]["random_weights"] is True
    assert record["model"]["adapter_class"] in ("FramePoolingAdapter", "NativeVideoAdapter")
    assert record["settings"]["frames"] >= 1 and record["num_failed"] == 0
    assert record["versions"]["torch"] and record["hardware"]["cpu_count"] >= 1
    # Reproducible: the local model folder's fingerprint and the model's own preprocessing.
    assert record["model"]["fingerprint"] and record["model"]["commit"] is None
    assert record["settings"]["adapter"]["preprocessing"]["size"]
    assert record["dataset"]["revision"] == "v1.0.0"  # the tag `vidret publish` gives the build
    if benchmark == "tf-covr":
        assert record["settings"]["fusion"] == "avg"


def _vision_image_size(model_dir):
    import json

    return json.loads((model_dir / "config.json").read_text())["vision_config"]["image_size"]


def test_clip_records_its_real_input_resolution_and_decode_size(repos, root):
    """CLIP crops frames itself: decoded at the native size, fed at the checkpoint's image size."""
    model = build_tiny_model("clip", root)
    record = run("tf-covr", repos["tf-covr"], model, frames=2, batch_size=4, limit=3)
    size = _vision_image_size(model)
    assert record["settings"]["resolution"] == [size, size] == record["settings"]["adapter"]["resolution"]
    assert record["settings"]["decode_size"] is None


def test_cli_overrides_reach_the_adapter_results_and_cache_key(repos, root, tmp_path, capsys):
    from vidret.cli.main import main

    model = build_tiny_model("clip", root)
    cache = tmp_path / "cache"
    common = ["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", str(model),
              "--frames", "2", "--limit", "3", "--num-workers", "0", "--cache-dir", str(cache)]
    records = {}
    for name, extra in {
        "default": [],
        "resolution": ["--resolution", "48"],
        "pooling": ["--pooling", "max"],
        "text": ["--text-max-length", "8"],
        "dtype": ["--dtype", "bf16"],
    }.items():
        out = tmp_path / f"{name}.json"
        assert main([*common, *extra, "--output", str(out)]) == 0
        validate_file(out)
        records[name] = json.loads(out.read_text())
    capsys.readouterr()
    settings = {name: r["settings"] for name, r in records.items()}
    size = _vision_image_size(model)
    assert settings["default"]["resolution"] == [size, size] and settings["resolution"]["resolution"] == [48, 48]
    assert settings["resolution"]["adapter"]["interpolate_pos_encoding"] is True
    assert (settings["default"]["pooling"], settings["pooling"]["pooling"]) == ("mean", "max")
    assert settings["default"]["text_max_length"] > 8 == settings["text"]["text_max_length"]
    assert (settings["default"]["dtype"], settings["dtype"]["dtype"]) == ("float32", "bfloat16")
    # Every override changes embeddings, so each run embeds into a namespace of its own.
    namespaces = {r["cache"]["namespace"] for r in records.values()}
    assert len(namespaces) == len(records)
    assert all(r["cache"]["hits"] == 0 for r in records.values())
    # The shorter text limit cuts texts, at least as many as the preset's.
    cut = {name: r["tasks"]["cvr"]["num_truncated_texts"] for name, r in records.items()}
    assert cut["text"] > 0 and cut["text"] >= cut["default"]


def test_override_the_model_cannot_take_is_a_clear_cli_error(repos, root, tmp_path):
    from vidret.cli.main import main

    model = build_tiny_model("xclip", root)
    with pytest.raises(SystemExit, match=r"Drop --pooling \(pooling=\)"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", str(model),
              "--pooling", "max", "--no-cache", "--output", str(tmp_path / "r.json")])
    with pytest.raises(SystemExit, match="use --text-max-length"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", str(model),
              "--text-max-length", "4096", "--no-cache", "--output", str(tmp_path / "r.json")])

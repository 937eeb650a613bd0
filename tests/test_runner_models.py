"""Tiny random-weight CLIP, SigLIP and X-CLIP through the full runner on both sample benchmarks."""

from __future__ import annotations

import pytest

from runner_helpers import TINY_BUILDERS, build_sample_repos, build_tiny_model, run
from vidret.benchmarks import get_benchmark
from vidret.evaluation.validation import validate_file


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

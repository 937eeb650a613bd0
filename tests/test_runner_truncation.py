"""Per-task counts of texts cut to the model's maximum length, also when served from the cache."""

from __future__ import annotations

import pytest

from runner_helpers import build_sample_repos, build_tiny_model, run
from vidret.evaluation.cache import text_item_id
from vidret.evaluation.dataset import load_plan


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("truncation")


def _expected_counts(repo, model_dir, max_length):
    """Independent count: tokenise every text of each task without truncation."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    plan, _ = load_plan("lovr", str(repo))
    counts = {}
    for task in plan.tasks:
        text_ids = {ref.text for ref in task.queries + task.gallery if ref.text is not None}
        counts[task.task_id] = sum(len(tokenizer(plan.texts[t])["input_ids"]) > max_length for t in text_ids)
    return counts


def test_truncated_texts_are_counted_per_task_and_from_the_cache(root):
    repos = build_sample_repos(root)
    model = build_tiny_model("clip", root)
    cache = str(root / "cache")
    first = run("lovr", repos["lovr"], model, frames=2, batch_size=4, cache_dir=cache)
    max_length = first["settings"]["text_max_length"]
    expected = _expected_counts(repos["lovr"], model, max_length)
    got = {task_id: task["num_truncated_texts"] for task_id, task in first["tasks"].items()}
    assert got == expected
    # The sample's captions straddle the tiny CLIP's limit: some tasks cut texts, and no task
    # reports more texts than it has (the count used to be run-global).
    assert sum(got.values()) > 0
    assert got["t2v"] <= first["tasks"]["t2v"]["num_queries"]
    # A re-run embeds nothing (every text comes from the cache) and still counts them.
    second = run("lovr", repos["lovr"], model, frames=2, batch_size=4, cache_dir=cache)
    assert second["cache"]["misses"] == 0
    assert {t: task["num_truncated_texts"] for t, task in second["tasks"].items()} == expected


def test_untruncated_texts_count_zero(root):
    repos = build_sample_repos(root)
    record = run("lovr", repos["lovr"], "oracle", tasks="t2v")
    assert record["tasks"]["t2v"]["num_truncated_texts"] == 0
    assert text_item_id("a") != text_item_id("b")


class _CountingAdapter:
    """Counts texts longer than 5 characters as truncated, like a model with a 5-token limit."""

    def __init__(self):
        self.num_truncated_texts = 0
        self.calls = 0

    def encode_text(self, texts):
        self.calls += 1
        self.num_truncated_texts += sum(len(t) > 5 for t in texts)


@pytest.mark.parametrize(
    "texts, expected",
    [(["a", "bb"], [False, False]), (["longer", "longest"], [True, True]), (["a", "longer", "b"], [False, True, False])],
)
def test_truncation_flags_from_the_running_count(texts, expected):
    from vidret.evaluation.embedding import truncation_flags

    adapter = _CountingAdapter()
    adapter.encode_text(texts)
    counted = adapter.num_truncated_texts
    assert truncation_flags(adapter, texts, counted) == expected
    # Only a mixed batch is recounted text by text, and the running count is left as it was.
    assert adapter.calls == 1 + (len(texts) if 0 < counted < len(texts) else 0)
    assert adapter.num_truncated_texts == counted

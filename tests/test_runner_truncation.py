"""Per-task counts of texts cut to the model's maximum length, also when served from the cache."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from runner_helpers import build_sample_repos, build_tiny_model, run
from vidret.evaluation.embeddings.cache import text_item_id
from vidret.adapters.base import EmbeddingAdapter
from vidret.evaluation.planning.dataset import load_plan
from vidret.evaluation.running.distributed import ProcessInfo
from vidret.evaluation.embeddings.model import ModelSource, NoCache, Progress, truncation_flags
from vidret.evaluation.embeddings.sources import text_units


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


class _CharLimitAdapter(EmbeddingAdapter):
    """Treats texts longer than 5 characters as truncated (like a 5-token limit); counts calls."""

    def __init__(self, dim=4):
        super().__init__(num_frames=1, text_max_length=5)
        self.dim = dim
        self.truncated_calls = []
        self.encoded = []

    def encode_text(self, texts):
        self.encoded.append(list(texts))
        self.num_truncated_texts += sum(len(t) > 5 for t in texts)
        return self.finalize(torch.ones(len(texts), self.dim))

    def encode_video(self, clips):
        return self.finalize(torch.ones(len(clips), self.dim))

    def truncated(self, texts):
        self.truncated_calls.append(list(texts))
        return [len(t) > 5 for t in texts]


def _plan(texts):
    return SimpleNamespace(texts={f"t{i}": text for i, text in enumerate(texts)})


def test_runner_asks_truncated_once_per_batch_and_never_text_by_text():
    texts = ["a", "longer", "b", "longest", "c"]
    adapter = _CharLimitAdapter()
    progress = Progress(stop_after=None)
    source = ModelSource(adapter, NoCache(), batch_size=2)
    source.embeddings(text_units(_plan(texts)), ProcessInfo(rank=0, world_size=1, device="cpu"), progress)
    assert progress.truncated == {"t1", "t3"}
    # One query per batch of 2 (mixed batches included) and one encode per batch: no recount.
    assert adapter.truncated_calls == [["a", "longer"], ["b", "longest"], ["c"]]
    assert adapter.encoded == adapter.truncated_calls
    assert adapter.num_truncated_texts == 2


def test_base_adapter_truncates_nothing_and_a_wrong_answer_is_named():
    class Plain(_CharLimitAdapter):
        truncated = EmbeddingAdapter.truncated

    assert Plain().truncated(["a", "longer"]) == [False, False]
    assert truncation_flags(Plain(), ["longer"]) == [False]

    class Short(_CharLimitAdapter):
        def truncated(self, texts):
            return [True]

    with pytest.raises(ValueError, match="Short.truncated returned 1 flags for 2 texts"):
        truncation_flags(Short(), ["a", "b"])

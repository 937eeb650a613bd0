"""Sharding and gathering: nothing lost or repeated at uneven shard ends, and two real processes
(gloo on CPU, started by `accelerate launch` and by `torchrun`) give one process's metrics."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner_helpers import build_sample_repos, build_tiny_model, metrics_of, run
from vidret.evaluation.running.distributed import ProcessInfo, gather_embeddings, shard

ONE = ProcessInfo(rank=0, world_size=1, device="cpu")


@given(st.integers(0, 60), st.integers(1, 8))
def test_shards_cover_items_once_and_differ_by_at_most_one(n, world):
    items = list(range(n))
    shards = [shard(items, r, world) for r in range(world)]
    assert [x for s in shards for x in s] == items  # contiguous, in order, nothing lost or repeated
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("rank, world", [(2, 2), (-1, 2), (0, 0)])
def test_shard_rejects_bad_rank(rank, world):
    with pytest.raises(ValueError, match="not within a world"):
        shard([1, 2, 3], rank, world)


def test_gather_single_process_merges_by_id():
    emb = np.eye(3, dtype=np.float32)
    merged, extras = gather_embeddings(["a", "b", "a"], emb, ONE, extra=["f"])
    assert set(merged) == {"a", "b"}
    np.testing.assert_array_equal(merged["a"], emb[0])  # the first row seen for an id wins
    assert extras == [["f"]]
    assert gather_embeddings([], None, ONE)[0] == {}
    with pytest.raises(ValueError, match="2 ids but 3 embedding rows"):
        gather_embeddings(["a", "b"], emb, ONE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(launcher: list[str], args: list[str], cwd) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, "-m", *launcher, "-m", "vidret", "evaluate", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("dist")


def test_accelerate_launch_two_processes_match_one(root, tmp_path):
    repos = build_sample_repos(root)
    one = run("lovr", repos["lovr"], "oracle-shuffled", batch_size=3)
    out = tmp_path / "two.json"
    launcher = ["accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port())]
    _launch(launcher, ["--benchmark", "lovr", "--data", str(repos["lovr"]), "--model", "oracle-shuffled",
                       "--batch-size", "3", "--num-workers", "1", "--no-cache", "--output", str(out)], tmp_path)
    two = json.loads(out.read_text())
    assert two["num_processes"] == 2  # the real world size, not one process per rank
    assert metrics_of(two) == metrics_of(one)
    assert [t["num_queries"] for t in two["tasks"].values()] == [t["num_queries"] for t in one["tasks"].values()]


def test_torchrun_two_processes_match_one_with_uneven_shards(root, tmp_path):
    repos = build_sample_repos(root)
    model = build_tiny_model("clip", root)
    # 7 triplets: an odd number of texts and videos, so the two shards differ in size.
    one = run("tf-covr", repos["tf-covr"], model, frames=2, batch_size=2, limit=7)
    out = tmp_path / "two.json"
    cache = tmp_path / "cache"
    launcher = ["torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port())]
    _launch(launcher, ["--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", str(model),
                       "--frames", "2", "--batch-size", "2", "--limit", "7", "--num-workers", "0",
                       "--cache-dir", str(cache), "--output", str(out)], tmp_path)
    two = json.loads(out.read_text())
    assert two["num_processes"] == 2
    assert metrics_of(two) == metrics_of(one)
    assert two["tasks"]["cvr"]["gallery_size"] == one["tasks"]["cvr"]["gallery_size"]
    # Truncation flags travel with each rank's embeddings (the tiny CLIP keeps 32 byte tokens).
    assert two["tasks"]["cvr"]["num_truncated_texts"] == one["tasks"]["cvr"]["num_truncated_texts"] > 0
    # Both ranks wrote their own cache parts, and nothing was embedded twice.
    parts = list(cache.glob("*/parts/*.npz"))
    writers = {p.name.split("-")[0] for p in parts}
    assert len(writers) == 2
    ids = [i for p in parts for i in np.load(p)["ids"]]
    assert len(ids) == len(set(ids)) == two["cache"]["misses"]


def test_evaluate_leaves_the_process_group_before_exit(monkeypatch):
    # A gloo group left to the interpreter's teardown aborted about one 2-process run in five
    # ("terminate called without an active exception", exit -6 on a rank that had finished).
    import torch.distributed as dist

    import vidret.evaluation.running.runner as runner
    from vidret.cli.main import main

    monkeypatch.setattr(runner, "evaluate", lambda settings: None)  # a non-main rank's return
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        assert main(["evaluate", "--benchmark", "lovr", "--data", ".", "--model", "oracle"]) == 0
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()

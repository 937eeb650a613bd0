"""Two machines, simulated on this one: `torchrun --nnodes 2 --nproc_per_node 1 --node_rank 0|1` and
`accelerate launch --num_machines 2 --machine_rank 0|1` (gloo over 127.0.0.1) give one process's
metrics and per-query values, and record 2 processes.

Each "node" gets its own embedding cache folder (as machines without a shared filesystem would):
each writes the batches it embedded into its own, and nothing is embedded twice.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runner_helpers import build_sample_repos, build_tiny_model, run

# What depends on the machine or the moment rather than on the embeddings.
RUN_SPECIFIC = ("wall_time_s", "created_at", "timings", "num_processes", "cache", "hardware")

# Launcher arguments of one node of two, each node running one process.
LAUNCHERS = {
    "torchrun": lambda rank, port: ["torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1", "--node_rank",
                                    str(rank), "--master_addr", "127.0.0.1", "--master_port", str(port)],
    "accelerate": lambda rank, port: ["accelerate.commands.launch", "--multi_gpu", "--num_machines", "2",
                                      "--num_processes", "2", "--machine_rank", str(rank), "--main_process_ip",
                                      "127.0.0.1", "--main_process_port", str(port), "--mixed_precision", "no",
                                      "--dynamo_backend", "no"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_nodes(launcher: str, args: list[list[str]], cwd: Path) -> list[tuple[int, str, str]]:
    """Start node ranks 0 and 1 together (`args[rank]` for `vidret evaluate`); (exit status, stdout, stderr) each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    port = _free_port()
    nodes = [
        subprocess.Popen([sys.executable, "-m", *LAUNCHERS[launcher](rank, port), "-m", "vidret", "evaluate", *args[rank]],
                         cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for rank in (0, 1)
    ]
    try:
        outputs = [node.communicate(timeout=120) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    return [(node.returncode, out, err) for node, (out, err) in zip(nodes, outputs)]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("multinode")


@pytest.fixture(scope="module")
def one(root) -> dict:
    """The one-process record (with a cache too, so the records have the same fields)."""
    repos = build_sample_repos(root)
    model = build_tiny_model("clip", root)
    # 7 triplets: the two nodes' shares differ in size.
    return run("tf-covr", repos["tf-covr"], model, frames=2, batch_size=2, limit=7, cache_dir=str(root / "one-cache"))


@pytest.mark.slow
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_nodes_match_one_process(launcher, root, one, tmp_path):
    out = tmp_path / "two.json"
    args = ["--benchmark", "tf-covr", "--data", str(root / "tf-covr"), "--model", str(build_tiny_model("clip", root)),
            "--frames", "2", "--batch-size", "2", "--limit", "7", "--num-workers", "0", "--output", str(out)]
    caches = [tmp_path / f"node{rank}-cache" for rank in (0, 1)]
    results = _run_nodes(launcher, [[*args, "--cache-dir", str(caches[rank])] for rank in (0, 1)], tmp_path)
    for code, _, err in results:
        assert code == 0, err[-3000:]
    assert "cvr" in results[0][1] and results[1][1].strip() == ""  # only the main process prints the table

    two = json.loads(out.read_text())
    assert two["num_processes"] == 2
    assert one["num_processes"] == 1
    for key in one:
        if key not in RUN_SPECIFIC:
            assert two[key] == one[key], key
    assert two["tasks"]["cvr"]["per_query"] == one["tasks"]["cvr"]["per_query"]  # (in "tasks" above; said here)

    # Per-node caches: each node kept what it embedded; together that is every miss, once.
    ids = {rank: [i for part in caches[rank].glob("*/parts/*.npz") for i in np.load(part)["ids"]] for rank in (0, 1)}
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
    assert len(ids[0]) + len(ids[1]) == len(set(ids[0]) | set(ids[1])) == two["cache"]["misses"]
    for cache in caches:  # one namespace, node 0's, on both nodes
        assert {part.parent.parent.name for part in cache.glob("*/parts/*.npz")} == {two["cache"]["namespace"]}


@pytest.mark.slow
def test_nodes_that_read_the_dataset_at_different_paths_stop_with_what_to_fix(root, tmp_path):
    """A video is identified by its path: a node with its copy elsewhere would embed nothing asked of it."""
    repos = build_sample_repos(root)
    elsewhere = shutil.copytree(repos["lovr"], tmp_path / "copy" / "lovr")
    args = [["--benchmark", "lovr", "--data", str(data), "--model", "oracle", "--no-cache", "--num-workers", "0",
             "--output", str(tmp_path / "r.json")] for data in (repos["lovr"], elsewhere)]
    for code, _, err in _run_nodes("torchrun", args, tmp_path):
        assert code != 0
        assert ("vidret evaluate: process(es) [1] read other texts or videos than process 0: every node needs the same "
                "dataset revision (--revision) at the same absolute path (--data, --video-root)") in err, err[-3000:]
    assert not (tmp_path / "r.json").exists()

"""Killing or interrupting a run (issue 15.12): decode workers die with their parent, and Ctrl-C
ends `vidret evaluate` / `vidret build` with one line and exit status 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runner_helpers import build_sample_repos, default_sigint
from vidret.cli.main import INTERRUPTED_EXIT_CODE, main
from vidret.evaluation.running import workers

# `vidret evaluate` whose decode workers hang in their first item (a stalled video), each writing
# its pid to a file first. Workers are forked, so they inherit the patched decoder.
SLOW_EVALUATE = textwrap.dedent(
    """
    import os, sys, time
    import vidret.evaluation.embeddings.model as embedding

    def hang(self, index):
        open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
        time.sleep(120)

    embedding.SegmentDecoder.__getitem__ = hang
    from vidret.cli.main import main
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("interrupts"))


def _start_hanging_run(repo: Path, tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    script, pids = tmp_path / "slow_evaluate.py", tmp_path / "pids"
    script.write_text(SLOW_EVALUATE)
    pids.mkdir()
    command = [sys.executable, str(script), str(pids), "evaluate", "--benchmark", "tf-covr", "--data", str(repo),
               "--model", "oracle", "--no-cache", "--num-workers", "2", "--limit", "4",
               "--output", str(tmp_path / "r.json")]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=default_sigint
    )
    deadline = time.monotonic() + 60
    while len(list(pids.iterdir())) < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the run never reached its workers: {proc.communicate()}")
        time.sleep(0.1)
    return proc, [int(p.name) for p in pids.iterdir()]


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_evaluate_takes_its_decode_workers_with_it(repos, tmp_path):
    proc, worker_pids = _start_hanging_run(repos["tf-covr"], tmp_path)
    try:
        assert all(_alive(pid) for pid in worker_pids)
        proc.kill()  # SIGKILL: no handler runs in the parent
        proc.wait(10)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in worker_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in worker_pids if _alive(pid)], "decode workers outlived their parent"
    finally:
        for pid in worker_pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_ctrl_c_ends_evaluate_with_one_line_and_status_130(repos, tmp_path):
    proc, worker_pids = _start_hanging_run(repos["tf-covr"], tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == INTERRUPTED_EXIT_CODE == 130
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "vidret evaluate: interrupted"
    assert not (tmp_path / "r.json").exists()


def test_ctrl_c_ends_build_with_one_line_and_status_130(tmp_path, monkeypatch, capsys):
    import vidret.builders

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(vidret.builders, "build", interrupted)
    assert main(["build", "lovr", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err == "vidret build: interrupted\n"
    # the dataset repos' own entry points (`python -m ...`) too
    from vidret.cli.build import benchmark_main

    argv = ["--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")]
    assert benchmark_main("lovr", "vidret.dataset_repos.lovr", None, argv) == 130
    assert capsys.readouterr().err == "python -m vidret.dataset_repos.lovr: interrupted\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_parent_watch_ends_an_orphaned_worker_without_the_linux_signal(tmp_path):
    # The portable fallback alone (prctl disabled): a grandchild whose parent is SIGKILLed exits.
    script = tmp_path / "orphan.py"
    script.write_text(textwrap.dedent(
        f"""
        import multiprocessing, os, sys, time
        from vidret.evaluation.running import workers
        workers._set_parent_death_signal = lambda: False
        workers.PARENT_POLL_S = 0.2

        def child(path):
            workers.exit_with_parent(0)
            open(path, "w").write(str(os.getpid()))
            time.sleep(60)

        if __name__ == "__main__":
            multiprocessing.set_start_method({"fork" if sys.platform.startswith("linux") else "spawn"!r})
            p = multiprocessing.Process(target=child, args=(sys.argv[1],))
            p.start()
            time.sleep(60)
        """
    ))
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert _alive(child)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the orphaned worker kept running"
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_exit_with_parent_does_nothing_outside_a_child_process():
    import threading

    before = {t.name for t in threading.enumerate()}
    workers.exit_with_parent(0)  # the main process has no multiprocessing parent
    assert "vidret-parent-watch" not in {t.name for t in threading.enumerate()} - before

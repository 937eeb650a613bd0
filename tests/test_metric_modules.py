"""The evaluate modules in metrics/ and `vidret metrics install` (offline bare-name loading)."""

from __future__ import annotations

import doctest
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import evaluate
import pytest

from vidret.benchmarks import get_protocol
from vidret.cli.main import main as cli_main
from vidret.metrics_install import METRIC_NAMES, install_metrics, list_metrics, metric_source_dir, modules_cache_dir
from vidret.scoring import composed_map, retrieval_metrics

REPO = Path(__file__).resolve().parents[1]


def random_instance(seed: int, num_queries: int = 40, gallery: int = 60, depth: int = 60):
    rng = random.Random(seed)
    ids = [f"v{i}" for i in range(gallery)]
    predictions, references = [], []
    for _ in range(num_queries):
        predictions.append([] if rng.random() < 0.1 else rng.sample(ids, depth))
        references.append(rng.sample(ids + ["missing"], rng.randint(1, 10)))
    return predictions, references


@pytest.fixture(scope="module")
def composed_module():
    return evaluate.load(str(REPO / "metrics" / "composed_map"))


@pytest.fixture(scope="module")
def retrieval_module():
    return evaluate.load(str(REPO / "metrics" / "video_retrieval"))


def test_load_by_relative_path_from_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)
    for name in METRIC_NAMES:
        module = evaluate.load(f"metrics/{name}")
        assert module.name == name
        assert "arXiv" in module.citation


def test_composed_module_equals_kernel(composed_module):
    predictions, references = random_instance(0)
    expected = composed_map(predictions, references)
    assert composed_module.compute(predictions=predictions, references=references) == expected
    ks = {"k_values": (1, 3, 60), "recall_k_values": (2, 7)}
    assert composed_module.compute(predictions=predictions, references=references, **ks) == composed_map(
        predictions, references, **ks
    )


def test_composed_module_add_batch_equals_one_compute(composed_module):
    predictions, references = random_instance(1)
    for start in range(0, len(predictions), 7):
        composed_module.add_batch(predictions=predictions[start : start + 7], references=references[start : start + 7])
    assert composed_module.compute() == composed_map(predictions, references)


def official_instance(seed: int, num_queries: int = 40):
    """Rankings over a gallery with one entry per row (ids repeat), listed targets, designated ids."""
    rng = random.Random(seed)
    rows = [f"v{rng.randrange(25)}" for _ in range(80)]  # target_video of each row: repeats
    predictions, references, designated = [], [], []
    for _ in range(num_queries):
        predictions.append([] if rng.random() < 0.1 else rng.sample(rows, 60))
        listed = rng.choices(sorted(set(rows)) + ["missing"], k=rng.randint(1, 6))  # may repeat
        references.append(listed)
        designated.append(rng.choice(listed))
    return predictions, references, designated


@pytest.mark.parametrize("protocol", ["vidret", "official"])
def test_composed_module_equals_kernel_in_both_protocols(composed_module, protocol):
    if protocol == "official":
        predictions, references, designated = official_instance(3)
    else:
        predictions, references = random_instance(3)
        designated = [refs[0] for refs in references]
    # What `vidret evaluate --protocol` scores TF-CoVR with: the declared cut-offs and rules.
    task = get_protocol("tf-covr", protocol).tasks["cvr"]
    expected = composed_map(
        predictions,
        references,
        k_values=task.cutoffs("mAP"),
        recall_k_values=task.cutoffs("R"),
        count_repeats=task.rules.count_repeats,
        decimals=task.rules.decimals,
        designated_targets=designated,
    )
    got = composed_module.compute(predictions=predictions, references=references, protocol=protocol, designated_targets=designated)
    assert got == expected
    if protocol == "official":
        assert max(got["mAP@50"], got["R@50"]) > 100.0  # repeated hits count: the official numbers can pass 100
    # Batched: `designated_targets` goes to compute, for all queries at once.
    for start in range(0, len(predictions), 9):
        composed_module.add_batch(predictions=predictions[start : start + 9], references=references[start : start + 9])
    assert composed_module.compute(protocol=protocol, designated_targets=designated) == expected


@pytest.mark.parametrize("protocol", ["vidret", "official"])
def test_module_defaults_are_what_the_runner_reports(composed_module, retrieval_module, protocol):
    # The golden results pin what `vidret evaluate --protocol ...` reports on both samples.
    from vidret.scoring.metrics import cutoffs, is_metric

    golden = {
        name: json.loads((REPO / "tests" / "golden" / f"{name}-oracle-{protocol}.json").read_text())["tasks"]
        for name in ("tf-covr", "lovr")
    }
    composed = composed_module.compute(predictions=[["a", "x"]], references=[["a"]], protocol=protocol, designated_targets=["a"])
    assert {k for k in composed if is_metric(k)} == set(golden["tf-covr"]["cvr"]["metrics"])
    retrieval = retrieval_module.compute(predictions=[["a", "x"]], references=[["a"]], gallery_size=2, protocol=protocol)
    reported = [k for k in retrieval if is_metric(k)]  # R@K at its cut-offs, and the ranks it always gives
    for task in golden["lovr"].values():
        assert sorted(cutoffs(reported, "R")) == sorted(cutoffs(task["metrics"], "R"))
        assert set(task["metrics"]) <= set(reported)
    with pytest.raises(ValueError, match="unknown protocol 'paper'"):
        composed_module.compute(predictions=[["a"]], references=[["a"]], protocol="paper")


def test_retrieval_module_equals_kernel(retrieval_module):
    predictions, references = random_instance(2, depth=60)  # complete rankings of the 60-item gallery
    expected = retrieval_metrics(rankings=predictions, relevant=references, gallery_size=60)
    got = retrieval_module.compute(predictions=predictions, references=references, gallery_size=60)
    assert got == expected and got["MdR"] is not None and got["num_failed"] > 0
    for i in range(len(predictions)):
        retrieval_module.add(prediction=predictions[i], reference=references[i])
    assert retrieval_module.compute(k_values=(1, 2), gallery_size=60) == retrieval_metrics(
        rankings=predictions, relevant=references, k_values=(1, 2), gallery_size=60
    )


def test_module_errors_come_from_the_kernel(composed_module, retrieval_module):
    with pytest.raises(ValueError, match="lists 'a' more than once"):
        composed_module.compute(predictions=[["a", "a"]], references=[["a"]])
    with pytest.raises(ValueError, match="pass gallery_size"):
        retrieval_module.compute(predictions=[[]], references=[["a"]])


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_docstring_examples_run(name, monkeypatch):
    monkeypatch.chdir(REPO)  # the examples load "metrics/<name>"
    module = evaluate.load(f"metrics/{name}")
    script = sys.modules[type(module).__module__]
    test = doctest.DocTestParser().get_doctest(script._KWARGS_DESCRIPTION, {"evaluate": evaluate}, name, None, 0)
    assert test.examples
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_metric_card_examples_run(name):
    # The card's worked examples are doctests against the module itself: card and code cannot drift.
    # A closing ``` fence right after an expected output would be read as part of it: blank fences.
    card = re.sub(r"^```.*$", "", (REPO / "metrics" / name / "README.md").read_text(), flags=re.M)
    globs = {"metric": evaluate.load(str(REPO / "metrics" / name))}
    test = doctest.DocTestParser().get_doctest(card, globs, f"{name}/README.md", None, 0)
    assert test.examples
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_module_scripts_use_one_import_per_line():
    # evaluate's import scanner reads `import a, b` as a single library named "a,".
    for name in METRIC_NAMES:
        for line in (REPO / "metrics" / name / f"{name}.py").read_text().splitlines():
            if line.startswith(("import ", "from ")):
                assert "," not in line, line


# ---------------------------------------------------------------- install + offline load


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HOME=str(tmp_path / "hf"),
        HF_MODULES_CACHE=str(tmp_path / "hf" / "modules"),
        HF_EVALUATE_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
    )
    return env


def test_install_then_bare_name_loads_offline(tmp_path):
    # One subprocess (importing evaluate takes seconds): the bare name is unknown offline until
    # install_metrics (what `vidret metrics install` calls) writes the module cache.
    predictions, references = random_instance(3)
    code = (
        "import json, sys, evaluate\n"
        "from vidret.metrics_install import install_metrics\n"
        "p, r = json.loads(sys.stdin.read())\n"
        "try:\n"
        "    evaluate.load('composed_map')\n"
        "    sys.exit('loaded before install')\n"
        "except FileNotFoundError:\n"
        "    pass\n"
        "install_metrics()\n"
        "out = {n: evaluate.load(n).compute(predictions=p, references=r, **kw) for n, kw in "
        "[('composed_map', {}), ('video_retrieval', {'gallery_size': 60})]}\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([predictions, references]),
        env=_env(tmp_path),
        cwd=tmp_path,  # no metrics/ folder here: the bare name must come from the module cache
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["composed_map"] == composed_map(predictions, references)
    assert out["video_retrieval"] == retrieval_metrics(rankings=predictions, relevant=references, gallery_size=60)
    assert list((tmp_path / "hf" / "modules" / "evaluate_modules" / "metrics").glob("evaluate-metric--composed_map/*/composed_map.py"))


def test_default_cache_dir_follows_evaluate_config(monkeypatch, tmp_path):
    assert modules_cache_dir() == Path(evaluate.config.HF_MODULES_CACHE)
    # Without evaluate imported, the same environment variables decide (evaluate not imported: fast CLI).
    monkeypatch.delitem(sys.modules, "evaluate.config")
    monkeypatch.delenv("HF_MODULES_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert modules_cache_dir() == tmp_path / "home" / "modules"
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "mods"))
    assert modules_cache_dir() == tmp_path / "mods"


def test_install_layout_and_list(tmp_path, capsys):
    cache = tmp_path / "modules"
    assert all(not m.installed for m in list_metrics(cache_dir=cache))
    installed = install_metrics(["composed_map"], cache_dir=cache)
    script = installed["composed_map"]
    assert script.parent.parent.name == "evaluate-metric--composed_map"
    assert len(script.parent.name) == 64
    assert script.read_bytes() == (metric_source_dir() / "composed_map" / "composed_map.py").read_bytes()
    assert (script.parent / "README.md").is_file()
    assert (cache / "evaluate_modules" / "__init__.py").is_file()
    state = {m.name: m.installed for m in list_metrics(cache_dir=cache)}
    assert state["composed_map"] == (script,) and state["video_retrieval"] == ()
    assert install_metrics(["composed_map"], cache_dir=cache) == installed  # idempotent

    assert cli_main(["metrics", "install", "video_retrieval", "--cache-dir", str(cache)]) == 0
    assert cli_main(["metrics", "list", "--cache-dir", str(cache)]) == 0
    printed = capsys.readouterr().out
    assert "installed video_retrieval ->" in printed
    assert "not installed" not in printed.split("installed video_retrieval")[-1]
    assert printed.count("(current)") == 2


def test_list_flags_a_newer_foreign_copy_that_shadows_ours(tmp_path, capsys):
    # evaluate loads the newest cached copy offline: a Hub download written after the install wins.
    cache = tmp_path / "modules"
    ours = install_metrics(["composed_map"], cache_dir=cache)["composed_map"]
    foreign = ours.parent.parent / ("f" * 64) / "composed_map.py"
    foreign.parent.mkdir()
    foreign.write_text("# someone else's composed_map\n")
    now = ours.stat().st_mtime
    os.utime(ours, (now - 20,) * 2)
    os.utime(foreign, (now - 10,) * 2)
    module = next(m for m in list_metrics(cache_dir=cache) if m.name == "composed_map")
    assert module.installed == (ours, foreign) and not module.current
    assert cli_main(["metrics", "list", "--cache-dir", str(cache)]) == 0
    assert "NOT vidret's current script" in capsys.readouterr().out
    install_metrics(["composed_map"], cache_dir=cache)  # reinstalling makes ours the newest again
    module = next(m for m in list_metrics(cache_dir=cache) if m.name == "composed_map")
    assert module.installed[-1] == ours and module.current


def test_install_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown metric module.*'nope'"):
        install_metrics(["nope"], cache_dir=tmp_path)
    with pytest.raises(SystemExit, match="vidret metrics install: unknown metric module"):
        cli_main(["metrics", "install", "nope", "--cache-dir", str(tmp_path)])
    monkeypatch.setattr("vidret.metrics_install.metric_source_dir", lambda: tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="composed_map.py is missing"):
        install_metrics(cache_dir=tmp_path)


def test_metrics_command_without_action_prints_help(capsys):
    assert cli_main(["metrics"]) == 1
    assert "install" in capsys.readouterr().out

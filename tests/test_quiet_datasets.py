"""`datasets`' own progress bars stay quiet while vidret loads a dataset (a TF-CoVR run printed six
"Generating <split> split" bars), vidret's own bars still show, and `datasets` is left as it was."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release
from vidret.builders import build
from vidret.evaluation.planning.dataset import load_plan, quiet_datasets
from vidret.evaluation.running.runner import EvalSettings, evaluate


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("quiet")
    raw = make_tfcovr_release(base / "raw", videos_per_label=1, labels=("107b", "407c"), targets_per_query=1)
    build("tf-covr", raw, base / "repo", videos="copy", progress=False)
    return base / "repo"


def test_loading_prints_no_datasets_bars_and_restores_them(built, capfd):
    verbosity = datasets.logging.get_verbosity()
    assert datasets.is_progress_bar_enabled()
    plan, _ = load_plan("tf-covr", str(built))
    assert plan.tasks
    err = capfd.readouterr().err
    assert "Generating" not in err, err
    # A library user's `datasets` is as it was: bars on, same verbosity.
    assert datasets.is_progress_bar_enabled()
    assert datasets.logging.get_verbosity() == verbosity
    # ... and a load of their own still shows its bars.
    datasets.load_dataset(str(built), "triplets", cache_dir=str(built.parent / "user-cache"))
    assert "Generating test split" in capfd.readouterr().err


def test_a_failed_load_restores_them_too():
    with pytest.raises(RuntimeError), quiet_datasets():
        assert not datasets.is_progress_bar_enabled()
        raise RuntimeError("load failed")
    assert datasets.is_progress_bar_enabled()


def test_bars_turned_off_by_the_user_stay_off():
    datasets.disable_progress_bars()
    try:
        with quiet_datasets():
            pass
        assert not datasets.is_progress_bar_enabled()
    finally:
        datasets.enable_progress_bars()


def test_an_evaluation_shows_vidrets_bars_only(built, capfd):
    record = evaluate(EvalSettings(benchmark="tf-covr", data=str(built), model="oracle", num_workers=0))
    assert record is not None
    err = capfd.readouterr().err
    assert "Generating" not in err, err
    for bar in ("texts:", "videos:", "scoring:"):
        assert bar in err

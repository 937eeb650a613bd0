"""`vidret demo`: the README's main command, end to end on the sample data."""

from __future__ import annotations

import json

import pytest

from vidret.cli.main import main
from vidret.testing.demo import next_commands, run_demo
from vidret.evaluation.results.validation import validate_file


def test_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    result = run_demo(out, frames=2)
    assert len(result.records) == 4
    by = {(r["benchmark"], r["model"]["adapter"]): r for r in result.records}
    assert set(b for b, _ in by) == {"lovr", "tf-covr"}
    for record in result.records:
        if record["model"]["adapter"] == "oracle":
            assert all(v == 100.0 for t in record["tasks"].values() for k, v in t["metrics"].items() if "@" in k)
        else:
            assert record["model"]["random_weights"] is True
    assert result.table.count("(random weights)") == 5  # 4 LoVR tasks + 1 TF-CoVR task
    files = sorted(p.name for p in (out / "results").glob("*.json"))
    assert files == ["lovr-oracle.json", "lovr-tiny-clip.json", "tf-covr-oracle.json", "tf-covr-tiny-clip.json"]
    for f in (out / "results").glob("*.json"):
        validate_file(f)

    # The CLI re-uses the built data and the embedding cache, and prints the table.
    assert main(["demo", "--out", str(out), "--frames", "2"]) == 0
    printed = capsys.readouterr().out
    assert "tiny-clip-random (random weights)" in printed and "oracle (check)" in printed
    # What it made, and what to try next on it (the commands themselves run in test_readme_by_hand.py).
    made = printed[printed.index(f"Made under {out.as_posix()}/:"):].splitlines()
    for folder in ("raw", "data", "models/tiny-clip-random", "results"):
        assert any(line.split()[0] == f"{(out / folder).as_posix()}/" for line in made[1:5])
        assert (out / folder).is_dir()
    assert made[5] == "Try next:" and made[6:] == [f"  {command}" for command in next_commands(out)]
    again = json.loads((out / "results" / "lovr-tiny-clip.json").read_text())
    assert again["cache"]["misses"] == 0
    assert {k: t["metrics"] for k, t in again["tasks"].items()} == {
        k: t["metrics"] for k, t in by[("lovr", again["model"]["adapter"])]["tasks"].items()
    }


@pytest.mark.parametrize("kwargs, match", [({"frames": 0}, "--frames"), ({"num_workers": -1}, "--num-workers")])
def test_demo_bad_arguments(tmp_path, kwargs, match, capsys):
    with pytest.raises(ValueError, match=match):
        run_demo(tmp_path, **kwargs)
    flag, value = next(iter(kwargs.items()))
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--out", str(tmp_path), f"--{flag.replace('_', '-')}", str(value)])
    assert exited.value.code == 2  # argparse refuses it, one line naming the flag
    assert match in capsys.readouterr().err


def test_demo_setup_only_one_benchmark(tmp_path, capsys, monkeypatch):
    """`--benchmark` picks what the demo sets up (ids or aliases, repeats once); its commands then run as printed."""
    import shlex

    monkeypatch.setenv("VIDRET_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--setup-only", "--benchmark", "tf-covr", "--benchmark", "TF_CoVR"]) == 0
    assert [p.name for p in (out / "data").iterdir()] == ["tf-covr"]
    assert [p.name for p in (out / "raw").iterdir()] == ["tf-covr"]
    assert (out / "data" / "tf-covr" / "manifest.json").is_file()
    printed = capsys.readouterr().out.splitlines()
    commands = next_commands(out, ["tf-covr"])
    assert printed[-len(commands):] == [f"  {c}" for c in commands]
    assert all("--benchmark tf-covr" in c for c in commands if c.startswith("vidret evaluate"))
    assert main(shlex.split(commands[0])[1:]) == 0  # the oracle on the sample scores 100
    record = json.loads((out / "try" / "tf-covr-oracle.json").read_text())
    assert all(v == 100.0 for v in record["tasks"]["cvr"]["metrics"].values())

    with pytest.raises(SystemExit, match="unknown benchmark 'msrvtt'"):
        main(["demo", "--out", str(out), "--setup-only", "--benchmark", "msrvtt"])

"""The README's "Trying things by hand" commands run as printed, one by one, in a fresh folder."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from vidret.testing.demo import next_commands

README = Path(__file__).resolve().parents[1] / "README.md"


def by_hand_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Trying things by hand"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no bash block in the README's 'Trying things by hand'"
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.mark.slow
def test_trying_things_by_hand_runs_command_by_command(tmp_path, monkeypatch):
    commands = by_hand_commands()
    assert commands[0] == "vidret demo --setup-only"
    bin_dir = str(Path(sys.executable).parent)  # where `vidret` is installed next to this Python
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "VIDRET_CACHE": str(tmp_path / "cache"),
           "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    for command in commands:
        proc = subprocess.run(shlex.split(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        if command == commands[0]:
            # The README shows what `vidret demo` prints for its default folder.
            monkeypatch.chdir(tmp_path)
            assert commands[1:] == next_commands(Path("vidret-demo"))
            assert [f"  {c}" for c in commands[1:]] == proc.stdout.splitlines()[-len(commands) + 1:]
    tried = tmp_path / "vidret-demo" / "try"
    oracle = json.loads((tried / "lovr-oracle.json").read_text())
    assert all(task["metrics"]["R@1"] == 100.0 for task in oracle["tasks"].values())
    assert (tmp_path / "vidret-demo" / "site" / "index.html").is_file()
    assert (tried / "frames.png").stat().st_size > 0
    assert any((tmp_path / "cache").iterdir())  # the evaluations used the embedding cache

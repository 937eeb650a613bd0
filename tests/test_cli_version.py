"""`vidret --version` prints the version `vidret env` shows, and exits 0."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vidret.cli.main import main


def test_version_is_the_one_env_shows(capsys):
    assert main(["env", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["versions"]["vidret"]
    assert shown
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out, err = capsys.readouterr()
    assert out == f"vidret {shown}\n" and err == ""


def test_version_from_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "vidret", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("vidret ") and proc.stdout.count("\n") == 1

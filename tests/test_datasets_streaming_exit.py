"""A streaming `datasets` iterator left unfinished must not abort the interpreter at exit.

With pyarrow 25/26 the Parquet scanner's background work outlives an unfinished iterator and
the process dies in its last moment with "terminate called without an active exception"
(apache/arrow#45214): a user's `next(iter(ds))` (the README's own example) and our
examples/02_load.py crashed in about one run in three. vidret asks for pyarrow < 25, where
`datasets` closes the scanner itself. The crash is a race, so the script runs several times.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

RUNS = 8
SCRIPT = """
import sys
from datasets import load_dataset
ds = load_dataset(sys.argv[1], split="train", streaming=True)
print(next(iter(ds))["caption"])
"""


@pytest.mark.slow
def test_an_unfinished_streaming_iterator_exits_cleanly(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "repo" / "data"
    folder.mkdir(parents=True)
    table = pa.table({"caption": [f"caption {i} " * 20 for i in range(4000)], "n": list(range(4000))})
    pq.write_table(table, folder / "train-00000-of-00001.parquet", row_group_size=500)
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(tmp_path / "repo")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
        )
        for _ in range(RUNS)
    ]
    outcomes = [(run.wait(timeout=120), run.stdout.read(), run.stderr.read()) for run in runs]
    for code, out, err in outcomes:
        assert out.startswith("caption 0"), err
        assert code == 0 and "terminate called" not in err, f"exit code {code}: {err[-500:]}"

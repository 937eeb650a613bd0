"""Where the example scripts put their files: $VIDRET_EXAMPLES_DIR, default ./out/examples (git-ignored)."""

import os
from pathlib import Path

WORK = Path(os.environ.get("VIDRET_EXAMPLES_DIR", "out/examples")).resolve()
RAW = WORK / "raw"  # sample raw releases, in the published layouts
REPOS = WORK / "repos"  # built Hub dataset repo folders
MODELS = WORK / "models"  # locally built tiny models
RESULTS = WORK / "results"  # results JSON, one folder per model
SITE = WORK / "site"  # the static leaderboard
BENCHMARKS = ("lovr", "tf-covr")

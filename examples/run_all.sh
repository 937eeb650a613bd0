#!/usr/bin/env bash
# The whole journey on the sample data: build -> load -> evaluate -> validate -> submit (dry run) -> leaderboard.
set -euo pipefail
cd "$(dirname "$0")"
export VIDRET_EXAMPLES_DIR="${VIDRET_EXAMPLES_DIR:-$(pwd)/../out/examples}"
for step in 01_build 02_load 03_evaluate 04_validate 05_submit_dry_run 06_leaderboard; do
  echo "=== ${step}"
  python "${step}.py"
done

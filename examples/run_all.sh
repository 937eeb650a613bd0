#!/usr/bin/env bash
# The whole journey on the sample data: build -> load -> evaluate -> validate -> submit (dry run) -> leaderboard.
# Works from a fresh shell: without an active virtualenv it uses the project's .venv when there is one.
set -euo pipefail
# Resolved before the cd below, so a relative VIDRET_EXAMPLES_DIR means relative to where you are.
export VIDRET_EXAMPLES_DIR="$(realpath -m "${VIDRET_EXAMPLES_DIR:-$(dirname "$0")/../out/examples}")"
cd "$(dirname "$0")"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x ../.venv/bin/python ]; then
  PYTHON=../.venv/bin/python
else
  PYTHON="$(command -v python3 || command -v python || true)"
fi
if [ -z "${PYTHON}" ] || ! "${PYTHON}" -c "import vidret" 2>/dev/null; then
  echo "run_all.sh: no Python with vidret installed; activate the project's virtualenv (see README.md) first" >&2
  exit 1
fi
for step in 01_build 02_load 03_evaluate 04_validate 05_submit_dry_run 06_leaderboard; do
  echo "=== ${step}"
  "${PYTHON}" "${step}.py"
done
echo "=== done: open ${VIDRET_EXAMPLES_DIR}/site/index.html"

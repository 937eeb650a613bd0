"""Step 5: what `vidret submit` would upload, without sending anything.

CLI equivalent: `vidret submit RESULTS.json --model-repo <org>/<model> --results-repo <org>/vidret-results
--dataset-id vidret/lovr --dry-run` (a summary; add `--dry-run-out FILE` for the full payload). Every
problem is listed at once: a random-weight model is refused unless explicitly allowed, the oracle and
a `--limit` subset always (a subset: unless `--allow-subset`, which files it labelled as one).
"""

import json

from _paths import REPOS, RESULTS

from vidret.evaluation.results.validation import load_results
from vidret.hub.submit import format_plan, prepare_submission


def sample_build_manifest(dataset_id: str, revision: str) -> dict:
    """The Hub dataset's manifest.json, which a local build is compared with before submitting.

    Offline, the sample build stands in for vidret/lovr@v1.0.0; without `fetch_manifest`, vidret
    reads that file from the Hub.
    """
    return json.loads((REPOS / "lovr" / "manifest.json").read_text(encoding="utf-8"))


results = load_results(RESULTS / "tiny-clip" / "lovr.json")
# The sample data is a local build, so the benchmark's Hub id is given explicitly.
options = dict(results_repo="your-org/vidret-results", dataset_id="vidret/lovr", fetch_manifest=sample_build_manifest)
plan = prepare_submission(results, "your-org/tiny-clip", **options)
for problem in plan.problems:
    print(f"refused as expected: {problem}\n")

plan = prepare_submission(results, "your-org/tiny-clip", allow_random_weights=True, **options)
assert not plan.refused, plan.problems
print(format_plan(plan.uploads))  # the full payload: pull request texts, exact file contents
print(f"(dry run: {len(plan.uploads)} pull request(s) not opened)")

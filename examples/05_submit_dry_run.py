"""Step 5: what `vidret submit` would upload, without sending anything.

CLI equivalent: `vidret submit RESULTS.json --model-repo <org>/<model> --results-repo <org>/vidret-results
--dataset-id vidret/lovr --dry-run`. A random-weight model is refused unless explicitly allowed.
"""

from _paths import RESULTS

from vidret.evaluation.results.validation import load_results
from vidret.hub.submit import SubmissionError, format_plan, plan_submission

results = load_results(RESULTS / "tiny-clip" / "lovr.json")
options = dict(results_repo="your-org/vidret-results", dataset_id="vidret/lovr")
try:
    plan_submission(results, "your-org/tiny-clip", **options)
except SubmissionError as err:
    print(f"refused as expected: {err}\n")

# The sample data is a local build, so the benchmark's Hub id is given explicitly.
uploads = plan_submission(results, "your-org/tiny-clip", allow_random_weights=True, **options)
print(format_plan(uploads))
print(f"(dry run: {len(uploads)} pull request(s) not opened)")

"""`vidret submit RESULTS.json --model-repo ORG/MODEL`: open Hub pull requests with validated results.

Every problem is found in one pass and listed at once; nothing is sent while there is one.
`--dry-run` prints a summary (what would be filed, where, which fields were rewritten) and, with
`--dry-run-out FILE`, writes the full payload to FILE.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "submit",
        help="open Hub pull requests with results (.eval_results on the model repo, JSON on a results repo)",
        description="Validate a results file, then open a pull request adding .eval_results/<benchmark>.yaml "
        "to the model repo and, with --results-repo, one adding the full JSON to a results dataset repo. "
        "Every problem is listed at once, and nothing is sent while there is one. A local build given "
        "--dataset-id is first compared with that Hub dataset (rows and data checksums). Prints the pull "
        "request URLs.",
    )
    parser.add_argument("results", metavar="RESULTS.json", help="results file written by `vidret evaluate`")
    parser.add_argument("--model-repo", required=True, metavar="ORG/MODEL", help="model repo to open the PR on")
    parser.add_argument("--results-repo", metavar="ORG/NAME", help="results dataset repo feeding the vidret leaderboard")
    parser.add_argument(
        "--dataset-id",
        metavar="ORG/NAME",
        help="Hub id of the benchmark dataset, when the results were computed on a local build of it "
        "(the build must be that dataset at the recorded revision: its manifest is compared with the Hub's)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print a summary of what would be filed and where; send nothing"
    )
    parser.add_argument(
        "--dry-run-out",
        metavar="FILE",
        help="with --dry-run (implied): also write the full payload (pull request texts, exact file contents) to FILE",
    )
    parser.add_argument("--token", help="Hub token (default: the locally saved one); never printed")
    parser.add_argument(
        "--allow-random-weights",
        action="store_true",
        help="accept results of a random-weight model (demo/test repos only; the oracle is never accepted)",
    )
    parser.add_argument("--allow-partial", action="store_true", help="accept results scoring only some default tasks")
    parser.add_argument(
        "--allow-subset",
        action="store_true",
        help="file results of a --limit run (or of fewer queries than the split) labelled as a subset: "
        "task ids <task>_subset and a file of their own, never as the split's score",
    )
    parser.set_defaults(func=run)
    return parser


def _refusal(args: argparse.Namespace, plan: Any, results: Any) -> None:
    """Print every problem of a refused submission to stderr."""
    from vidret.cli.validate import partial_hint
    from vidret.evaluation.results.validation import ResultsValidationError
    from vidret.hub.submit import format_problems
    from vidret.terminal import printable

    if plan.invalid:
        print(f"vidret submit: {args.results} is not valid results; nothing was sent.", file=sys.stderr)
        print(ResultsValidationError(plan.invalid, args.results), file=sys.stderr)
        hint = partial_hint(results) if not args.allow_partial else None
        if hint:  # a --tasks run: say which flag accepts it
            print(f"  {printable(hint)}", file=sys.stderr)
        if plan.problems:
            print(format_problems(plan.problems, "It would also be refused for:"), file=sys.stderr)
        return
    print(f"vidret submit: {args.results}: {format_problems(plan.problems)}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from vidret.cli.validate import partial_hint
    from vidret.common import atomic_write_text
    from vidret.evaluation.results.validation import ResultsValidationError, load_results
    from vidret.hub.submit import format_plan, format_summary, prepare_submission, submit
    from vidret.hub_errors import hub_failure_message, is_hub_failure
    from vidret.terminal import printable

    results = None
    try:
        results = load_results(args.results)
        plan = prepare_submission(
            results,
            args.model_repo,
            results_repo=args.results_repo,
            dataset_id=args.dataset_id,
            allow_random_weights=args.allow_random_weights,
            allow_partial=args.allow_partial,
            allow_subset=args.allow_subset,
            token=args.token,
            source=args.results,
        )
    except ResultsValidationError as err:  # not results at all: nothing else can be checked
        print(f"vidret submit: {args.results} is not valid results; nothing was sent.\n{err}", file=sys.stderr)
        hint = partial_hint(results) if results is not None and not args.allow_partial else None
        if hint:
            print(f"  {printable(hint)}", file=sys.stderr)
        return 1
    except FileNotFoundError as err:
        print(f"vidret submit: {err}", file=sys.stderr)
        return 1
    dry_run = args.dry_run or args.dry_run_out is not None
    if dry_run:
        print(format_summary(plan))
        if args.dry_run_out:
            atomic_write_text(args.dry_run_out, format_plan(plan.uploads) + "\n")
            print(f"\nFull payload (pull request texts, exact file contents) written to {printable(args.dry_run_out)}.")
        else:
            print("\nThe full payload (pull request texts, exact file contents): add --dry-run-out FILE.")
    if plan.refused:
        _refusal(args, plan, results)
        return 1
    if dry_run:
        print(f"(dry run: {len(plan.uploads)} pull request(s) not opened)")
        return 0
    # One pull request at a time, each URL printed as soon as it exists: if a later one is
    # refused, the user still sees what was already opened.
    opened = 0
    for upload in plan.uploads:
        try:
            (url,) = submit([upload], token=args.token)
        except Exception as err:
            if not is_hub_failure(err):
                raise
            # Network down, timeout, refusal, Hub-side error: one line, no token, what to retry.
            retry = "run the same command again" + (
                f" (first close the {opened} pull request(s) printed above, or they are opened twice)" if opened else ""
            )
            context = f"pull request on {upload.repo_type} repo {upload.repo_id} not opened"
            print(hub_failure_message("vidret submit", err, retry=retry, context=context), file=sys.stderr)
            return 1
        opened += 1
        print(url, flush=True)
    return 0

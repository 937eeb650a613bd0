"""`vidret submit RESULTS.json --model-repo ORG/MODEL`: open Hub pull requests with validated results."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "submit",
        help="open Hub pull requests with results (.eval_results on the model repo, JSON on a results repo)",
        description="Validate a results file, then open a pull request adding .eval_results/<benchmark>.yaml "
        "to the model repo and, with --results-repo, one adding the full JSON to a results dataset repo. "
        "Prints the pull request URLs.",
    )
    parser.add_argument("results", metavar="RESULTS.json", help="results file written by `vidret evaluate`")
    parser.add_argument("--model-repo", required=True, metavar="ORG/MODEL", help="model repo to open the PR on")
    parser.add_argument("--results-repo", metavar="ORG/NAME", help="results dataset repo feeding the vidret leaderboard")
    parser.add_argument(
        "--dataset-id",
        metavar="ORG/NAME",
        help="Hub id of the benchmark dataset, when the results were computed on a local build of it",
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be uploaded; send nothing")
    parser.add_argument("--token", help="Hub token (default: the locally saved one); never printed")
    parser.add_argument(
        "--allow-random-weights",
        action="store_true",
        help="accept results of a random-weight model or the oracle (demo/test repos only)",
    )
    parser.add_argument("--allow-partial", action="store_true", help="accept results scoring only some default tasks")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from vidret.cli.validate import partial_hint
    from vidret.evaluation.results.validation import ResultsValidationError, load_results
    from vidret.hub.submit import SubmissionError, format_plan, plan_submission, submit
    from vidret.hub_errors import hub_failure_message, is_hub_failure
    from vidret.terminal import printable

    results = None
    try:
        results = load_results(args.results)
        uploads = plan_submission(
            results,
            args.model_repo,
            results_repo=args.results_repo,
            dataset_id=args.dataset_id,
            allow_random_weights=args.allow_random_weights,
            allow_partial=args.allow_partial,
        )
    except ResultsValidationError as err:
        print(f"vidret submit: {args.results} is not valid results; nothing was sent.\n{err}", file=sys.stderr)
        hint = partial_hint(results) if results is not None and not args.allow_partial else None
        if hint:  # a --tasks run: say which flag accepts it
            print(f"  {printable(hint)}", file=sys.stderr)
        return 1
    except (FileNotFoundError, SubmissionError) as err:
        print(f"vidret submit: {err}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(format_plan(uploads))
        print(f"(dry run: {len(uploads)} pull request(s) not opened)")
        return 0
    # One pull request at a time, each URL printed as soon as it exists: if a later one is
    # refused, the user still sees what was already opened.
    opened = 0
    for upload in uploads:
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

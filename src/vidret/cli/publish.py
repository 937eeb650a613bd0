"""`vidret publish OUT --repo ORG/NAME --tag vX.Y.Z`: upload a built dataset repo folder and tag it."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``publish`` subcommand to the `vidret` parser."""
    parser = subparsers.add_parser(
        "publish",
        help="upload a built dataset repo folder to the Hub and tag its version",
        description="Create the dataset repo if needed, upload the files OUT's manifest.json lists (checked against "
        "their checksums; anything else is skipped and listed; videos only with --include-videos, in resumable "
        "batches), and tag the commit. The token is never printed.",
    )
    parser.add_argument("folder", metavar="OUT", help="folder written by `vidret build`")
    parser.add_argument("--repo", required=True, metavar="ORG/NAME", help="dataset repo id, e.g. vidret/<benchmark>")
    parser.add_argument("--tag", required=True, help="version tag, v<version> of the build (e.g. v1.0.0)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing (no tag)")
    parser.add_argument("--token", help="Hub token (default: the saved login or $HF_TOKEN); never printed")
    parser.add_argument(
        "--include-videos",
        action="store_true",
        help="also upload the build's videos (off by default: " + _provenance() + "; use it only for videos "
        "you have the right to share)",
    )
    parser.set_defaults(func=run)
    return parser


def _provenance() -> str:
    """Where each registered benchmark's videos come from (their `Licence.videos`), for the help."""
    from vidret.benchmarks import registered

    said = [b.licence.videos for b in registered().values() if b.licence.videos]
    return "; ".join(said) if said else "a benchmark's videos may not be re-hosted"


def run(args: argparse.Namespace) -> int:
    """Publish the folder; returns 1 with a one-line message when the folder or the Hub refuses."""
    from huggingface_hub.errors import HFValidationError

    from vidret.hub.publish import PublishError, publish
    from vidret.hub_errors import hub_failure_message, is_hub_failure

    try:
        result = publish(
            args.folder,
            args.repo,
            args.tag,
            private=args.private,
            create_pr=args.create_pr,
            token=args.token,
            include_videos=args.include_videos,
        )
    except (PublishError, HFValidationError) as err:
        print(f"vidret publish: {err}", file=sys.stderr)
        return 1
    except Exception as err:
        if not is_hub_failure(err):
            raise
        # Network down, timeout, refusal, Hub-side error: one line, no token, what to retry.
        retry = "run the same command again (video batches already on the Hub are not sent again)"
        print(hub_failure_message("vidret publish", err, retry=retry), file=sys.stderr)
        return 1
    if result.pr_url:
        print(f"opened {result.pr_url} (tag {args.tag} after merging)")
    else:
        print(
            f"published {result.repo_id} at {result.commit} as {result.tag} "
            f"({result.video_commits} video commit(s), {result.skipped_videos} video(s) already there)"
        )
    return 0

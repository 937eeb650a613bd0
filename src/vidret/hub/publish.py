"""Publish a built dataset repo folder to the Hub under a version tag (`vidret publish`).

Steps: check the folder is a complete vidret build (card, `eval.yaml`, manifest, no symbolic
links), create the dataset repo if needed, upload, then tag the commit ``v<version>``.

Large folders upload resumably: the files under ``videos/`` go in commits of at most
`batch_bytes` / `batch_files`, and each batch skips files the repo already holds with the same
size (and LFS SHA-256), so re-running after an interruption continues where it stopped. The
annotations, card and `eval.yaml` go last, in one commit that also deletes stale Parquet shards;
that commit is the one tagged. With ``create_pr=True`` everything goes into one pull request
and no tag is made (tag the merge commit after review).

The token is passed to `huggingface_hub` only; it is never printed, logged or written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

REQUIRED_FILES = ("README.md", "eval.yaml", "manifest.json")
DEFAULT_BATCH_BYTES = 4 * 1024**3
DEFAULT_BATCH_FILES = 500


class PublishError(ValueError):
    """The folder cannot be published as asked (incomplete build, links, version/tag mismatch, tag exists)."""


@dataclass
class PublishResult:
    """What `publish` did.

    Attributes:
        repo_id: the dataset repo.
        commit: oid of the last commit (the tagged one), or None.
        tag: the tag created, or None (pull request mode).
        pr_url: the pull request URL in pull request mode.
        video_commits: commits that uploaded video batches.
        skipped_videos: videos already on the Hub with the same content.
        uploaded: repo paths of the videos uploaded, in upload order.
    """

    repo_id: str
    commit: str | None = None
    tag: str | None = None
    pr_url: str | None = None
    video_commits: int = 0
    skipped_videos: int = 0
    uploaded: list[str] = field(default_factory=list)


def check_folder(folder: Path, tag: str) -> dict:
    """Check `folder` is a complete vidret build whose version matches `tag`; return its manifest.

    Raises:
        PublishError: a required file is absent, a file is a symbolic link (built with
            ``--videos link``), the manifest is not valid JSON, or `tag` is not ``v<version>``.
    """
    if not folder.is_dir():
        raise PublishError(f"{folder}: folder not found")
    absent = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if absent:
        raise PublishError(f"{folder}: not a vidret build, missing {absent} (run `vidret build` first)")
    links = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_symlink()]
    if links:
        raise PublishError(
            f"{folder}: {len(links)} symbolic link(s), e.g. {links[0]}; the Hub stores no links. "
            "Rebuild with --videos copy (or --videos none for an annotations-only repo)."
        )
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise PublishError(f"{folder / 'manifest.json'}: not valid JSON ({err}); rebuild with `vidret build`") from None
    from vidret.builders.config import version_tag

    version = manifest.get("version")
    if tag != version_tag(version):
        raise PublishError(
            f"tag {tag!r} does not match the build's version {version!r}: use --tag {version_tag(version)} "
            "or rebuild with --version"
        )
    return manifest


def _video_batches(folder: Path, remote: dict[str, tuple[int, str | None]], batch_bytes: int, batch_files: int):
    """Lists of repo paths under videos/ still to upload, in batches; and the number skipped."""
    from vidret.builders.archive import sha256_file

    batches: list[list[str]] = [[]]
    size_in_batch, skipped = 0, 0
    for path in sorted((folder / "videos").rglob("*")) if (folder / "videos").is_dir() else []:
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        if rel in remote and remote[rel][0] == size:
            remote_sha = remote[rel][1]
            if remote_sha is None or remote_sha == sha256_file(path):
                skipped += 1
                continue
        if batches[-1] and (size_in_batch + size > batch_bytes or len(batches[-1]) >= batch_files):
            batches.append([])
            size_in_batch = 0
        batches[-1].append(rel)
        size_in_batch += size
    return [b for b in batches if b], skipped


def _remote_files(api, repo_id: str) -> dict[str, tuple[int, str | None]]:
    """``{path: (size, lfs sha256 or None)}`` of the files under videos/ on the Hub (empty if none)."""
    from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError

    try:
        entries = api.list_repo_tree(repo_id, path_in_repo="videos", recursive=True, repo_type="dataset")
        out = {}
        for entry in entries:
            size = getattr(entry, "size", None)
            if size is None:
                continue  # a folder
            lfs = getattr(entry, "lfs", None)
            out[entry.path] = (size, getattr(lfs, "sha256", None) if lfs else None)
        return out
    except (EntryNotFoundError, RevisionNotFoundError):
        return {}


def publish(
    folder: str | Path,
    repo_id: str,
    tag: str,
    *,
    private: bool = False,
    create_pr: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    batch_files: int = DEFAULT_BATCH_FILES,
) -> PublishResult:
    """Upload a built dataset repo folder to the Hub and tag the version.

    Args:
        folder: the folder written by `vidret build`.
        repo_id: ``"<org>/<name>"`` of the dataset repo (created if needed).
        tag: version tag, ``v<version>`` of the build (e.g. ``"v1.0.0"``).
        private: create the repo private (an existing repo's visibility is unchanged).
        create_pr: upload everything as one pull request and create no tag.
        token: Hub token (default: the saved login / $HF_TOKEN); never printed.
        endpoint: Hub endpoint (default: $HF_ENDPOINT or huggingface.co).
        batch_bytes: most bytes of videos per commit.
        batch_files: most video files per commit.

    Returns:
        A `PublishResult`.

    Raises:
        PublishError: incomplete build, symbolic links, tag/version mismatch, or the tag
            already exists on the Hub (versions are immutable: rebuild with a new version).
        huggingface_hub.errors.HfHubHTTPError: other Hub errors (authentication, permissions).
    """
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    root = Path(folder)
    check_folder(root, tag)
    if batch_bytes < 1 or batch_files < 1:
        raise ValueError(f"batch_bytes and batch_files must be >= 1, got {batch_bytes} and {batch_files}")
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    result = PublishResult(repo_id)
    if create_pr:
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=root,
            repo_type="dataset",
            commit_message=f"vidret build {tag}",
            create_pr=True,
        )
        result.commit, result.pr_url = info.oid, info.pr_url
        logger.info("opened %s; create the tag %s on the merge commit after review", info.pr_url, tag)
        return result
    batches, result.skipped_videos = _video_batches(root, _remote_files(api, repo_id), batch_bytes, batch_files)
    for n, batch in enumerate(batches, start=1):
        # Exact paths, not upload_folder(allow_patterns=batch): patterns are fnmatch globs (a
        # "[1]" in a name never matches itself) and are tried against every file of the folder
        # for every batch (files x batch size x batches matches on a large build).
        api.create_commit(
            repo_id=repo_id,
            repo_type="dataset",
            operations=[CommitOperationAdd(path_in_repo=rel, path_or_fileobj=root / rel) for rel in batch],
            commit_message=f"vidret build {tag}: videos {n}/{len(batches)}",
        )
        result.video_commits += 1
        result.uploaded.extend(batch)
        logger.info("uploaded video batch %d/%d (%d files)", n, len(batches), len(batch))
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=root,
        repo_type="dataset",
        ignore_patterns=["videos/**"],
        delete_patterns=["data/**", "missing.json"],  # drop shards of an earlier version
        commit_message=f"vidret build {tag}",
    )
    result.commit = info.oid
    try:
        api.create_tag(repo_id, tag=tag, repo_type="dataset", revision=info.oid, tag_message=f"vidret dataset {tag}")
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status == 409:
            raise PublishError(
                f"tag {tag!r} already exists on {repo_id}; published versions are immutable: rebuild with a new --version"
            ) from err
        raise
    result.tag = tag
    return result

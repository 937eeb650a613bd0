"""Publish a built dataset repo folder to the Hub under a version tag (`vidret publish`).

Steps: check the folder is a complete vidret build (card, `eval.yaml`, manifest, no symbolic
links), check every file the manifest lists against its checksum, create the dataset repo if
needed, check the tag is new, upload, then tag the commit ``v<version>``.

Only what the build made goes up: the manifest, the files its ``outputs`` list (annotations,
card, `eval.yaml`, `missing.json`), and, only with ``include_videos=True``
(``--include-videos``), the videos its ``videos.files`` list names. Anything else in the folder (a
stray ``.env``, ``id_rsa``, ``notes/``, ``.git/``) is skipped and listed as skipped. Videos are
off by default because a benchmark's videos may not be re-hosted freely (its `Licence.videos`
says where they come from, and is what a publish that leaves them out says): publishing them is
the user's explicit choice, for videos they have the right to share.

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

from vidret.common import is_safe_component, sha256_file

logger = logging.getLogger(__name__)

REQUIRED_FILES = ("README.md", "eval.yaml", "manifest.json")
# The files each kind of folder must hold, by manifest.json's "kind" (a build's manifest has none):
# an export of embeddings (`vidret embeddings export`) is a dataset repo but no benchmark (no eval.yaml).
FOLDER_KINDS = {
    "dataset": REQUIRED_FILES,
    "embeddings": ("README.md", "embeddings.json", "manifest.json"),
}
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
        files: repo paths of the other files uploaded (manifest and its listed outputs).
        skipped: files in the folder that the manifest does not list, not uploaded (a folder
            with nothing to upload inside is one entry ending in "/").
        withheld_videos: videos of the build not uploaded because `include_videos` was off.
    """

    repo_id: str
    commit: str | None = None
    tag: str | None = None
    pr_url: str | None = None
    video_commits: int = 0
    skipped_videos: int = 0
    uploaded: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    withheld_videos: int = 0


@dataclass
class UploadPlan:
    """What a publish sends, from the manifest, checked against the folder.

    Attributes:
        files: the manifest and the outputs it lists (the last commit), sorted.
        videos: videos to upload (only with ``include_videos``), sorted.
        withheld_videos: videos of the build left out because ``include_videos`` is off.
        skipped: everything else in the folder (see `PublishResult.skipped`).
    """

    files: list[str]
    videos: list[str]
    withheld_videos: list[str]
    skipped: list[str]


def check_folder(folder: Path, tag: str) -> dict:
    """Check `folder` is a complete vidret build whose version matches `tag`; return its manifest.

    Raises:
        PublishError: a required file is absent, a file is a symbolic link (built with
            ``--videos link``), the manifest is not a valid JSON object, or `tag` is not ``v<version>``.
    """
    if not folder.is_dir():
        raise PublishError(f"{folder}: folder not found")
    kind = _folder_kind(folder)
    absent = [name for name in FOLDER_KINDS[kind] if not (folder / name).is_file()]
    if absent:
        made_by = "vidret embeddings export" if kind == "embeddings" else "vidret build"
        raise PublishError(f"{folder}: not a complete {made_by} folder, missing {absent} (run `{made_by}` first)")
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
    if not isinstance(manifest, dict):
        raise PublishError(f"{folder / 'manifest.json'}: not a JSON object; rebuild with `vidret build`")
    from vidret.builders.config import version_tag

    version = manifest.get("version")
    if tag != version_tag(version):
        raise PublishError(
            f"tag {tag!r} does not match the build's version {version!r}: use --tag {version_tag(version)} "
            "or rebuild with --version"
        )
    return manifest


def _listed_outputs(manifest: dict) -> dict[str, dict]:
    entries = manifest.get("outputs", {})
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        raise PublishError("manifest.json: 'outputs' must map file paths to their size and sha256; rebuild with `vidret build`")
    return entries


def _listed_videos(manifest: dict) -> dict[str, int]:
    """``{repo path: size}`` of the videos the build placed (``videos.files``; none in older manifests)."""
    videos = manifest.get("videos", {})
    files = videos.get("files", {}) if isinstance(videos, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in files.values()):
        raise PublishError("manifest.json: 'videos.files' must map video paths to their sizes; rebuild with `vidret build`")
    return files


def _check_listed_path(folder: Path, rel: str, allowed_tops: tuple[str, ...]) -> Path:
    """`folder / rel` for a path the manifest lists, refusing anything that is not a plain file inside."""
    parts = rel.split("/")
    folders = ("data", "videos")  # the build's only folders; its other outputs are top-level files
    if (
        not all(is_safe_component(part) for part in parts)
        or parts[0] not in allowed_tops
        or (parts[0] in folders) != (len(parts) > 1)
    ):
        raise PublishError(f"manifest.json lists {rel!r}, which is not a file a vidret build writes; rebuild with `vidret build`")
    path = folder / rel
    if path.is_symlink() or not path.is_file():
        raise PublishError(f"{folder}: manifest.json lists {rel!r} but the folder has no such file; rebuild with `vidret build`")
    return path


def plan_upload(folder: str | Path, manifest: dict, include_videos: bool = False) -> UploadPlan:
    """Decide what to upload from the manifest, after checking each listed file.

    Args:
        folder: the build folder.
        manifest: its parsed ``manifest.json`` (see `check_folder`).
        include_videos: upload the videos the manifest lists (``--include-videos``).

    Returns:
        An `UploadPlan`.

    Raises:
        PublishError: a listed path is not one a build writes (absolute, ``..``, outside the
            build's own files), a listed file is absent or a link, its size or SHA-256 differs
            from the manifest (the folder changed after the build), or `include_videos` is set
            and the build has no videos.
    """
    from vidret.builders.repo import MANAGED_PATHS

    root = Path(folder)
    outputs = _listed_outputs(manifest)
    video_entries = _listed_videos(manifest)
    if manifest.get("kind") == "embeddings":  # `vidret embeddings export`: Parquet, card, embeddings.json
        output_tops = tuple(name for name in FOLDER_KINDS["embeddings"] if name != "manifest.json") + ("data",)
    else:
        output_tops = tuple(name for name in MANAGED_PATHS if name not in ("videos", "manifest.json"))
    for rel, entry in sorted(outputs.items()):
        path = _check_listed_path(root, rel, output_tops)
        size, digest = path.stat().st_size, sha256_file(path)
        if size != entry.get("size") or digest != entry.get("sha256"):
            raise PublishError(
                f"{root}: {rel} differs from manifest.json (size {size} vs {entry.get('size')}, sha256 {digest[:12]}... "
                f"vs {str(entry.get('sha256'))[:12]}...): the folder changed after the build; rebuild with `vidret build`"
            )
    for rel, size in sorted(video_entries.items()):
        path = _check_listed_path(root, rel, ("videos",))
        if path.stat().st_size != size:
            raise PublishError(
                f"{root}: {rel} is {path.stat().st_size} bytes but manifest.json says {size}: "
                "the folder changed after the build; rebuild with `vidret build`"
            )
    if include_videos and not video_entries:
        raise PublishError(
            f"--include-videos: {root} has no videos (manifest.json lists none: built with --videos none, or by an "
            "older vidret); rebuild with --videos copy to publish videos, or publish without --include-videos"
        )
    files = sorted(["manifest.json", *outputs])
    videos = sorted(video_entries) if include_videos else []
    withheld = [] if include_videos else sorted(video_entries)
    planned = set(files) | set(video_entries)
    skipped: list[str] = []
    for entry in sorted(root.iterdir()):
        name = entry.name
        if entry.is_dir() and not entry.is_symlink():
            if any(rel.startswith(name + "/") for rel in planned):
                skipped += [
                    p.relative_to(root).as_posix()
                    for p in sorted(entry.rglob("*"))
                    if not p.is_dir() and p.relative_to(root).as_posix() not in planned
                ]
            else:
                skipped.append(name + "/")
        elif name not in planned:
            skipped.append(name)
    return UploadPlan(files=files, videos=videos, withheld_videos=withheld, skipped=skipped)


def _log_left_out(plan: UploadPlan, benchmark: str | None) -> None:
    """One warning per kind of file left out: videos (and why), then the files the manifest does not list."""
    if plan.withheld_videos:
        why = video_provenance(benchmark)
        logger.warning(
            "%d video(s) not uploaded: %s. Pass --include-videos (include_videos=True) only for videos you have "
            "the right to share; the dataset works without them (users point vidret at their own copies).",
            len(plan.withheld_videos),
            why,
        )
    if plan.skipped:
        shown = ", ".join(plan.skipped[:10]) + (f" and {len(plan.skipped) - 10} more" if len(plan.skipped) > 10 else "")
        logger.warning("%d file(s) not listed in manifest.json, not uploaded: %s", len(plan.skipped), shown)


def video_provenance(benchmark: str | None) -> str:
    """Why a benchmark's videos stay off the Hub unless asked for: its `Licence.videos` (generic
    words for a build of a benchmark this vidret does not know, or one that says nothing)."""
    from vidret.benchmarks import get_benchmark

    fallback = "this benchmark's videos may not be re-hosted"
    if not benchmark:
        return fallback
    try:
        said = get_benchmark(benchmark).licence.videos
    except ValueError:
        return fallback
    return said or fallback


def _folder_kind(folder: Path) -> str:
    """"embeddings" for an export of embeddings, else "dataset" (read from manifest.json's "kind")."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "dataset"  # check_folder names the absent or unreadable manifest
    kind = manifest.get("kind", "dataset") if isinstance(manifest, dict) else "dataset"
    return kind if kind in FOLDER_KINDS else "dataset"


def _video_batches(
    folder: Path, videos: list[str], remote: dict[str, tuple[int, str | None]], batch_bytes: int, batch_files: int
):
    """Lists of the repo paths in `videos` still to upload, in batches; and the number skipped."""
    batches: list[list[str]] = [[]]
    size_in_batch, skipped = 0, 0
    for rel in videos:
        path = folder / rel
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


def _stale_files(api, repo_id: str, files: list[str]) -> list[str]:
    """Repo files of an earlier version to delete: annotation shards and `missing.json` this build lacks."""
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        entries = list(api.list_repo_tree(repo_id, recursive=True, repo_type="dataset"))
    except (EntryNotFoundError, RevisionNotFoundError, RepositoryNotFoundError):
        return []
    keep = set(files)
    return sorted(
        entry.path
        for entry in entries
        if getattr(entry, "size", None) is not None  # files only
        and (entry.path.startswith("data/") or entry.path == "missing.json")
        and entry.path not in keep
    )


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


def _tag_exists(tag: str, repo_id: str) -> PublishError:
    return PublishError(
        f"tag {tag!r} already exists on {repo_id}; published versions are immutable: rebuild with a new --version"
    )


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
    include_videos: bool = False,
) -> PublishResult:
    """Upload what a build made (per its manifest) to the Hub and tag the version.

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
        include_videos: also upload the build's videos. Off by default: the benchmarks'
            videos may not be re-hosted (see `video_provenance`); turn it on only for videos
            you have the right to share.

    Returns:
        A `PublishResult`; what was skipped and why is also logged (warnings).

    Raises:
        PublishError: incomplete build, symbolic links, a file that differs from the manifest,
            `include_videos` on a build without videos, tag/version mismatch, or the tag
            already exists on the Hub (versions are immutable: rebuild with a new version;
            checked before anything is uploaded).
        huggingface_hub.errors.HfHubHTTPError: other Hub errors (authentication, permissions).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    root = Path(folder)
    manifest = check_folder(root, tag)
    if batch_bytes < 1 or batch_files < 1:
        raise ValueError(f"batch_bytes and batch_files must be >= 1, got {batch_bytes} and {batch_files}")
    plan = plan_upload(root, manifest, include_videos)  # checked before anything is sent
    result = PublishResult(repo_id, files=plan.files, skipped=plan.skipped, withheld_videos=len(plan.withheld_videos))
    _log_left_out(plan, manifest.get("benchmark"))
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if not create_pr and any(ref.name == tag for ref in api.list_repo_refs(repo_id, repo_type="dataset").tags):
        raise _tag_exists(tag, repo_id)  # before anything is uploaded

    def final_operations() -> list:
        adds = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=root / rel) for rel in plan.files]
        return adds + [CommitOperationDelete(path_in_repo=rel) for rel in _stale_files(api, repo_id, plan.files)]

    if create_pr:
        operations = final_operations() + [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=root / rel) for rel in plan.videos]
        info = api.create_commit(
            repo_id=repo_id, repo_type="dataset", operations=operations, commit_message=f"vidret build {tag}", create_pr=True
        )
        result.commit, result.pr_url = info.oid, info.pr_url
        result.uploaded = list(plan.videos)
        logger.info("opened %s; create the tag %s on the merge commit after review", info.pr_url, tag)
        return result
    batches, result.skipped_videos = _video_batches(root, plan.videos, _remote_files(api, repo_id) if plan.videos else {}, batch_bytes, batch_files)
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
    # Annotations, card, eval.yaml and manifest in one commit, which also drops the shards of an
    # earlier version (and its missing.json) that this build does not have.
    info = api.create_commit(
        repo_id=repo_id, repo_type="dataset", operations=final_operations(), commit_message=f"vidret build {tag}"
    )
    result.commit = info.oid
    try:
        api.create_tag(repo_id, tag=tag, repo_type="dataset", revision=info.oid, tag_message=f"vidret dataset {tag}")
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status == 409:  # made while this publish was uploading
            raise _tag_exists(tag, repo_id) from err
        raise
    result.tag = tag
    return result

"""What `vidret submit` refuses, found in one pass: every problem of a submission, not the first.

Three kinds of check, each returning problems as sentences that name the field or flag and the fix:

- `identity_problems`: the repo ids, the dataset the results name against `--dataset-id`, the
  revisions and names that become paths, a random-weight model (unless allowed), the oracle
  (always: it reads answers planted in vidret's samples and is no model), results of another model.
- `subset_reasons`: a result that is not the split's score: a `--limit` run (``settings.limit``),
  or one whose tasks scored fewer queries than the split holds (`planned_queries` re-derives the
  split's queries from a local build). `vidret submit` refuses it unless `--allow-subset`, which
  files it labelled as a subset (task ids ``<task>_subset``) so the Hub never counts it as the split's.
- `compare_with_hub`: a local build submitted under `--dataset-id` must be that dataset: its
  ``manifest.json`` (rows per config and split, and the checksums of its data files) is compared
  with the Hub dataset's at the recorded revision before any pull request is opened.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vidret.benchmarks import RELEASE_SPLIT
from vidret.common import is_hub_id
from vidret.evaluation.results.model import ResultsRecord

MANIFEST = "manifest.json"
SUBSET_SUFFIX = "_subset"  # after a subset's task ids and file names: never the split's own
# Revisions and splits become folder and file names in the results repo.
SAFE_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

#: ``fetch(dataset_id, revision) -> manifest``: how the Hub dataset's manifest is read (tests pass their own).
ManifestFetcher = Callable[[str, str], Mapping[str, Any]]


def hub_dataset_id(repo: str) -> str | None:
    """The Hub id of a dataset reference from a results file, or None for a local folder.

    Args:
        repo: `dataset.repo` of a results file: "<org>/<name>", "hf://datasets/<org>/<name>[@rev]",
            or a local path.

    Returns:
        "<org>/<name>", or None when `repo` is a local folder.
    """
    if repo.startswith("hf://datasets/"):
        repo = repo[len("hf://datasets/") :].split("@", 1)[0]
    if not is_hub_id(repo) or Path(repo).exists():
        return None
    return repo


def repo_id_problem(value: str, flag: str) -> str | None:
    """Why `value` is no Hub repo id "<org>/<name>" (naming `flag`), or None."""
    if is_hub_id(value):
        return None
    return f"{flag} must be a Hub repo id '<org>/<name>' (letters, digits, '_', '.', '-'), got {value!r}"


def dataset_id_problem(record: ResultsRecord, dataset_id: str | None) -> str | None:
    """Why the results cannot be filed under a Hub dataset id (see `vidret.hub.submit.resolve_dataset_id`)."""
    repo = record.dataset.repo
    evaluated = hub_dataset_id(repo)
    if dataset_id is not None:
        bad = repo_id_problem(dataset_id, "--dataset-id")
        if bad:
            return bad
        if evaluated is not None and evaluated != dataset_id:
            return f"dataset.repo is {repo!r} but --dataset-id is {dataset_id!r}; they must name the same dataset"
        return None
    if evaluated is None:
        return (
            f"dataset.repo is the local folder {repo!r}; pass --dataset-id <org>/<name> "
            "naming the published benchmark dataset these results correspond to"
        )
    return None


def unsafe_name_problems(record: ResultsRecord) -> list[str]:
    """`model.revision` and `split` become a folder and a file name in the results repo."""
    problems = []
    for field, value in (("model.revision", record.model.revision), ("split", record.split)):
        if value and not SAFE_COMPONENT.match(value):
            problems.append(
                f"{field} is {value!r}; it names a folder or file in the results repo, so it may hold only letters, "
                "digits, '.', '_' and '-' (pin the model by its commit hash)"
            )
    return problems


def identity_problems(
    record: ResultsRecord,
    model_repo: str,
    *,
    results_repo: str | None,
    dataset_id: str | None,
    allow_random_weights: bool,
) -> list[str]:
    """Every problem with who and what the results are about (see the module docstring)."""
    problems = [p for p in (repo_id_problem(model_repo, "--model-repo"),) if p]
    if results_repo is not None:
        problems += [p for p in (repo_id_problem(results_repo, "--results-repo"),) if p]
        problems += unsafe_name_problems(record)
    dataset = dataset_id_problem(record, dataset_id)
    if dataset:
        problems.append(dataset)
    if not record.dataset.exact_revision:
        problems.append("dataset.revision is null; evaluate a published (tagged) dataset revision to submit")
    model = record.model
    if model.adapter == "oracle":  # no flag: it is a test fixture, whatever data it ran on
        problems.append(
            "model.adapter is 'oracle': a check that reads the answers planted in vidret's sample videos, not a "
            "model; its scores never go to the Hub (no flag changes that)"
        )
    elif model.random_weights and not allow_random_weights:
        problems.append(
            "model.random_weights is true: these scores come from a randomly initialised model and must not "
            "reach a leaderboard; pass --allow-random-weights only for a demo or test repo"
        )
    evaluated = hub_dataset_id(model.id)  # a Hub id, or None for a local checkpoint folder
    if evaluated is not None and evaluated != model_repo:
        problems.append(f"model.id is {model.id!r} but --model-repo is {model_repo!r}; submit to the model evaluated")
    return problems


# ---------------------------------------------------------------- subsets


def local_build(record: ResultsRecord) -> Path | None:
    """The local build folder the results were computed on, when it is here (None: a Hub dataset,
    or a folder that is gone)."""
    repo = record.dataset.repo
    if hub_dataset_id(repo) is not None or repo.startswith("hf://"):
        return None
    folder = Path(repo).expanduser()
    return folder if folder.is_dir() else None


def planned_queries(record: ResultsRecord, folder: Path) -> dict[str, int]:
    """How many queries each of the record's tasks has on the whole split of a local build.

    The plan is derived again from the build's rows, without `--limit`, under the record's
    protocol and long-video setting; no video is opened.

    Raises:
        ValueError: the build cannot be planned (the message says why).
    """
    from vidret.evaluation.planning.dataset import load_plan

    long_video = record.settings.get("long_video") or {}
    window = long_video.get("window_s")  # query counts do not depend on it; the plan must only parse
    plan, _ = load_plan(
        record.benchmark,
        str(folder),
        split=record.split,
        tasks=list(record.tasks),
        long_video=f"window:{window}" if long_video.get("segments") == "window" and window else "clips",
        aggregate=long_video.get("aggregate") or "mean",
        allow_external=True,  # nothing is read: the references only have to map
        protocol=record.protocol,
    )
    return {task.task_id: len(task.query_ids) for task in plan.tasks}


def subset_reasons(record: ResultsRecord, planned: Mapping[str, int] | None = None) -> list[str]:
    """Why the results are not the split's score: a `--limit` run, tasks with fewer queries than planned.

    Args:
        record: the results.
        planned: task id -> the split's query count (`planned_queries`), when known.

    Returns:
        One reason per finding, empty for a whole-split result.
    """
    reasons = []
    if record.limit is not None:
        reasons.append(f"settings.limit is {record.limit} (a --limit run: only the first {record.limit} items were scored)")
    whole = planned or {}
    fewer = [
        f"{task_id} {task.num_queries} of {whole[task_id]}"
        for task_id, task in record.tasks.items()
        if task_id in whole and task.num_queries < whole[task_id]
    ]
    if fewer:
        reasons.append(f"the tasks scored fewer queries than split {record.split} holds ({', '.join(fewer)})")
    return reasons


def changed_build_problems(record: ResultsRecord, planned: Mapping[str, int], folder: Path) -> list[str]:
    """Tasks that scored more queries than the local build now holds: it changed since the run."""
    return [
        f"tasks.{task_id}.num_queries is {task.num_queries} but the local build {folder} now has {planned[task_id]} "
        "queries for it: it changed since the evaluation; evaluate it again"
        for task_id, task in record.tasks.items()
        if task_id in planned and task.num_queries > planned[task_id]
    ]


def subset_label(reasons: list[str]) -> str:
    """The words a subset is filed with (notes, pull request)."""
    return "SUBSET, not the split's score: " + "; ".join(reasons)


# ---------------------------------------------------------------- the Hub dataset


def fetch_hub_manifest(
    dataset_id: str, revision: str, *, token: str | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """The ``manifest.json`` of a Hub dataset at `revision`.

    Args:
        dataset_id: "<org>/<name>".
        revision: tag, branch or commit.
        token: Hub token (None: the saved one); never logged.
        timeout: seconds per request (None: ``$VIDRET_HTTP_TIMEOUT``, else 60).

    Raises:
        huggingface_hub.errors.HfHubHTTPError, httpx2.TransportError, OfflineModeIsEnabled: the
            Hub could not be asked or refused (`vidret.hub_errors.is_hub_failure`).
        ValueError: the file is not a JSON object.
    """
    from huggingface_hub import constants, hf_hub_url
    from huggingface_hub.errors import OfflineModeIsEnabled
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    from vidret.video.source import check_timeout

    if constants.HF_HUB_OFFLINE:
        raise OfflineModeIsEnabled("HF_HUB_OFFLINE is set")
    url = hf_hub_url(dataset_id, MANIFEST, repo_type="dataset", revision=revision)
    headers = build_hf_headers(token=token)
    response = get_session().get(url, headers=headers, timeout=check_timeout(timeout), follow_redirects=True)
    hf_raise_for_status(response)
    try:
        manifest = json.loads(response.content)
    except ValueError as err:
        raise ValueError(f"{dataset_id}@{revision}: {MANIFEST} is not JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{dataset_id}@{revision}: {MANIFEST} is not a JSON object")
    return manifest


def data_fingerprint(manifest: Mapping[str, Any]) -> str | None:
    """A checksum of a build's data files: sha256 of the sorted lines "<path> <sha256>" of the
    manifest's ``outputs`` under ``data/`` (the card and eval.yaml may name the repo; the data do not)."""
    outputs = manifest.get("outputs")
    if not isinstance(outputs, Mapping):
        return None
    lines = sorted(
        f"{path} {entry.get('sha256')}"
        for path, entry in outputs.items()
        if str(path).startswith("data/") and isinstance(entry, Mapping)
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest() if lines else None


def row_counts(manifest: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``{config: {split: rows}}`` of a build's manifest (``report.num_rows``)."""
    report = manifest.get("report")
    rows = report.get("num_rows") if isinstance(report, Mapping) else None
    return {str(c): dict(s) for c, s in rows.items() if isinstance(s, Mapping)} if isinstance(rows, Mapping) else {}


def describe_build(manifest: Mapping[str, Any]) -> str:
    """"rows videos/test 3, clips/test 11; data sha256 1c80aea058a6…" for messages."""
    counts = row_counts(manifest)
    rows = ", ".join(f"{config}/{split} {n}" for config, splits in counts.items() for split, n in splits.items())
    fingerprint = data_fingerprint(manifest)
    return f"rows {rows or 'not recorded'}; data sha256 {fingerprint[:12] + '…' if fingerprint else 'not recorded'}"


def manifest_differences(local: Mapping[str, Any], hub: Mapping[str, Any], split: str) -> list[str]:
    """What differs between two builds' manifests, in words ("" when they are the same data)."""
    found = []
    if local.get("benchmark") != hub.get("benchmark"):
        found.append(f"benchmark {local.get('benchmark')!r} here, {hub.get('benchmark')!r} on the Hub")
    mine, theirs = row_counts(local), row_counts(hub)
    for config in dict.fromkeys([*mine, *theirs]):
        for part in dict.fromkeys([*mine.get(config, {}), *theirs.get(config, {})]):
            a, b = mine.get(config, {}).get(part), theirs.get(config, {}).get(part)
            if a == b:
                continue
            fewer = part == split and a is not None and b is not None and a < b
            found.append(
                f"{config}/{part}: {'no' if a is None else a} rows here, {'no' if b is None else b} on the Hub"
                + (" (a subset of the split scored)" if fewer else "")
            )
    here, there = data_fingerprint(local), data_fingerprint(hub)
    if not found and here != there:
        found.append(f"the data files differ (sha256 {str(here)[:12]}… here, {str(there)[:12]}… on the Hub)")
    return found


def compare_with_hub(
    record: ResultsRecord, dataset_id: str, fetch: ManifestFetcher
) -> tuple[list[str], list[str]]:
    """Compare the local build the results name with the Hub dataset at the recorded revision.

    Args:
        record: results of a run on a local build (`dataset.repo` a folder).
        dataset_id: `--dataset-id`.
        fetch: reads the Hub dataset's manifest (`fetch_hub_manifest`).

    Returns:
        (problems, checks passed), each a list of sentences naming both sides.
    """
    from vidret.hub_errors import describe_hub_failure, hub_failure_advice, is_hub_failure

    revision = record.dataset.revision
    if not revision:
        return [], []  # refused already: a dataset revision is required
    hub = f"{dataset_id}@{revision}"
    folder = local_build(record)
    if folder is None or not (folder / MANIFEST).is_file():
        return [
            f"dataset.repo is the local build {record.dataset.repo!r}, which is not here (no {MANIFEST}), so it "
            f"cannot be compared with {hub}: run vidret submit where the build is"
        ], []
    try:
        local = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(local, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as err:
        return [f"{folder / MANIFEST}: cannot be read ({err}); rebuild it with `vidret build`"], []
    try:
        remote = fetch(dataset_id, revision)
    except Exception as err:  # noqa: BLE001 - a Hub failure or a bad file: one line, nothing opened
        if is_hub_failure(err):
            advice = hub_failure_advice(err, "run the same command again")
            reason = describe_hub_failure(err) + (f". {advice}" if advice else "")
        elif isinstance(err, ValueError):
            reason = str(err)
        else:
            raise
        return [f"--dataset-id {dataset_id}: cannot compare the local build {folder} with {hub}: {reason}"], []
    differences = manifest_differences(local, remote, record.split)
    if differences:
        return [
            f"dataset.repo: the local build {folder} ({describe_build(local)}) is not {hub} ({describe_build(remote)}): "
            f"{'; '.join(differences)}. Submit results of {hub} itself (evaluate --data {dataset_id} --revision {revision}) "
            "or of a build of the same release by the same vidret version"
        ], []
    return [], [f"the local build {folder} is {hub}: same rows and data files ({describe_build(local)})"]


def local_subset_check(record: ResultsRecord) -> tuple[dict[str, int] | None, list[str], list[str]]:
    """The split's query counts from the local build the results name (when it is here).

    Returns:
        (task id -> queries of the whole split or None, problems, notes).
    """
    folder = local_build(record)
    if folder is None or record.split == RELEASE_SPLIT:  # a release-wide run: the split asked is not recorded
        return None, [], []
    try:
        planned = planned_queries(record, folder)
    except Exception as err:  # noqa: BLE001 - a supplementary check: say why it was skipped, refuse nothing
        return None, [], [f"the split's query counts could not be derived from {folder} ({type(err).__name__}: {err})"]
    return planned, changed_build_problems(record, planned, folder), []

"""Submit validated results to the Hub: `.eval_results/` on the model repo, full JSON to a results repo.

The model repo gets the Hub's current evaluation-results format, one YAML file per benchmark
(`.eval_results/<benchmark>.yaml`), built with huggingface_hub's `EvalResultEntry` and
`eval_result_entries_to_yaml`: one entry per scored task, whose `task_id` is the task id from
`vidret.benchmarks` (the ids the builders declare in the dataset's `eval.yaml`) and whose value is
the task's headline score. Results of the official protocol go to their own file
(`<benchmark>_official.yaml`) under their own task ids (``t2v_official``), so the Hub never mixes
them with ours. Optionally, the whole results JSON goes to a results dataset repo under
`results/<org>__<model>/<revision>/<benchmark>.json` (keyed by model and revision, as mteb does),
which feeds `vidret leaderboard`. Both are opened as pull requests, never pushed to main.

Local paths never leave the machine. A results file of a run on a local build or a local
checkpoint names folders (`dataset.repo`, `model.id`, `cache.dir`, failed videos' sources and the
reasons quoting them) that would become public in the results repo. So the uploaded JSON is a
copy where `dataset.repo` is the benchmark's Hub id (`--dataset-id` when the run read a local
folder; a run without either is refused), a local `model.id` is the `--model-repo` it is
submitted to, `cache.dir` is null, and every other local path is cut to `<local>/<file name>`:
first by structure (the paths the record itself names in `dataset.repo`, `model.id`,
`cache.dir`, `failures[].source` and `embeddings.<side>.path/model/dataset` are replaced wherever
they occur, whatever characters their folders hold), then any other absolute, home-relative, Windows or ``file://`` path in a string:
it runs to its last separator before the end of the line, a quote or a ``": "``-style break, so
folder names with spaces or parentheses go with it (erring toward cutting too much text, never
too little). URLs with another scheme (``hf://``, ``https://``) are kept. The pull request's
description lists the fields that were changed.

Nothing here prints or stores the token: it is passed to huggingface_hub and nowhere else.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidret.benchmarks import RELEASE_SPLIT, ProtocolSpec, get_benchmark
from vidret.evaluation.results.record import results_json
from vidret.evaluation.results.validation import validate_results
from vidret.terminal import printable

logger = logging.getLogger(__name__)

NO_REVISION = "no_revision_available"  # mteb's folder name for results without a model revision
LOCAL = "<local>"  # what a local folder becomes in uploaded text

# Where a local path starts inside free text: a URL scheme (checked first, so "hf://..." and
# "https://..." are skipped whole; "file://" is a local path), a Windows drive or UNC root
# (``\\\\nas\\`` or ``//nas/``), "~/",
# "~user/" or a POSIX "/". A root right after a word character, ">", "/", ".", "~", "\" or "-" is
# not a path start: "t2v/R@1", "org/name", "3/4" and an already redacted "<local>/x.mp4" stay.
_PATH_START = re.compile(
    r"(?P<url>\b[A-Za-z][A-Za-z0-9+.-]*://)"
    r"|(?<![\w>/.~\\-])(?P<root>[A-Za-z]:[\\/]|\\\\(?=\w)|//(?=\w)|~[\w.-]*[/\\]|/(?=[^\s/]))"
)
_URL_END = re.compile(r"[\s'\"<>]|$")
# What ends an unquoted path's folders: a line break, a quote, a pipe or angle bracket, or a
# ":", ";" or "," followed by a space (how messages separate a path from what follows).
_PATH_STOP = re.compile(r"[\n\r\t'\"<>|]|[:;,]\s")
_SEPARATORS = re.compile(r"[/\\]")
# The file name after the last separator: kept, up to a space, a bracket or punctuation.
_FILE_NAME = re.compile(r"[^\s()\[\]{}'\"<>|,;:]*")
# Revisions and splits become folder and file names in the results repo.
_SAFE_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SubmissionError(ValueError):
    """Results that must not be submitted as they are; the message names the field and the fix."""


@dataclass(frozen=True)
class Upload:
    """One file to add to one Hub repo through a pull request.

    Attributes:
        repo_id: target repo, "<org>/<name>".
        repo_type: "model" or "dataset".
        path_in_repo: where the file goes.
        content: the file's bytes.
        commit_message: title of the pull request.
        commit_description: body of the pull request.
    """

    repo_id: str
    repo_type: str
    path_in_repo: str
    content: bytes
    commit_message: str
    commit_description: str


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
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts) or repo.startswith((".", "~")) or Path(repo).exists():
        return None
    return repo


def resolve_dataset_id(results: dict[str, Any], dataset_id: str | None = None) -> str:
    """The Hub id of the benchmark dataset the results were computed on.

    Args:
        results: valid results.
        dataset_id: `--dataset-id`: the published dataset a local build corresponds to.

    Returns:
        `dataset_id` when given, else `dataset.repo` as a Hub id.

    Raises:
        SubmissionError: when `dataset_id` is not "<org>/<name>", when `dataset.repo` is a Hub id
            other than `dataset_id`, or when it is a local folder and no `dataset_id` is given.
    """
    repo = results["dataset"]["repo"]
    evaluated = hub_dataset_id(repo)
    if dataset_id is not None:
        _check_repo_id(dataset_id, "--dataset-id")
        if evaluated is not None and evaluated != dataset_id:
            raise SubmissionError(f"dataset.repo is {repo!r} but --dataset-id is {dataset_id!r}; they must name the same dataset")
        return dataset_id
    if evaluated is None:
        raise SubmissionError(
            f"dataset.repo is the local folder {repo!r}; pass --dataset-id <org>/<name> "
            "naming the published benchmark dataset these results correspond to"
        )
    return evaluated


def _local_name(path: str) -> str:
    """``<local>/<last component>`` of a local path (``<local>`` alone when it has none)."""
    parts = [p for p in _SEPARATORS.split(path) if p and p not in ("file:", "~")]
    return f"{LOCAL}/{parts[-1]}" if parts else LOCAL


def redact_paths(text: str, known: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every local path cut to ``<local>/<file name>``.

    Args:
        text: free text (an error message, a field value).
        known: local paths to replace wherever they occur, first and longest first (the paths
            a results record names itself: their folders may hold any character).

    Returns:
        The text; URLs other than ``file://`` and relative ids such as ``org/name`` are kept.
    """
    for path in sorted(known, key=len, reverse=True):
        if path in text:
            text = text.replace(path, _local_name(path))
    out: list[str] = []
    done = search_from = 0
    while (match := _PATH_START.search(text, search_from)) is not None:
        start = match.start()
        if match.group("url") and match.group("url").lower() != "file://":
            search_from = max(_URL_END.search(text, match.end()).start(), match.end())
            continue
        quote = text[start - 1] if start and text[start - 1] in "'\"" else None
        if quote:  # a quoted path runs to its closing quote, spaces and punctuation included
            ends = [i for i in (text.find(quote, match.end()), text.find("\n", match.end())) if i >= 0]
            stop = min(ends, default=len(text))
        else:
            found = _PATH_STOP.search(text, match.end())
            stop = found.start() if found else len(text)
        last_separator = max(text.rfind("/", start, stop), text.rfind("\\", start, stop))
        name = _FILE_NAME.match(text, last_separator + 1, stop).group(0)
        end = last_separator + 1 + len(name)
        out += [text[done:start], _local_name(text[start:end])]
        done = search_from = end
    return "".join(out) + text[done:]


def _known_local_paths(results: dict[str, Any]) -> list[str]:
    """The local paths a record names in its path fields (the roots of what its texts quote)."""
    candidates = [results["dataset"]["repo"], results["model"]["id"]]
    if isinstance(results.get("cache"), dict):
        candidates.append(results["cache"].get("dir"))
    for failure in results.get("failures", []):
        if isinstance(failure, dict):
            candidates.append(failure.get("source"))
    sides = results.get("embeddings")  # where each side's embeddings came from: folders, model ids
    for side in sides.values() if isinstance(sides, dict) else ():
        if isinstance(side, dict):
            candidates += [side.get("path"), side.get("model"), side.get("dataset")]
    known = []
    for value in candidates:
        if not isinstance(value, str) or ("://" in value and not value.lower().startswith("file://")):
            continue  # a URL or an hf:// path: public by nature
        if hub_dataset_id(value) is not None:
            continue  # "<org>/<name>": a Hub id, not a folder
        value = value.rstrip("/\\")
        if _SEPARATORS.search(value):  # a bare name would replace every word like it
            known.append(value)
    return known


def _redact_strings(node: Any, path: str, changed: list[str], known: list[str]) -> Any:
    if isinstance(node, dict):
        return {
            key: _redact_strings(value, f"{path}.{key}" if path else str(key), changed, known)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_redact_strings(value, f"{path}.{i}", changed, known) for i, value in enumerate(node)]
    if isinstance(node, str):
        redacted = redact_paths(node, known)
        if redacted != node:
            changed.append(path)
        return redacted
    return node


def publishable_results(
    results: dict[str, Any], model_repo: str, dataset_id: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """A copy of valid results that names no local path, for a public results repo.

    `dataset.repo` becomes the benchmark's Hub id, a local `model.id` becomes `model_repo`,
    `cache.dir` becomes null, and any other local path inside a string is cut to
    `<local>/<file name>` (e.g. a failed video's source, or an error message quoting it).

    Args:
        results: valid results.
        model_repo: the model repo the results are submitted to.
        dataset_id: see `resolve_dataset_id`.

    Returns:
        (the copy, dotted paths of the fields that were changed).

    Raises:
        SubmissionError: see `resolve_dataset_id`.
    """
    public = copy.deepcopy(results)
    changed: list[str] = []
    known = _known_local_paths(results)
    hub_id = resolve_dataset_id(results, dataset_id)
    if public["dataset"]["repo"] != hub_id:
        public["dataset"]["repo"] = hub_id
        changed.append("dataset.repo")
    if hub_dataset_id(public["model"]["id"]) is None:  # a local checkpoint folder
        public["model"]["id"] = model_repo
        changed.append("model.id")
    if isinstance(public.get("cache"), dict) and public["cache"].get("dir") is not None:
        public["cache"]["dir"] = None
        changed.append("cache.dir")
    return _redact_strings(public, "", changed, known), changed


def _protocol(results: dict[str, Any]) -> ProtocolSpec:
    return get_benchmark(results["benchmark"]).protocol(results["settings"].get("protocol"))


def _variant(results: dict[str, Any]) -> str:
    # The test split is the leaderboard (a protocol that reads the whole release records its
    # split as RELEASE_SPLIT); another split gets its own file so it never mixes in. Each
    # protocol gets its own file too: official scores never land in ours.
    split = results["split"]
    name = results["benchmark"] + _protocol(results).hub_suffix
    return name if split in ("test", RELEASE_SPLIT) else f"{name}_{split}"


def _setup_notes(results: dict[str, Any]) -> str:
    model, settings = results["model"], results["settings"]
    notes = [
        f"vidret; protocol={_protocol(results).name}; split={results['split']}",
        f"adapter={model['adapter']}",
        f"frames={settings['frames']}",
    ]
    if settings.get("resolution"):
        notes.append("resolution={}x{}".format(*settings["resolution"]))
    if settings.get("fusion"):
        notes.append(f"fusion={settings['fusion']}")
    if results["num_failed"]:
        notes.append(f"failed_items={results['num_failed']}")
    return ", ".join(notes)


def eval_result_entries(results: dict[str, Any], dataset_id: str | None = None) -> list[Any]:
    """The `.eval_results` entries of valid results: one per scored task, valued by its headline score.

    Args:
        results: valid results (see `vidret.evaluation.results.validation`).
        dataset_id: Hub id of the benchmark dataset; defaults to `dataset.repo` when that is a Hub id.

    Returns:
        A list of `huggingface_hub.EvalResultEntry`.

    Raises:
        SubmissionError: see `resolve_dataset_id`; also when `dataset.revision` is null (a
            leaderboard score must say which data it was computed on).
    """
    from huggingface_hub import EvalResultEntry

    dataset_id = resolve_dataset_id(results, dataset_id)
    # The Hub wants the dataset's git commit; a run that recorded it says which data exactly.
    revision = results["dataset"].get("commit") or results["dataset"]["revision"]
    if not revision:
        raise SubmissionError("dataset.revision is null; evaluate a published (tagged) dataset revision to submit")
    notes = _setup_notes(results)
    protocol = _protocol(results)
    entries = []
    for task_id, task in results["tasks"].items():
        entries.append(
            EvalResultEntry(
                dataset_id=dataset_id,
                task_id=protocol.hub_task_id(task_id),
                value=round(float(task["metrics"][task["main_score"]]), 4),
                dataset_revision=revision,
                date=results["created_at"],
                notes=notes,
            )
        )
    return entries


def eval_results_yaml(results: dict[str, Any], dataset_id: str | None = None) -> str:
    """The text of `.eval_results/<benchmark>.yaml` for valid results.

    Args:
        results: valid results.
        dataset_id: see `eval_result_entries`.

    Returns:
        YAML, as huggingface_hub's `eval_result_entries_to_yaml` lays the entries out.

    Raises:
        SubmissionError: see `eval_result_entries`.
    """
    import yaml
    from huggingface_hub import eval_result_entries_to_yaml

    entries = eval_result_entries(results, dataset_id)
    return yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False, allow_unicode=True)


def results_repo_path(results: dict[str, Any], model_repo: str) -> str:
    """Where the full results JSON goes in a results repo: results/<org>__<model>/<revision>/<benchmark>.json.

    Args:
        results: valid results.
        model_repo: the model's Hub id, "<org>/<name>".

    Returns:
        The path inside the results dataset repo.

    Raises:
        SubmissionError: when `model.revision` or `split` is not one safe file name (they become
            a folder and a file name in the repo).
    """
    revision = results["model"].get("revision")
    if not revision:
        logger.warning("model.revision is null: filing the results under %r", NO_REVISION)
    for field, value in (("model.revision", revision), ("split", results["split"])):
        if value and not _SAFE_COMPONENT.match(value):
            raise SubmissionError(
                f"{field} is {value!r}; it names a folder or file in the results repo, so it may hold only letters, "
                "digits, '.', '_' and '-' (pin the model by its commit hash)"
            )
    return f"results/{model_repo.replace('/', '__')}/{revision or NO_REVISION}/{_variant(results)}.json"


def _check_repo_id(value: str, flag: str) -> None:
    parts = value.split("/")
    if len(parts) != 2 or not all(parts):
        raise SubmissionError(f"{flag} must be '<org>/<name>', got {value!r}")


def plan_submission(
    results: dict[str, Any],
    model_repo: str,
    *,
    results_repo: str | None = None,
    dataset_id: str | None = None,
    allow_random_weights: bool = False,
    allow_partial: bool = False,
) -> list[Upload]:
    """Validate results and describe every file a submission would upload.

    Args:
        results: parsed results JSON.
        model_repo: the model repo that gets `.eval_results/<benchmark>.yaml`.
        results_repo: a results dataset repo that also gets the full JSON (optional).
        dataset_id: Hub id of the benchmark dataset when `dataset.repo` is a local folder.
        allow_random_weights: accept results of a random-weight model or of the oracle (demos and tests only).
        allow_partial: accept results scoring only some default tasks.

    Returns:
        The uploads, model repo first.

    Raises:
        ResultsValidationError: when the results are invalid.
        SubmissionError: for a random-weight model or the oracle without `allow_random_weights`, a malformed
            repo id, a model id that is another Hub model, or a local dataset without `dataset_id`.
    """
    _check_repo_id(model_repo, "--model-repo")
    if results_repo is not None:
        _check_repo_id(results_repo, "--results-repo")
    validate_results(results, require_all_tasks=not allow_partial)
    model = results["model"]
    if model.get("random_weights") and not allow_random_weights:
        raise SubmissionError(
            "model.random_weights is true: these scores come from a randomly initialised model and must not "
            "reach a leaderboard; pass --allow-random-weights only for a demo or test repo"
        )
    if model["adapter"] == "oracle" and not allow_random_weights:
        raise SubmissionError(
            "model.adapter is 'oracle': a test fixture that reads the sample videos' frame codes, not a model; "
            "its scores must not reach a leaderboard; pass --allow-random-weights only for a demo or test repo"
        )
    evaluated = hub_dataset_id(model["id"])  # a Hub id, or None for a local checkpoint folder
    if evaluated is not None and evaluated != model_repo:
        raise SubmissionError(f"model.id is {model['id']!r} but --model-repo is {model_repo!r}; submit to the model evaluated")

    spec = get_benchmark(results["benchmark"])
    revision = model.get("revision") or "unpinned revision"
    protocol = _protocol(results)
    title = f"Add {spec.title.split(':')[0]} evaluation results (vidret, {protocol.name} protocol)"
    body = (
        f"Scores of `{model_repo}` ({revision}) on {spec.title}, split `{results['split']}`, "
        f"{protocol.name} protocol ({protocol.summary}), computed with vidret "
        f"{results['versions'].get('vidret', '')}.\n\nSetup: {_setup_notes(results)}."
    )
    uploads = [
        Upload(
            repo_id=model_repo,
            repo_type="model",
            path_in_repo=f".eval_results/{_variant(results)}.yaml",
            content=eval_results_yaml(results, dataset_id).encode("utf-8"),
            commit_message=title,
            commit_description=body + "\n\nFormat: https://huggingface.co/docs/hub/eval-results",
        )
    ]
    if results_repo is not None:
        public, changed = publishable_results(results, model_repo, dataset_id)
        if changed:
            body += f"\n\nLocal paths removed from: {', '.join(changed)}."
        uploads.append(
            Upload(
                repo_id=results_repo,
                repo_type="dataset",
                path_in_repo=results_repo_path(results, model_repo),
                content=results_json(public, ensure_ascii=False).encode("utf-8"),
                commit_message=f"Add results of {model_repo} on {results['benchmark']}",
                commit_description=body,
            )
        )
    return uploads


def format_plan(uploads: list[Upload]) -> str:
    """A dry-run description: each pull request's target repo, title, description, file path and exact contents.

    Args:
        uploads: from `plan_submission`.

    Returns:
        The text to print.
    """
    blocks = []
    for upload in uploads:
        description = "\n".join(f"    {line}".rstrip() for line in upload.commit_description.splitlines())
        blocks.append(
            f"--- pull request on {upload.repo_type} repo {upload.repo_id}: {upload.commit_message}\n{description}\n"
            f"+++ {upload.path_in_repo} ({len(upload.content)} bytes)\n{upload.content.decode('utf-8').rstrip()}\n"
        )
    # The contents quote the results file: its control characters are shown, never sent to the terminal.
    return printable("\n".join(blocks), keep_newlines=True)


def submit(uploads: list[Upload], *, token: str | None = None, endpoint: str | None = None) -> list[str]:
    """Open one pull request per upload.

    Args:
        uploads: from `plan_submission`.
        token: Hub token; None uses the locally saved one. Never logged.
        endpoint: Hub endpoint; None uses huggingface_hub's default (HF_ENDPOINT).

    Returns:
        The pull request URLs, in the order of `uploads`.

    Raises:
        huggingface_hub.errors.HfHubHTTPError: when the Hub refuses a request (e.g. no write access).
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=endpoint, token=token)
    urls = []
    for upload in uploads:
        info = api.create_commit(
            repo_id=upload.repo_id,
            repo_type=upload.repo_type,
            operations=[CommitOperationAdd(path_in_repo=upload.path_in_repo, path_or_fileobj=upload.content)],
            commit_message=upload.commit_message,
            commit_description=upload.commit_description,
            create_pr=True,
        )
        logger.info("opened %s", info.pr_url)
        urls.append(info.pr_url)
    return urls

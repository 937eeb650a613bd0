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
description lists the fields that were changed. The cutting is `vidret.common.redact`, with the
record's paths from `vidret.evaluation.results.provenance.record_local_paths`: `vidret embeddings
export` publishes through the same two, so both give the same text.

`prepare_submission` finds every problem in one pass (`vidret.hub.submit_checks`: identities,
the oracle and random weights, subsets, a local build compared with the Hub dataset's manifest)
and plans the uploads it can; `plan_submission` raises when there is any. A subset (a `--limit`
run, or fewer queries than the split) is refused unless `allow_subset`, which files it labelled:
task ids and file names end in ``_subset`` and its notes say "SUBSET, not the split's score". The
words (notes, pull request texts, the dry run's summary) are in `vidret.hub.submit_text`.

Nothing here prints or stores the token: it is passed to huggingface_hub and nowhere else.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from vidret.benchmarks import RELEASE_SPLIT
from vidret.common import redact_tree
from vidret.evaluation.results.model import ResultsRecord, as_record
from vidret.evaluation.results.provenance import record_local_paths
from vidret.evaluation.results.record import results_json
from vidret.evaluation.results.schema import Problem, ResultsValidationError
from vidret.evaluation.results.validation import check_results
from vidret.hub import submit_text
from vidret.hub.submit_checks import (
    SUBSET_SUFFIX,
    ManifestFetcher,
    compare_with_hub,
    dataset_id_problem,
    fetch_hub_manifest,
    hub_dataset_id,
    identity_problems,
    local_subset_check,
    repo_id_problem,
    subset_label,
    subset_reasons,
    unsafe_name_problems,
)
from vidret.hub.submit_text import format_plan, format_problems, format_summary

__all__ = [
    "NO_REVISION",
    "SubmissionError",
    "SubmissionPlan",
    "Upload",
    "eval_result_entries",
    "eval_results_yaml",
    "format_plan",
    "format_problems",
    "format_summary",
    "hub_dataset_id",
    "plan_submission",
    "prepare_submission",
    "publishable_results",
    "resolve_dataset_id",
    "results_repo_path",
    "submit",
]

logger = logging.getLogger(__name__)

NO_REVISION = "no_revision_available"  # mteb's folder name for results without a model revision


class SubmissionError(ValueError):
    """Results that must not be submitted as they are; `problems` lists every one, each naming the
    field or flag and the fix."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            super().__init__(self.problems[0])
        else:
            super().__init__(f"{len(self.problems)} problems:\n" + "\n".join(f"  - {p}" for p in self.problems))


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


@dataclass
class SubmissionPlan:
    """Everything a submission would do, and everything that stops it.

    Attributes:
        record: the results.
        uploads: the pull requests that could be prepared, model repo first (some may be missing
            when a problem prevents them).
        problems: why it must not be submitted as it is (each names the field or flag and the fix).
        invalid: validation problems of the results (`vidret validate`'s).
        rewritten: fields of the results-repo JSON changed (local paths removed, the subset label).
        checks: what was verified and passed (e.g. the local build is the Hub dataset).
        notes: what could not be checked, and why.
        subset: the label the results are filed with when they are a subset (None: the split's score).
    """

    record: ResultsRecord
    uploads: list[Upload] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    invalid: list[Problem] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    subset: str | None = None

    @property
    def refused(self) -> bool:
        """Whether anything stops the submission."""
        return bool(self.problems or self.invalid)


def resolve_dataset_id(results: ResultsRecord | dict[str, Any], dataset_id: str | None = None) -> str:
    """The Hub id of the benchmark dataset the results were computed on.

    Args:
        results: a valid record (or its JSON object).
        dataset_id: `--dataset-id`: the published dataset a local build corresponds to.

    Returns:
        `dataset_id` when given, else `dataset.repo` as a Hub id.

    Raises:
        SubmissionError: when `dataset_id` is not "<org>/<name>", when `dataset.repo` is a Hub id
            other than `dataset_id`, or when it is a local folder and no `dataset_id` is given.
    """
    record = as_record(results)
    problem = dataset_id_problem(record, dataset_id)
    if problem:
        raise SubmissionError(problem)
    return dataset_id if dataset_id is not None else hub_dataset_id(record.dataset.repo)  # type: ignore[return-value]


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
    known = record_local_paths(results)
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
    return redact_tree(public, known, changed), changed


def _variant(record: ResultsRecord, subset: bool = False) -> str:
    # The test split is the leaderboard (a protocol that reads the whole release records its
    # split as RELEASE_SPLIT); another split gets its own file so it never mixes in. Each
    # protocol gets its own file too: official scores never land in ours; nor a subset's.
    name = record.benchmark + record.protocol_spec.hub_suffix
    name = name if record.split in ("test", RELEASE_SPLIT) else f"{name}_{record.split}"
    return name + (SUBSET_SUFFIX if subset else "")


def _hub_task_ids(record: ResultsRecord, subset: bool) -> dict[str, str]:
    protocol = record.protocol_spec
    return {task_id: protocol.hub_task_id(task_id) + (SUBSET_SUFFIX if subset else "") for task_id in record.tasks}


def eval_result_entries(
    results: ResultsRecord | dict[str, Any], dataset_id: str | None = None, *, subset: str | None = None
) -> list[Any]:
    """The `.eval_results` entries of valid results: one per scored task, valued by its headline score.

    Args:
        results: a valid record (see `vidret.evaluation.results.validation.load_record`), or its
            JSON object.
        dataset_id: Hub id of the benchmark dataset; defaults to `dataset.repo` when that is a Hub id.
        subset: `vidret.hub.submit_checks.subset_label` to file a subset: its task ids end in
            ``_subset`` (the dataset declares none such, so the Hub never counts it as the split's
            score) and its notes begin with the label.

    Returns:
        A list of `huggingface_hub.EvalResultEntry`; each one's notes give the setup, the task's
        queries and gallery size, and where the embeddings came from.

    Raises:
        SubmissionError: see `resolve_dataset_id`; also when `dataset.revision` is null (a
            leaderboard score must say which data it was computed on).
    """
    from huggingface_hub import EvalResultEntry

    record = as_record(results)
    dataset_id = resolve_dataset_id(record, dataset_id)
    # The Hub wants the dataset's git commit; a run that recorded it says which data exactly.
    revision = record.dataset.exact_revision
    if not revision:
        raise SubmissionError("dataset.revision is null; evaluate a published (tagged) dataset revision to submit")
    task_ids = _hub_task_ids(record, subset is not None)
    return [
        EvalResultEntry(
            dataset_id=dataset_id,
            task_id=task_ids[task_id],
            value=round(float(task.headline), 4),
            dataset_revision=revision,
            date=record.created_at,
            notes=submit_text.entry_notes(record, task_id, subset),
        )
        for task_id, task in record.tasks.items()
    ]


def eval_results_yaml(
    results: ResultsRecord | dict[str, Any], dataset_id: str | None = None, *, subset: str | None = None
) -> str:
    """The text of `.eval_results/<benchmark>.yaml` for valid results.

    Args:
        results: a valid record, or its JSON object.
        dataset_id: see `eval_result_entries`.
        subset: see `eval_result_entries`.

    Returns:
        YAML, as huggingface_hub's `eval_result_entries_to_yaml` lays the entries out.

    Raises:
        SubmissionError: see `eval_result_entries`.
    """
    import yaml
    from huggingface_hub import eval_result_entries_to_yaml

    entries = eval_result_entries(results, dataset_id, subset=subset)
    return yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False, allow_unicode=True)


def results_repo_path(results: ResultsRecord | dict[str, Any], model_repo: str, *, subset: bool = False) -> str:
    """Where the full results JSON goes in a results repo: results/<org>__<model>/<revision>/<benchmark>.json.

    Args:
        results: a valid record, or its JSON object.
        model_repo: the model's Hub id, "<org>/<name>".
        subset: a subset's file name ends in ``_subset`` (it never replaces the split's).

    Returns:
        The path inside the results dataset repo.

    Raises:
        SubmissionError: when `model.revision` or `split` is not one safe file name (they become
            a folder and a file name in the repo).
    """
    record = as_record(results)
    revision = record.model.revision
    if not revision:
        logger.warning("model.revision is null: filing the results under %r", NO_REVISION)
    problems = unsafe_name_problems(record)
    if problems:
        raise SubmissionError(problems)
    return f"results/{model_repo.replace('/', '__')}/{revision or NO_REVISION}/{_variant(record, subset)}.json"


def _uploads(
    plan: SubmissionPlan, raw: dict[str, Any], model_repo: str, results_repo: str | None, dataset_id: str | None
) -> None:
    """Plan the uploads into `plan` (each one a problem already found stops is left out)."""
    record, subset = plan.record, plan.subset
    try:
        hub_id = resolve_dataset_id(record, dataset_id)
        path = f".eval_results/{_variant(record, subset is not None)}.yaml"
        task_ids = _hub_task_ids(record, subset is not None)
        plan.uploads.append(
            Upload(
                repo_id=model_repo,
                repo_type="model",
                path_in_repo=path,
                content=eval_results_yaml(record, dataset_id, subset=subset).encode("utf-8"),
                commit_message=submit_text.title(record, subset),
                commit_description=submit_text.model_body(record, model_repo, hub_id, path, task_ids, subset),
            )
        )
        if results_repo is None:
            return
        public, changed = publishable_results(raw, model_repo, dataset_id)
        if subset is not None:  # the leaderboard marks it (`RowFlag.SUBSET`)
            public["settings"]["subset"] = subset
        plan.rewritten = changed + (["settings.subset"] if subset is not None else [])
        path = results_repo_path(record, model_repo, subset=subset is not None)
        plan.uploads.append(
            Upload(
                repo_id=results_repo,
                repo_type="dataset",
                path_in_repo=path,
                content=results_json(public, ensure_ascii=False).encode("utf-8"),
                commit_message=f"Add {'subset ' if subset else ''}results of {model_repo} on {record.benchmark}",
                commit_description=submit_text.results_body(record, model_repo, path, changed, subset),
            )
        )
    except SubmissionError as err:  # listed among the problems already; keep any new one
        plan.problems += [p for p in err.problems if p not in plan.problems]


def prepare_submission(
    results: ResultsRecord | dict[str, Any],
    model_repo: str,
    *,
    results_repo: str | None = None,
    dataset_id: str | None = None,
    allow_random_weights: bool = False,
    allow_partial: bool = False,
    allow_subset: bool = False,
    fetch_manifest: ManifestFetcher | None = None,
    token: str | None = None,
    source: str | None = None,
) -> SubmissionPlan:
    """Check results for submission, finding every problem at once, and plan the uploads.

    Args:
        results: the record (or its parsed JSON object).
        model_repo: the model repo that gets `.eval_results/<benchmark>.yaml`.
        results_repo: a results dataset repo that also gets the full JSON (optional).
        dataset_id: Hub id of the benchmark dataset when `dataset.repo` is a local folder; that
            build is then compared with the Hub dataset's manifest at the recorded revision.
        allow_random_weights: accept results of a random-weight model (demos and tests only).
            The oracle is refused whatever this says.
        allow_partial: accept results scoring only some default tasks.
        allow_subset: file a subset (a `--limit` run, fewer queries than the split) labelled as one.
        fetch_manifest: ``fetch(dataset_id, revision) -> manifest`` (default:
            `vidret.hub.submit_checks.fetch_hub_manifest` with `token`).
        token: Hub token for reading the Hub dataset's manifest; never logged.
        source: the results file, named in errors.

    Returns:
        The plan: uploads, problems, validation problems, rewritten fields, checks passed.

    Raises:
        ResultsValidationError: the results do not parse (nothing can be checked).
    """
    record = as_record(results, source=source)
    plan = SubmissionPlan(record, invalid=check_results(record, require_all_tasks=not allow_partial))
    plan.problems += identity_problems(
        record, model_repo, results_repo=results_repo, dataset_id=dataset_id, allow_random_weights=allow_random_weights
    )
    planned, changed, notes = local_subset_check(record)
    plan.problems += changed
    plan.notes += notes
    reasons = subset_reasons(record, planned)
    if reasons:
        plan.subset = subset_label(reasons)
        if not allow_subset:
            plan.problems.append(
                f"{'; '.join(reasons)}: a subset is not the split's score and is not filed as it; pass "
                "--allow-subset to file it labelled as a subset (task ids ending in _subset, a file of its own)"
            )
    local = hub_dataset_id(record.dataset.repo) is None
    if local and dataset_id is not None and repo_id_problem(dataset_id, "--dataset-id") is None:
        fetch = fetch_manifest or (lambda repo, revision: fetch_hub_manifest(repo, revision, token=token))
        found, passed = compare_with_hub(record, dataset_id, fetch)
        plan.problems += found
        plan.checks += passed
    raw = record.to_json() if isinstance(results, ResultsRecord) else results
    repos_ok = repo_id_problem(model_repo, "--model-repo") is None and (
        results_repo is None or repo_id_problem(results_repo, "--results-repo") is None
    )
    if repos_ok:
        _uploads(plan, raw, model_repo, results_repo, dataset_id)
    return plan


def plan_submission(
    results: ResultsRecord | dict[str, Any],
    model_repo: str,
    *,
    results_repo: str | None = None,
    dataset_id: str | None = None,
    allow_random_weights: bool = False,
    allow_partial: bool = False,
    allow_subset: bool = False,
    fetch_manifest: ManifestFetcher | None = None,
    token: str | None = None,
) -> list[Upload]:
    """Validate results and describe every file a submission would upload (see `prepare_submission`).

    Returns:
        The uploads, model repo first.

    Raises:
        ResultsValidationError: when the results are invalid.
        SubmissionError: listing every problem: a random-weight model without
            `allow_random_weights`, the oracle, a subset without `allow_subset`, a malformed repo
            id, a model id that is another Hub model, a local dataset without `dataset_id` or
            whose build is not that Hub dataset.
    """
    plan = prepare_submission(
        results,
        model_repo,
        results_repo=results_repo,
        dataset_id=dataset_id,
        allow_random_weights=allow_random_weights,
        allow_partial=allow_partial,
        allow_subset=allow_subset,
        fetch_manifest=fetch_manifest,
        token=token,
    )
    if plan.invalid:
        raise ResultsValidationError(plan.invalid, plan.record.source)
    if plan.problems:
        raise SubmissionError(plan.problems)
    return plan.uploads


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

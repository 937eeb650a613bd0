"""The words of a submission: `.eval_results` notes, pull request texts, the dry run's summary.

The pull request on a model repo is read by the model's owner, who did not run vidret: it says
what the file adds and where the Hub shows it, the scores in a table, what data and protocol
produced them in plain words, where the embeddings came from, and what merging does. The notes
of each `.eval_results` entry carry the same facts in one line (the Hub shows them beside the
score): protocol, split, queries and gallery size, the setup, the embeddings' origin, and for a
subset the words "SUBSET, not the split's score".

`format_summary` is what `vidret submit --dry-run` prints: what would be filed, where, and which
fields were rewritten, in a screenful; `format_plan` is the full payload (every pull request's
text and every file's exact contents), written to a file only when asked (`--dry-run-out`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidret.benchmarks import VIDRET_PROTOCOL
from vidret.evaluation.results.model import ResultsRecord
from vidret.evaluation.results.report import embeddings_origin
from vidret.terminal import printable

if TYPE_CHECKING:
    from vidret.hub.submit import SubmissionPlan, Upload

EVAL_RESULTS_DOCS = "https://huggingface.co/docs/hub/eval-results"


def setup_notes(record: ResultsRecord) -> str:
    """The settings behind the numbers in one line, e.g.
    "vidret 0.1.0; protocol=vidret; split=test, adapter=clip, frames=8, resolution=224x224"."""
    settings = record.settings
    version = record.versions.get("vidret")
    notes = [f"vidret {version}" if version else "vidret", f"protocol={record.protocol}", f"split={record.split}"]
    setup = [f"adapter={record.model.adapter}", f"frames={settings.frames}"]
    if settings.resolution:
        setup.append("resolution={}x{}".format(*settings.resolution))
    if settings.fusion:
        setup.append(f"fusion={settings.fusion}")
    if record.limit is not None:
        setup.append(f"limit={record.limit}")
    if record.num_failed:
        setup.append(f"failed_items={record.num_failed}")
    return "; ".join(notes) + ", " + ", ".join(setup)


def entry_notes(record: ResultsRecord, task_id: str, subset: str | None = None) -> str:
    """The notes of one `.eval_results` entry: setup, the task's queries and gallery, the embeddings' origin.

    Args:
        record: the results.
        task_id: one of `record.tasks`.
        subset: `vidret.hub.submit_checks.subset_label` when filed as a subset (it comes first).
    """
    task = record.tasks[task_id]
    parts = [setup_notes(record), f"queries={task.num_queries}, gallery={task.gallery_size}"]
    origin = embeddings_origin(record)
    if origin:
        parts.append(f"embeddings: {origin}")
    if subset:
        parts.insert(0, subset)
    return "; ".join(parts)


def protocol_words(record: ResultsRecord) -> str:
    """The protocol for someone who never ran vidret."""
    protocol = record.protocol_spec
    if protocol.name == VIDRET_PROTOCOL:
        return (
            "vidret's default protocol (the benchmark's evaluation with the errors vidret found in the official "
            "code fixed; vidret's README lists them)"
        )
    reference = f"; it reproduces {protocol.reference}" if protocol.reference else ""
    return f"the {protocol.name} protocol ({protocol.summary}{reference})"


def title(record: ResultsRecord, subset: str | None = None) -> str:
    """The model repo pull request's title."""
    what = "subset results" if subset else "evaluation results"
    return f"Add {record.benchmark_spec.short_title} {what} (vidret, {record.protocol} protocol)"


def _score_table(record: ResultsRecord, task_ids: dict[str, str]) -> list[str]:
    lines = ["| Task | Metric | Score | Queries | Gallery |", "|---|---|---:|---:|---:|"]
    for task_id, task in record.tasks.items():
        name = task.name or (record.task_spec(task_id).name if record.task_spec(task_id) else task_id)
        cells = [f"`{task_ids[task_id]}` ({name})", task.main_score, f"{task.headline:.2f}", task.num_queries, task.gallery_size]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def _how(record: ResultsRecord) -> str:
    parts = [f"Computed with vidret {record.versions.get('vidret') or ''}".rstrip() + f" on {record.created_at[:10]}",
             f"split `{record.split}`", protocol_words(record)]
    text = ", ".join(parts) + "."
    origin = embeddings_origin(record)
    if origin:
        text += f" Embeddings: {origin}."
    if record.num_failed:
        text += f" {record.num_failed} item(s) could not be read and count as misses."
    return text


def model_body(
    record: ResultsRecord, model_repo: str, dataset_id: str, path: str, task_ids: dict[str, str], subset: str | None
) -> str:
    """The model repo pull request's description (Markdown).

    Args:
        record: the results.
        model_repo: the repo the pull request is opened on.
        dataset_id: the benchmark dataset's Hub id.
        path: the `.eval_results` file it adds.
        task_ids: task id -> the id it is filed under.
        subset: `subset_label` when filed as a subset.
    """
    revision = f"revision `{record.model.revision}`" if record.model.revision else "an unpinned revision"
    dataset_revision = record.dataset.exact_revision
    lines = [
        f"This pull request adds {len(record.tasks)} evaluation score(s) of `{model_repo}` ({revision}) on "
        f"**{record.benchmark_spec.title}** as `{path}`, the Hub's format for evaluation results ({EVAL_RESULTS_DOCS}). "
        f"Once merged, the Hub shows them on this model's page and on the leaderboard of the dataset "
        f"[`{dataset_id}`](https://huggingface.co/datasets/{dataset_id}) (revision `{dataset_revision}`).",
        "",
    ]
    if subset:
        lines += [
            f"**{subset}.** The entries are filed under task ids ending in `_subset`, which the dataset does not "
            "declare, so the Hub never shows them as the split's score.",
            "",
        ]
    lines += _score_table(record, task_ids)
    lines += ["", _how(record), "", f"Setup, as in each entry's notes: `{setup_notes(record)}`.", "",
              "Merging adds only this file; close the pull request to decline."]
    return "\n".join(lines)


def results_body(record: ResultsRecord, model_repo: str, path: str, changed: list[str], subset: str | None) -> str:
    """The results repo pull request's description."""
    lines = [
        f"Adds the full results file of `{model_repo}` on {record.benchmark_spec.title} as `{path}`: every metric, "
        "its interval and the per-query data. The vidret leaderboard reads this repo.",
        "",
    ]
    if subset:
        lines += [f"**{subset}.** The leaderboard marks it as a subset.", ""]
    lines.append(_how(record))
    lines.append(f"Setup: `{setup_notes(record)}`.")
    if changed:
        lines += ["", f"Local paths removed from: {', '.join(changed)}."]
    return "\n".join(lines)


def format_plan(uploads: list[Upload]) -> str:
    """The full payload: each pull request's target repo, title, description, file path and exact contents.

    Args:
        uploads: from `vidret.hub.submit.plan_submission`.

    Returns:
        The text (`--dry-run-out` writes it to a file).
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


def _entries(upload: Upload) -> list[dict[str, Any]]:
    import yaml

    loaded = yaml.safe_load(upload.content)
    return [e for e in loaded if isinstance(e, dict)] if isinstance(loaded, list) else []


def format_summary(plan: SubmissionPlan) -> str:
    """What `vidret submit --dry-run` prints: each pull request (where, title), each file it adds
    (for `.eval_results`: the dataset, and per entry its task id and score), the fields rewritten
    so that no local path is published, the checks passed and anything refused.

    Args:
        plan: from `vidret.hub.submit.prepare_submission`.
    """
    record = plan.record
    count = len(plan.uploads)
    lines = [f"Dry run: nothing was sent. vidret submit would open {count} pull request(s):" if count else
             "Dry run: nothing was sent, and no pull request could be prepared."]
    for number, upload in enumerate(plan.uploads, 1):
        lines += ["", f"{number}. on {upload.repo_type} repo {upload.repo_id}: \"{upload.commit_message}\""]
        if upload.repo_type == "model":
            entries = _entries(upload)
            dataset = entries[0].get("dataset", {}) if entries else {}
            lines.append(
                f"   adds {upload.path_in_repo}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} on dataset id: "
                f"{dataset.get('id')} at revision {dataset.get('revision')}, split {record.split}"
            )
            for entry, (task_id, task) in zip(entries, record.tasks.items()):
                entry_id = entry.get("dataset", {}).get("task_id")
                lines.append(
                    f"     task_id: {entry_id}  {task.main_score} = {task.headline:.2f}"
                    f"  ({task.num_queries} queries, gallery {task.gallery_size})"
                )
            if plan.subset:
                lines.append(f"   subset label: {plan.subset}")
            lines.append(f"   notes: {setup_notes(record)}")
            origin = embeddings_origin(record)
            if origin:
                lines.append(f"   embeddings: {origin}")
        else:
            lines.append(f"   adds {upload.path_in_repo}: the full results file ({len(upload.content):,} bytes)")
            paths = [f for f in plan.rewritten if f != "settings.subset"]
            rewritten = [f"{', '.join(paths)} (no local path is published)"] if paths else []
            rewritten += ["settings.subset (the subset label, added)"] if "settings.subset" in plan.rewritten else []
            shown = "; ".join(rewritten) if rewritten else "none (it names no local path)"
            lines.append(f"   fields rewritten: {shown}")
    if plan.checks:
        lines += ["", *(f"Checked: {check}." for check in plan.checks)]
    if plan.notes:
        lines += ["", *(f"Note: {note}." for note in plan.notes)]
    return printable("\n".join(lines), keep_newlines=True)


def format_problems(problems: list[str], head: str | None = None) -> str:
    """A refusal: `head` (default "N problem(s); nothing was sent:"), then every problem on a line of
    its own, control characters escaped."""
    head = f"{len(problems)} problem(s); nothing was sent:" if head is None else head
    return printable("\n".join([head, *(f"  - {problem}" for problem in problems)]), keep_newlines=True)

"""Plain-text tables of results records (what `vidret evaluate` and `vidret demo` print).

One block per (benchmark, protocol, task): a title line with the task, the protocol that scored
it (``[official protocol]``: its numbers are not ours and may exceed 100), the task's name, query
count and gallery size, then one row per model with the headline metric first (marked ``*``)
and, when the results carry one, its bootstrap interval beside it. Tables fit `TABLE_WIDTH`
columns: a model name too long for its row goes on a line of its own above the numbers.

The oracle is labelled a check: it reads the frame codes planted in vidret's sample videos, so it
proves the pipeline on those samples and means nothing on other data; `oracle_notes` says so
(and warns when its scores show the data was not a sample). `embeddings_origin` says in one line
where a record's embeddings came from (a model, an export, stored files with their checksum):
`vidret submit`'s notes and the leaderboard's rows show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vidret.benchmarks import BENCHMARKS, VIDRET_PROTOCOL
from vidret.common import is_hub_id
from vidret.evaluation.results.model import ResultsRecord, recorded_protocol
from vidret.scoring.metrics import metric_spec
from vidret.terminal import printable

TABLE_WIDTH = 80  # the narrowest common terminal
HEADLINE_MARK = "*"
INDENT = "  "


def model_label(record: Mapping[str, Any]) -> str:
    """The model's name as shown in tables (control characters escaped); random-weight models and
    the oracle say what they are."""
    model = record["model"]
    label = str(model["id"])
    if Path(label).is_dir():  # a local folder: its name is enough
        label = Path(label).name
    if model.get("adapter") == "oracle":
        label += " (check)"
    elif model.get("random_weights"):
        label += " (random weights)"
    return printable(label)


def _number(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "-"


def _interval(task: Mapping[str, Any], metric: str) -> str:
    """The metric's recorded interval as ``low-high`` ("-" for results without one).

    Scores are never negative, so a hyphen reads as a range and keeps an 8-metric row in 80 columns.
    """
    low, high = (task.get(key) or {} for key in ("ci_low", "ci_high"))
    if not isinstance(low.get(metric), (int, float)) or not isinstance(high.get(metric), (int, float)):
        return "-"
    return f"{low[metric]:.2f}-{high[metric]:.2f}"


def _task_name(benchmark: str, task_id: str, task: Mapping[str, Any]) -> str:
    """The task's name as recorded, else as the benchmark declares it, else its id."""
    if task.get("name"):
        return printable(task["name"])
    spec = BENCHMARKS.get(benchmark)
    return spec.tasks[task_id].name if spec is not None and task_id in spec.tasks else task_id


def _protocol(record: Mapping[str, Any]) -> str:
    """The protocol a record was scored with (absent or null: "vidret")."""
    return recorded_protocol(record.get("settings")) or VIDRET_PROTOCOL


def _uniform(values: Sequence[Any]) -> Any:
    """The single value of `values`, or None when they differ."""
    return values[0] if len(set(map(str, values))) == 1 else None


def _task_block(
    benchmark: str, protocol: str, task_id: str, entries: list[tuple[str, Mapping[str, Any]]], width: int
) -> list[str]:
    """The lines of one (benchmark, protocol, task) block; `entries` are (model label, task entry)."""
    tasks = [task for _, task in entries]
    headline = tasks[0].get("main_score") or next(iter(tasks[0]["metrics"]))
    names = list(dict.fromkeys([headline, *(m for task in tasks for m in task["metrics"])]))
    columns = [
        (name + (HEADLINE_MARK if name == headline else ""), [_number(task["metrics"].get(name)) for task in tasks])
        for name in names
    ]
    intervals = [_interval(task, headline) for task in tasks]
    if any(cell != "-" for cell in intervals):  # the headline's uncertainty, beside it
        level = next((task["ci"].get("level") for task in tasks if isinstance(task.get("ci"), Mapping)), None)
        header = f"{round(100 * level)}% CI" if isinstance(level, (int, float)) else "CI"
        columns.insert(1, (header, intervals))
    queries = _uniform([task.get("num_queries") for task in tasks])
    gallery = _uniform([task.get("gallery_size") for task in tasks])
    facts: list[str] = []
    for label, key, value in (("queries", "num_queries", queries), ("gallery", "gallery_size", gallery)):
        if value is not None:
            facts.append(f"{value} queries" if label == "queries" else f"gallery {value}")
        else:  # differs between rows (e.g. a --limit run): one column each
            columns.append((label, [str(task.get(key, "-")) for task in tasks]))
    if any(task.get("num_failed") for task in tasks):
        columns.append(("failed", [str(task.get("num_failed", 0)) for task in tasks]))
    facts.append(f"headline {headline}")

    widths = [max(len(header), *(len(v) for v in values)) for header, values in columns]
    numbers_width = sum(widths) + len(widths) - 1
    labels = [label for label, _ in entries]
    room = max(len("model"), width - len(INDENT) * 2 - numbers_width)
    label_width = max([len("model"), *(len(label) for label in labels if len(label) <= room)])

    def numbers(cells: Sequence[str]) -> str:
        return " ".join(cell.rjust(w) for cell, w in zip(cells, widths))

    title = f"{benchmark} {task_id} [{printable(protocol)} protocol]: {_task_name(benchmark, task_id, tasks[0])}"
    if len(title) + 2 + len(", ".join(facts)) <= width:
        lines = [f"{title}, {', '.join(facts)}"]
    else:  # e.g. five-digit counts: the facts on a line of their own
        lines = [title, INDENT + ", ".join(facts)]
    lines.append(INDENT + "model".ljust(label_width) + INDENT + numbers([header for header, _ in columns]))
    for row, label in enumerate(labels):
        cells = numbers([values[row] for _, values in columns])
        if len(label) > label_width:  # too long for the row: a line of its own, numbers below
            lines.append(INDENT + label)
            label = ""
        lines.append(INDENT + label.ljust(label_width) + INDENT + cells)
    return lines


def format_table(records: Sequence[Mapping[str, Any]], width: int = TABLE_WIDTH) -> str:
    """One block per (benchmark, protocol, task), one row per record: headline metric first,
    gallery size shown, the protocol named in the block's title (scores of two protocols never
    share a block).

    Args:
        records: results records (see `vidret.evaluation.results.record.build_record`).
        width: the widest line wanted; only a metric row wider than this on its own exceeds it.

    Returns:
        The text table.
    """
    groups: dict[tuple[str, str, str], list[tuple[str, Mapping[str, Any]]]] = {}
    for record in records:
        for task_id, task in record["tasks"].items():
            groups.setdefault((record["benchmark"], _protocol(record), task_id), []).append((model_label(record), task))
    blocks = ["\n".join(_task_block(*key, entries, width)) for key, entries in groups.items()]
    return "\n\n".join(blocks)


def format_record(record: Mapping[str, Any], width: int = TABLE_WIDTH) -> str:
    """A table of one record plus its failures and run facts.

    Failed items' ids and reasons come from the dataset (and its file paths): their control
    characters are escaped, never sent to the terminal raw.
    """
    lines = [format_table([record], width), *oracle_notes(record)]
    if record["failures"]:
        lines.append(f"{record['num_failed']} item(s) failed to decode or had no embedding (counted as misses):")
        lines += [printable(f"  {f.get('kind', 'item')} {f['item_id']}: {f['reason']}") for f in record["failures"][:20]]
        if record["num_failed"] > 20:
            lines.append(f"  ... and {record['num_failed'] - 20} more (see the results file)")
    lines.append(f"{record['num_processes']} process(es), {record['wall_time_s']:.1f} s")
    return "\n".join(lines)


def _is_oracle(record: Mapping[str, Any]) -> bool:
    return isinstance(record.get("model"), Mapping) and record["model"].get("adapter") == "oracle"


def _is_shuffled_oracle(record: Mapping[str, Any]) -> bool:
    """The shuffled control: scoring below 100 is its purpose."""
    adapter = (record.get("settings") or {}).get("adapter")
    return record["model"].get("id") == "oracle-shuffled" or (isinstance(adapter, Mapping) and bool(adapter.get("shuffled")))


def _short_of_perfect(task: Mapping[str, Any]) -> str | None:
    """"R@1 33.33" when a task's headline is short of a perfect score (100, or rank 1), else None."""
    name = task.get("main_score")
    value = (task.get("metrics") or {}).get(name)
    if not isinstance(name, str) or not isinstance(value, (int, float)):
        return None
    try:
        spec = metric_spec(name)
    except ValueError:
        return None
    perfect = spec.upper_bound() if spec.higher_is_better else spec.lower_bound  # 100, or rank 1
    short = value < perfect - 1e-9 if spec.higher_is_better else value > perfect + 1e-9
    return f"{name} {value:.2f}" if short else None


def oracle_notes(record: Mapping[str, Any]) -> list[str]:
    """What to print under an oracle's table: what it checks, and a warning when it was not a sample.

    The oracle reads the frame codes `vidret.testing.synthetic` plants in vidret's sample videos
    (and the ids the sample texts carry): on those it scores 100 on every task under vidret's
    protocol; on any other data it finds no codes and its numbers mean nothing. Under another
    protocol the sample scores differ by design (e.g. official TF-CoVR counts repeated hits), so
    only vidret's protocol is held to 100. The shuffled control is meant to score low.

    Args:
        record: a results record.

    Returns:
        Lines (empty for a model that is not the oracle).
    """
    if not _is_oracle(record):
        return []
    lines = ["oracle (check): it reads the codes planted in vidret's sample videos; it checks the pipeline "
             "on those samples only, and is not a model."]
    if _is_shuffled_oracle(record) or _protocol(record) != VIDRET_PROTOCOL:
        return lines
    short = [f"{task_id} {found}" for task_id, task in record["tasks"].items() if (found := _short_of_perfect(task))]
    if short:
        lines.append(
            f"WARNING: the oracle scored below 100 ({', '.join(short)}): this data is not vidret's sample "
            "(no planted codes to read), or frames were lost on the way. These numbers say nothing about any model."
        )
    return lines


# How each kind of source is named, and the order of the sides.
_SIDE_ORDER = ("videos", "composed", "texts")


def _name_of(reference: Any) -> str:
    """A model id, Hub repo or file as shown publicly: a Hub id or bare name as it is, anything
    else (a local path, a folder here) by its last component only: a folder's full path never
    leaves the machine."""
    text = str(reference or "").rstrip("/\\")
    if not text:
        return "?"
    if is_hub_id(text) and not Path(text).exists() or is_hub_id(text, require_org=False):
        return text
    parts = [p for p in re.split(r"[/\\]", text) if p]
    return parts[-1] if parts else text


def _sha(value: Any) -> str:
    return f"sha256 {str(value)[:12]}…" if value else ""


def describe_source(origin: Mapping[str, Any]) -> str:
    """One side's provenance (a record's ``embeddings.<side>``) in words.

    Args:
        origin: e.g. {"source": "model", "model": "openai/clip"}, {"source": "files", "format":
            "pth-folder", "path": "/data/AIM", "sha256": "..."}, {"source": "export", ...}.

    Returns:
        e.g. "model openai/clip", "embedding files AIM (pth-folder, sha256 0123456789ab…)",
        "export lovr-clip of openai/clip (sha256 …)"; no local folder is named beyond its last part.
    """
    source = origin.get("source")
    pooled = f", {origin['pool']}-pooled" if origin.get("pool") else ""
    if source == "model":
        return f"model {_name_of(origin.get('model'))}"
    if source == "cache":
        return f"embedding cache {str(origin.get('namespace') or '?')[:12]}"
    if source in ("export", "hub"):
        where = f"{origin.get('repo')}@{origin.get('revision') or 'main'}" if source == "hub" else _name_of(origin.get("path"))
        made_by = f" of {_name_of(origin['model'])}" if origin.get("model") else ""
        detail = ", ".join(filter(None, [_sha(origin.get("manifest_sha256")), pooled.lstrip(", ")]))
        return f"export {where}{made_by}" + (f" ({detail})" if detail else "")
    if source == "files":
        detail = ", ".join(filter(None, [str(origin.get("format") or ""), _sha(origin.get("sha256")), pooled.lstrip(", ")]))
        return f"embedding files {_name_of(origin.get('path'))}" + (f" ({detail})" if detail else "")
    return str(source or "unknown source")


def embeddings_origin(record: ResultsRecord | Mapping[str, Any]) -> str | None:
    """Where a record's embeddings came from, side by side: "videos: embedding files AIM (...); texts:
    model openai/clip" (sides from the same source share one entry: "videos, texts: model x").

    Args:
        record: a results record or its JSON object (its ``embeddings``; records written before it
            existed have none).

    Returns:
        The text, or None when the record does not say.
    """
    sides = record.embeddings if isinstance(record, ResultsRecord) else record.get("embeddings")
    if not isinstance(sides, Mapping) or not sides:
        return None
    order = sorted(sides, key=lambda side: (_SIDE_ORDER.index(side) if side in _SIDE_ORDER else len(_SIDE_ORDER), side))
    grouped: dict[str, list[str]] = {}
    for side in order:
        origin = sides[side]
        if isinstance(origin, Mapping):
            grouped.setdefault(describe_source(origin), []).append(side)
    return printable("; ".join(f"{', '.join(names)}: {text}" for text, names in grouped.items())) or None

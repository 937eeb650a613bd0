"""The results record, typed: a results file parsed once into dataclasses.

`ResultsRecord.from_json(data, source=path)` checks the JSON Schema (`schema.py`), resolves the
protocol once (``settings.protocol`` absent or null both mean "vidret"; a protocol the benchmark
does not declare is a problem), checks every per-query entry against its declared kind
(`vidret.scoring.metrics.COLUMN_KINDS`), and builds the record. Every reader (validation's
consistency checks, `vidret compare`, submit, export, the leaderboard) then asks the record: which
protocol (`record.protocol`, `record.protocol_spec`), which task declaration and kernel
(`record.task_spec(task_id)`), which cut-offs (`record.cutoffs(task_id, family)`), whether it
scores a subset (`record.missing_tasks()`, `record.limit`).

`to_json()` gives the JSON object back: the fields as recorded, in their order, with the protocol
always written. Records written by earlier versions (no protocol, no per-query data, no
intervals) load; their absent fields are None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, ClassVar

from vidret.benchmarks import VIDRET_PROTOCOL
from vidret.evaluation.results.schema import (
    Problem,
    ResultsValidationError,
    query_count_problems,
    schema_problems,
    structure_problems,
)
from vidret.scoring.metrics import CLUSTER_COLUMN, QUERY_ID_COLUMN, column_kind, cutoffs


def recorded_protocol(settings: Any) -> str | None:
    """The protocol a results object's ``settings`` records: absent and null both mean "vidret";
    None when it is not a string (the schema reports that)."""
    value = settings.get("protocol") if isinstance(settings, Mapping) else None
    if value is None:
        return VIDRET_PROTOCOL
    return value if isinstance(value, str) else None


def parse_created_at(value: str) -> datetime:
    """The time of an ISO-8601 `created_at`, timezone-aware (UTC when the text names no zone).

    Args:
        value: e.g. "2026-03-01T12:00:00Z" or "2026-03-01T13:00:00+01:00".

    Returns:
        The aware datetime, so that times written in different zones compare correctly.

    Raises:
        ValueError: when `value` is not an ISO-8601 date-time.
    """
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _dump(value: Any) -> Any:
    if isinstance(value, (JsonObject, PerQuery)):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class JsonObject:
    """A JSON object with typed fields. Keys it does not type stay in `extra`; `recorded_keys`
    remembers the keys (and their order) of the object it was read from, so `to_json` writes
    back what was read: an optional field recorded as null stays null, one never recorded stays
    absent. Records built in Python write their required fields and the optional ones set."""

    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False)
    recorded_keys: tuple[str, ...] = field(default=(), kw_only=True, repr=False, compare=False)

    #: Fields that are no JSON key of the object (e.g. a task's id, which is its key in `tasks`).
    NOT_JSON: ClassVar[tuple[str, ...]] = ()
    #: Fields written even when None and not recorded (the schema requires them).
    ALWAYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def json_fields(cls) -> tuple[str, ...]:
        """The JSON keys this class types."""
        skip = {"extra", "recorded_keys", *cls.NOT_JSON}
        return tuple(f.name for f in fields(cls) if f.name not in skip)

    @classmethod
    def partition(cls, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the typed keys' values, everything else) of a JSON object."""
        typed = set(cls.json_fields())
        return {k: v for k, v in data.items() if k in typed}, {k: v for k, v in data.items() if k not in typed}

    @classmethod
    def read(cls, data: Mapping[str, Any], **converted: Any) -> Any:
        """An instance from a schema-valid JSON object; `converted` overrides raw values."""
        known, extra = cls.partition(data)
        return cls(**{**known, **converted}, extra=extra, recorded_keys=tuple(data))

    def to_json(self) -> dict[str, Any]:
        """The JSON object (see the class docstring)."""
        names = self.json_fields()
        order = [*self.recorded_keys, *(n for n in names if n not in self.recorded_keys), *self.extra]
        out: dict[str, Any] = {}
        for key in dict.fromkeys(order):
            if key in names:
                value = getattr(self, key)
                if value is None and key not in self.recorded_keys and key not in self.ALWAYS:
                    continue
                out[key] = _dump(value)
            elif key in self.extra:
                out[key] = self.extra[key]
        return out


@dataclass(frozen=True)
class DatasetRef(JsonObject):
    """What data was scored: ``repo`` (Hub id or local folder), ``revision`` (asked for, or the
    commit read, or a local build's version; None for an unversioned folder), ``fingerprint``
    (checksum of the files read), ``commit`` (the Hub commit read)."""

    repo: str
    revision: str | None
    fingerprint: str | None = None
    commit: str | None = None
    ALWAYS: ClassVar[tuple[str, ...]] = ("revision",)

    @property
    def exact_revision(self) -> str | None:
        """The commit read when recorded, else the revision."""
        return self.commit or self.revision


@dataclass(frozen=True)
class ModelRef(JsonObject):
    """The model evaluated: its ``id``, ``revision``, adapter preset and provenance."""

    id: str
    revision: str | None
    adapter: str
    adapter_class: str | None = None
    random_weights: bool | None = None
    trust_remote_code: bool | None = None
    commit: str | None = None
    fingerprint: str | None = None
    ALWAYS: ClassVar[tuple[str, ...]] = ("revision",)


@dataclass(frozen=True)
class Settings(JsonObject):
    """Every setting that changes the numbers. Typed: the protocol (resolved: never None) and the
    three settings every record has; the rest are read with `get` (the schema keeps them open)."""

    protocol: str
    frames: int | None
    resolution: tuple[int, int] | None
    fusion: str | None
    ALWAYS: ClassVar[tuple[str, ...]] = ("protocol", "frames", "resolution", "fusion")

    def get(self, key: str, default: Any = None) -> Any:
        """Any recorded setting by its JSON key (e.g. "limit", "long_video"); `default` when absent."""
        if key in self.json_fields():
            value = getattr(self, key)
            return list(value) if isinstance(value, tuple) else value
        return self.extra.get(key, default)


@dataclass(frozen=True)
class Failure(JsonObject):
    """An item that could not be embedded: ``item_id``, ``reason``, ``kind``, ``source``."""

    item_id: str
    reason: str
    kind: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class CacheInfo(JsonObject):
    """The embedding cache a run used: folder, namespace, hits and misses."""

    dir: str | None = None
    namespace: str | None = None
    hits: int | None = None
    misses: int | None = None


@dataclass(frozen=True)
class IntervalMethod(JsonObject):
    """How a task's intervals were computed (``ci``): ``method`` (e.g. "cluster bootstrap
    (video_id)"; results without clusters: "percentile bootstrap over queries"), ``level``,
    ``num_resamples``, ``seed``, and for a cluster bootstrap ``cluster_key`` (what the queries
    cluster on, as `TaskSpec.cluster` names it) and ``num_clusters``."""

    method: str
    level: float
    num_resamples: int
    seed: int
    cluster_key: str | None = None
    num_clusters: int | None = None


@dataclass(frozen=True)
class PerQuery:
    """What a task's metrics are computed from, one entry per query in the order of `query_id`.

    Attributes:
        query_id: the query ids.
        columns: column name ("rank", "AP@K", "hit@K") → entries, as recorded.
        cluster: each query's cluster id (``cluster``: e.g. a LoVR clip's long video) where the
            task declares one; None for independent queries and results written before.
    """

    query_id: tuple[str, ...]
    columns: Mapping[str, list[Any]]
    cluster: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        ids = {QUERY_ID_COLUMN: list(self.query_id)}
        if self.cluster is not None:
            ids[CLUSTER_COLUMN] = list(self.cluster)
        return {**ids, **{k: list(v) for k, v in self.columns.items()}}


@dataclass(frozen=True)
class TaskResult(JsonObject):
    """One scored task: its metrics (in reported order), headline, counts, intervals and per-query data."""

    task_id: str
    metrics: Mapping[str, float]
    main_score: str
    num_queries: int
    num_failed: int
    gallery_size: int
    name: str | None = None
    num_truncated_texts: int | None = None
    failed_queries: tuple[str, ...] | None = None
    ci_low: Mapping[str, float] | None = None
    ci_high: Mapping[str, float] | None = None
    ci: IntervalMethod | None = None
    per_query: PerQuery | None = None
    NOT_JSON: ClassVar[tuple[str, ...]] = ("task_id",)

    @property
    def headline(self) -> float:
        """The value of `main_score`."""
        return self.metrics[self.main_score]


@dataclass(frozen=True)
class ResultsRecord(JsonObject):
    """One run of one model on one benchmark split, as `vidret evaluate` records it.

    Build one with `from_json` (or `vidret.evaluation.results.validation.load_record(path)`,
    which also runs the consistency checks); `source` is the file it was read from.
    """

    schema_version: str
    benchmark: str
    config: str
    split: str
    dataset: DatasetRef
    model: ModelRef
    settings: Settings
    tasks: Mapping[str, TaskResult]
    num_failed: int
    failures: tuple[Failure, ...]
    num_processes: int
    versions: Mapping[str, str | None]
    hardware: Mapping[str, Any]
    wall_time_s: float
    created_at: str
    num_queries: int | None = None
    cache: CacheInfo | None = None
    timings: Mapping[str, float] | None = None
    embeddings: Mapping[str, Mapping[str, Any]] | None = None
    source: str | None = field(default=None, compare=False)
    NOT_JSON: ClassVar[tuple[str, ...]] = ("source",)

    @classmethod
    def from_json(cls, data: Any, *, source: str | None = None) -> ResultsRecord:
        """Parse a results JSON object (schema, protocol, per-query entries) into a record.

        Args:
            data: the parsed JSON.
            source: the file it came from (named in errors, kept as `source`).

        Raises:
            ResultsValidationError: every problem found, naming `source`.
        """
        record, problems = parse_results(data, source=source)
        if record is None:
            raise ResultsValidationError(problems, source)
        return record

    # ---------------------------------------------------------------- what readers ask

    @property
    def protocol(self) -> str:
        """The scoring protocol (absent and null in the file both mean "vidret")."""
        return self.settings.protocol

    @property
    def benchmark_spec(self) -> Any:
        """The benchmark's declaration (`vidret.benchmarks.get_benchmark`)."""
        from vidret.benchmarks import get_benchmark

        return get_benchmark(self.benchmark)

    @property
    def protocol_spec(self) -> Any:
        """The protocol's declaration (`ProtocolSpec`): its tasks, rules, Hub suffix, bounds."""
        return self.benchmark_spec.protocol(self.protocol)

    def task_spec(self, task_id: str) -> Any | None:
        """The declaration of `task_id` under the record's protocol (`TaskSpec`); None for a task
        the protocol does not declare."""
        return self.protocol_spec.tasks.get(task_id)

    def cutoffs(self, task_id: str, family: str) -> tuple[int, ...]:
        """The K of the task's reported metrics of `family`, in reported order ("R" → (1, 5, 10, 50))."""
        return cutoffs(self.tasks[task_id].metrics, family)

    def missing_tasks(self) -> list[str]:
        """The benchmark's default tasks this record does not score (a `--tasks` run)."""
        return [t for t in self.benchmark_spec.default_tasks() if t not in self.tasks]

    @property
    def limit(self) -> int | None:
        """``settings.limit``: the run scored only the first N items (a smoke test), or None."""
        return self.settings.get("limit")

    @property
    def created(self) -> datetime:
        """`created_at` as an aware datetime.

        Raises:
            ValueError: `created_at` is not ISO-8601 (validation reports it).
        """
        return parse_created_at(self.created_at)


# -------------------------------------------------------------------- parsing


def per_query_problems(path: str, per_query: Mapping[str, Any], bounded: bool) -> list[Problem]:
    """Entry types of the per-query columns (the schema checks only that they are arrays).

    Args:
        path: dotted path of the ``per_query`` object.
        per_query: its columns.
        bounded: the protocol keeps percentages bounded (a hit is then 0 or 1).
    """
    problems = []
    for key, values in per_query.items():
        if not isinstance(values, list):
            continue  # the schema's to report
        if key in (QUERY_ID_COLUMN, CLUSTER_COLUMN):  # ids: strings
            bad = next((i for i, v in enumerate(values) if not isinstance(v, str)), None)
            if bad is not None:
                problems.append(Problem(f"{path}.{key}.{bad}", f"{values[bad]!r} is not a string"))
            continue
        found = column_kind(key)
        if found is None:
            continue  # an unknown column: the schema reports it
        kind = found[0]
        bad = next((i for i, v in enumerate(values) if not kind.accepts(v, bounded)), None)
        if bad is not None:
            problems.append(Problem(f"{path}.{key}.{bad}", f"{values[bad]!r} is not {kind.describe(bounded)}"))
    return problems


def parse_results(data: Any, *, source: str | None = None) -> tuple[ResultsRecord | None, list[Problem]]:
    """Parse a results JSON object: (the record, []) or (None, every problem found).

    Checks, in order, each only when the previous passed: the number of queries with per-query
    data (`MAX_QUERIES`), nesting, shape and numbers (`MAX_DEPTH`, `MAX_MAGNITUDE`), the JSON
    Schema with the registry's enums, that the benchmark declares the recorded protocol, and the
    per-query entries. Consistency with the benchmark is not checked here (see
    `vidret.evaluation.results.validation`).
    """
    problems = query_count_problems(data) or structure_problems(data)
    if problems:
        return None, problems
    problems = schema_problems(data)
    if problems:
        return None, problems
    protocol = recorded_protocol(data["settings"])
    from vidret.benchmarks import get_benchmark

    declared = get_benchmark(data["benchmark"]).protocols
    if protocol not in declared:
        message = f"{protocol!r} is not a protocol of benchmark {data['benchmark']!r}; it declares {list(declared)}"
        return None, [Problem("settings.protocol", message)]
    bounded = declared[protocol].bounded
    for task_id, task in data["tasks"].items():
        if "per_query" in task:
            problems += per_query_problems(f"tasks.{task_id}.per_query", task["per_query"], bounded)
    if problems:
        return None, problems
    return _build(data, protocol, source), []


def _build(data: Mapping[str, Any], protocol: str, source: str | None) -> ResultsRecord:
    """The record of schema-valid `data` (no check left to do)."""
    settings = data["settings"]
    resolution = settings["resolution"]
    tasks = {}
    for task_id, task in data["tasks"].items():
        converted: dict[str, Any] = {"task_id": task_id}
        if task.get("failed_queries") is not None:
            converted["failed_queries"] = tuple(task["failed_queries"])
        if task.get("ci") is not None:
            converted["ci"] = IntervalMethod.read(task["ci"])
        if task.get("per_query") is not None:
            recorded = task["per_query"]
            columns = {k: v for k, v in recorded.items() if k not in (QUERY_ID_COLUMN, CLUSTER_COLUMN)}
            cluster = tuple(recorded[CLUSTER_COLUMN]) if CLUSTER_COLUMN in recorded else None
            converted["per_query"] = PerQuery(tuple(recorded[QUERY_ID_COLUMN]), columns, cluster)
        tasks[task_id] = TaskResult.read(task, **converted)
    return ResultsRecord.read(
        data,
        dataset=DatasetRef.read(data["dataset"]),
        model=ModelRef.read(data["model"]),
        settings=Settings.read(settings, protocol=protocol, resolution=None if resolution is None else tuple(resolution)),
        tasks=tasks,
        failures=tuple(Failure.read(f) for f in data["failures"]),
        cache=None if data.get("cache") is None else CacheInfo.read(data["cache"]),
        source=source,
    )


def as_record(results: ResultsRecord | Mapping[str, Any], *, source: str | None = None) -> ResultsRecord:
    """`results` as a record: itself, or parsed from a JSON object (see `ResultsRecord.from_json`)."""
    return results if isinstance(results, ResultsRecord) else ResultsRecord.from_json(results, source=source)

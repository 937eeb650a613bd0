"""`Benchmark`: the plug-in object of one benchmark package, and the parts it is made of.

A benchmark package (`vidret.benchmarks.lovr`, `vidret.benchmarks.tf_covr`, or a third party's,
found through the entry-point group `vidret.benchmarks`) declares one `Benchmark`: its spec
(tasks, protocols and their rules, as `BenchmarkSpec`), its names, licence and provenance, and
where its behaviour lives, as ``"module:attribute"`` references imported only when used:

- ``builder``: its `vidret.builders.base.DatasetBuilder` subclass (raw release -> dataset repo);
- ``planner``: ``plan(tables, request) -> TaskPlan`` (built rows -> the tasks to score; see
  `vidret.evaluation.planning.tasks.PlanRequest`);
- ``columns``: its `ColumnContract`, the `datasets.Features` of every config, which the builder
  writes and the planner requires;
- ``text_normalizations``: query-text normalisations its protocols name (`TaskRules.text_normalization`).

Two modules are found by convention in the benchmark's ``package``: ``<package>.sample``
(``make_release(directory, **options) -> Path``: a small raw release in the published format)
and ``<package>.oracle`` (what the oracle model reads). The card template is
``<package>/README.md.jinja`` unless ``card_template`` names another file.

Nothing here imports the rest of vidret: the registry and every layer may import this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidret.benchmarks.spec import BenchmarkSpec

if TYPE_CHECKING:  # annotations only: importing them here would tie this leaf to the planning layer
    import pyarrow

    from vidret.evaluation.planning.tasks import PlanRequest, TaskPlan


@dataclass(frozen=True)
class Licence:
    """A benchmark's licence and the provenance of its videos: the one place that says them.

    Attributes:
        card_id: the dataset card's ``license:`` id (``"other"`` when no standard id fits).
        annotations: the terms of the annotations (the card's licence section).
        videos: where the videos come from and why they are not re-hosted, one sentence that
            starts with the benchmark's name ("LoVR's videos come from ..."): `vidret publish` says
            it when it leaves a build's videos out, the card's licence section and the CLI help
            show it.
    """

    card_id: str = "other"
    annotations: str = ""
    videos: str = ""


@dataclass(frozen=True)
class ColumnContract:
    """The columns of every config a benchmark's build holds: what its builder writes, what its
    planner requires.

    Attributes:
        features: config -> its `datasets.Features`, columns in file order (the order of the
            configs is the order a plan loads them in).
        required: config -> the columns a plan cannot do without (a build made before an
            optional column existed still plans); each must be a column of `features`.

    Raises:
        ValueError: a required column or config that `features` does not declare.
    """

    features: Mapping[str, Any]
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for config, columns in self.required.items():
            if config not in self.features:
                raise ValueError(f"ColumnContract: required config {config!r} has no features; known: {list(self.features)}")
            unknown = [c for c in columns if c not in self.features[config]]
            if unknown:
                raise ValueError(f"ColumnContract: config {config!r} requires undeclared column(s) {unknown}")

    def arrow_schema(self, config: str) -> "pyarrow.Schema":
        """The Arrow schema the builder writes `config` with (no `datasets` metadata: byte-stable files)."""
        import pyarrow as pa

        return pa.schema(self.features[config].type)

    def arrow_schemas(self) -> dict[str, "pyarrow.Schema"]:
        """``{config: arrow_schema(config)}`` in declaration order."""
        return {config: self.arrow_schema(config) for config in self.features}

    def require(self, rows: Sequence[Mapping[str, Any]], config: str, where: str) -> None:
        """Check that `rows` of `config` are not empty and hold every required column.

        Args:
            rows: the loaded rows.
            config: their config.
            where: what to name in the error (e.g. "LoVR videos/test").

        Raises:
            ValueError: no rows, or missing columns (named, with the columns found).
        """
        if not rows:
            raise ValueError(f"{where}: no rows")
        missing = [c for c in self.required.get(config, ()) if c not in rows[0]]
        if missing:
            raise ValueError(f"{where}: missing column(s) {missing}; found {sorted(rows[0])}")


def load_reference(reference: str, what: str) -> Any:
    """Import a ``"module:attribute"`` reference (the attribute may be dotted).

    Raises:
        ValueError: a malformed reference, a module that cannot be imported or a missing
            attribute, naming `what` it was meant to be.
    """
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{what}: {reference!r} must look like 'module:attribute'")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as err:
        raise ValueError(f"{what}: cannot import {module_name!r}: {type(err).__name__}: {err}") from err
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{what}: {module_name!r} has no {attr!r}")
        target = getattr(target, part)
    return target


@dataclass(frozen=True)
class Benchmark(BenchmarkSpec):
    """One benchmark as vidret uses it: the spec plus everything specific to the benchmark.

    `vidret.benchmarks.get_benchmark(name)` returns one; every `BenchmarkSpec` attribute
    (``benchmark``, ``title``, ``short_title``, ``tasks``, ``protocols``, ``protocol()``,
    ``default_tasks()``, ``default_repo``, ``upstream_repo``, ``query_configs``) is its own.

    Attributes:
        package: the Python package holding the benchmark (``vidret.benchmarks.lovr``); its
            ``sample`` and ``oracle`` modules and the card template are found there.
        aliases: other spellings `get_benchmark` accepts (compared case-insensitively, ``_`` = ``-``).
        provider: the distribution that provides it (set by the registry: "vidret" for the
            built-ins, the entry point's distribution for a plug-in).
        licence: licence and provenance (`Licence`).
        builder: ``"module:Class"`` of its `DatasetBuilder` subclass.
        planner: ``"module:function"`` of ``plan(tables, request) -> TaskPlan``.
        columns: ``"module:attribute"`` of its `ColumnContract`.
        card_template: the card template's file name in `package`.
        text_normalizations: normalisation name -> ``"module:function"`` (``str -> str``), for
            the names its protocols' `TaskRules.text_normalization` use.
    """

    package: str = ""
    aliases: tuple[str, ...] = ()
    provider: str = "vidret"
    licence: Licence = Licence()
    builder: str = ""
    planner: str = ""
    columns: str = ""
    card_template: str = "README.md.jinja"
    text_normalizations: dict[str, str] = field(default_factory=dict)

    def names(self) -> tuple[str, ...]:
        """The id and every alias."""
        return (self.benchmark, *self.aliases)

    def builder_class(self) -> type:
        """The builder class (imported now).

        Raises:
            ValueError: the benchmark declares no builder, or it cannot be imported.
        """
        return load_reference(self._required("builder"), f"benchmark {self.benchmark!r} builder")

    def column_contract(self) -> ColumnContract:
        """The column contract (imported now; imports `datasets`).

        Raises:
            ValueError: none declared, it cannot be imported, or it is not a `ColumnContract`.
        """
        contract = load_reference(self._required("columns"), f"benchmark {self.benchmark!r} columns")
        if not isinstance(contract, ColumnContract):
            raise ValueError(f"benchmark {self.benchmark!r}: columns {self.columns!r} is not a ColumnContract")
        return contract

    def plan_configs(self) -> list[str]:
        """The configs a plan loads, in order: every config of the contract but the caption-query
        configs, which a protocol's rules ask for (`TaskRules.caption_queries`)."""
        return [c for c in self.column_contract().features if c not in self.query_configs]

    def plan(self, tables: Mapping[str, list[dict[str, Any]]], request: "PlanRequest") -> "TaskPlan":
        """Derive the `TaskPlan` from the rows of `plan_configs()` and what `request` asks for.

        Raises:
            ValueError: rows that do not fit the benchmark (the planner names config, split and row).
        """
        planner: Callable[..., Any] = load_reference(self._required("planner"), f"benchmark {self.benchmark!r} planner")
        return planner(tables, request)

    def normalizer(self, name: str) -> Callable[[str], str] | None:
        """The text normalisation `name` if this benchmark declares it, else None."""
        reference = self.text_normalizations.get(name)
        return None if reference is None else load_reference(reference, f"text normalisation {name!r}")

    def card_template_location(self) -> tuple[str, str]:
        """(package, file name) of the dataset card template."""
        return self._required("package"), self.card_template

    def make_sample(self, directory: str | Path, **options: Any) -> Path:
        """Write a small raw release in the published format: ``<package>.sample.make_release``.

        Raises:
            ValueError: the package has no ``sample`` module with ``make_release``.
        """
        make = load_reference(f"{self._required('package')}.sample:make_release", f"benchmark {self.benchmark!r} sample")
        return make(directory, **options)

    def oracle_reader(self) -> Any:
        """The module ``<package>.oracle``: what the oracle model reads for this benchmark.

        Raises:
            ValueError: the package has no ``oracle`` module.
        """
        module = f"{self._required('package')}.oracle"
        try:
            return importlib.import_module(module)
        except Exception as err:
            raise ValueError(f"benchmark {self.benchmark!r}: cannot import {module!r}: {type(err).__name__}: {err}") from err

    def _required(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ValueError(f"benchmark {self.benchmark!r} ({self.provider}) declares no {name}")
        return value

"""The shape of a results file: problems and their error, the JSON Schema, and a careful JSON reader.

The schema (`results.schema.json`, next to this file) says what a results file looks like. Its
benchmark and protocol enums are the registry's (`vidret.benchmarks.registered()`): the file
ships the built-in ones, and `results_schema()` fills in every registered benchmark, so a
plug-in's results validate without a change here. `vidret.evaluation.results.model` parses a
file into a typed record after this schema accepts it; tests hold the file, the registry and the
record's fields equal.

Every problem names the field it is about as a dotted path (`tasks.t2v.metrics.R@1`) and prints
with control characters escaped (`vidret.terminal.printable`).

What a results file may hold is bounded before anything looks at its values: its size
(`MAX_RESULTS_BYTES`, checked before reading), its queries (`MAX_QUERIES`, counted before any
other check), its nesting (`MAX_DEPTH`) and every number (finite, within ±`MAX_MAGNITUDE`: the
reader never converts a longer literal). The schema then gives each number field its own range.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from vidret.terminal import printable

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
# Results nest about 6 levels deep; anything far deeper is not a results file (and would make
# recursive readers such as jsonschema raise RecursionError).
MAX_DEPTH = 64
#: Largest results file read, in bytes, checked before reading. A real one is far smaller: per-query
#: data takes about 60 bytes a query for a retrieval task (id, cluster, rank) and 170 for a
#: composed one (id, 4 AP@K, 4 hit@K), so LoVR's 40,804 clips in all four clip tasks come to about
#: 10 MB and all ~180K TF-CoVR triplets in one split to about 30 MB.
MAX_RESULTS_BYTES = 64 * 1024**2
#: Most queries one results file scores, over all its tasks (each `num_queries` and the per-query
#: entries): more than five times every TF-CoVR triplet (~180K) and 24 times LoVR's 40,804 clips.
MAX_QUERIES = 1_000_000
#: Largest gallery of one task (`gallery_size`): a benchmark's whole video collection is far smaller.
MAX_GALLERY_SIZE = 10_000_000
#: Largest magnitude of any number in a results file: 2**53, within which every JSON reader holds an
#: integer exactly (I-JSON, RFC 7493). No count, rank, score, time or setting a run records comes
#: near it; NaN, Infinity and numbers past it (10**400 overflows a float) are refused where read.
MAX_MAGNITUDE = 2**53


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a results file.

    Attributes:
        path: dotted path of the field, e.g. "tasks.t2v.num_failed"; "(root)" for the whole file.
        message: what is wrong, in words.
    """

    path: str
    message: str

    def __str__(self) -> str:
        # Paths and messages quote the file's own keys and values: never print them raw.
        return f"{printable(self.path)}: {printable(self.message)}"


class ResultsValidationError(ValueError):
    """A results file could not be read or failed validation; `problems` lists every problem found
    and `source` names the file (when there is one)."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{printable(source)}: " if source else ""
        if len(self.problems) == 1 and self.problems[0].path == "(root)":
            # The file as a whole (missing, not JSON, not an object): one line.
            super().__init__(f"{where}{printable(self.problems[0].message)}")
            return
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where}{len(self.problems)} problem(s) in results\n{lines}")


def dotted(parts: Any) -> str:
    """A JSON path as the dotted text problems use ("(root)" for the empty path)."""
    return ".".join(str(p) for p in parts) or "(root)"


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The results JSON Schema as shipped with vidret (built-in benchmarks in its enums).

    Returns:
        The parsed schema (draft 2020-12).
    """
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def registered_ids() -> tuple[list[str], list[str]]:
    """(benchmark ids, protocol names) of every registered benchmark, in registry order."""
    from vidret.benchmarks import registered

    benchmarks = registered()
    protocols: dict[str, None] = {}
    for spec in benchmarks.values():
        protocols.update(dict.fromkeys(spec.protocols))
    return list(benchmarks), list(protocols)


def results_schema() -> dict[str, Any]:
    """The schema `vidret validate` applies: the shipped one with the registry's enums.

    ``settings.protocol`` may also be null: absent and null both mean "vidret".
    """
    benchmarks, protocols = registered_ids()
    return _with_enums(tuple(benchmarks), tuple(protocols))


@lru_cache(maxsize=4)
def _with_enums(benchmarks: tuple[str, ...], protocols: tuple[str, ...]) -> dict[str, Any]:
    schema = copy.deepcopy(load_schema())
    schema["properties"]["benchmark"]["enum"] = list(benchmarks)
    schema["properties"]["settings"]["properties"]["protocol"]["enum"] = [*protocols, None]
    return schema


class RefusedNumber:
    """A number literal the JSON reader did not turn into a number (NaN, Infinity, past
    `MAX_MAGNITUDE`): it stands in the parsed data so that `structure_problems` names its field."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return _shorten(self.text)


def _shorten(text: str, width: int = 24) -> str:
    return text if len(text) <= width else f"{text[:12]}... ({len(text)} characters)"


def number_problem(value: Any) -> str | None:
    """What is wrong with a JSON scalar as a number of a results file (None: nothing, or not a number).

    Every number is finite and within ±`MAX_MAGNITUDE`; the schema and the consistency checks
    narrow each field further.
    """
    if isinstance(value, RefusedNumber):
        shown = repr(value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # strings, null, booleans: the schema's to judge
    elif -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return None
    else:
        shown = _shorten(repr(value))
    if shown.lstrip("-").lower() in ("nan", "infinity", "inf"):
        return f"{shown} is not a finite number"
    return (
        f"{shown} is out of range: a number in a results file lies within ±2**53 = {MAX_MAGNITUDE:,} "
        "(vidret.evaluation.results.schema.MAX_MAGNITUDE)"
    )


def structure_problems(data: Any, duplicates: dict[int, list[str]] | None = None) -> list[Problem]:
    """Nesting deeper than MAX_DEPTH, duplicate keys, and numbers no results file holds (NaN,
    Infinity, past ±`MAX_MAGNITUDE`: the first such per object or array), found without recursion.

    Args:
        data: parsed JSON.
        duplicates: ``{id(dict): [keys that appeared more than once in it]}`` from the parser.
    """
    problems: list[Problem] = []
    found = number_problem(data)
    if found:
        return [Problem("(root)", found)]
    stack: list[tuple[Any, tuple, int]] = [(data, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            for key in (duplicates or {}).get(id(node), []):
                problems.append(
                    Problem(
                        dotted([*path, key]),
                        "key appears more than once in its object; JSON readers disagree on which value counts "
                        "(write each key once)",
                    )
                )
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth >= MAX_DEPTH:
            problems.append(Problem(dotted(path), f"nested more than {MAX_DEPTH} levels deep; not a results file"))
            continue
        bad_number = None
        for key, value in children:
            kind = type(value)
            if kind is dict or kind is list or isinstance(value, (dict, list)):
                stack.append((value, (*path, key), depth + 1))
            elif kind is str or value is None or ((kind is int or kind is float) and -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE):
                continue  # the common cases, without a call per entry (per-query columns are long)
            elif bad_number is None and (found := number_problem(value)):
                bad_number = Problem(dotted([*path, key]), found)
        if bad_number is not None:
            problems.append(bad_number)
    return sorted(problems, key=lambda p: p.path)


def query_count_problems(data: Any) -> list[Problem]:
    """Per-query data for more than `MAX_QUERIES` queries over all tasks (checked first: cheap,
    and the other checks take time in proportion to the entries)."""
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict):
        return []
    counts = {}
    for task_id, task in tasks.items():
        per_query = task.get("per_query") if isinstance(task, dict) else None
        if isinstance(per_query, dict):
            counts[task_id] = max((len(v) for v in per_query.values() if isinstance(v, list)), default=0)
    total = sum(counts.values())
    if total <= MAX_QUERIES:
        return []
    each = ", ".join(f"{task_id}: {count:,}" for task_id, count in counts.items())
    return [
        Problem(
            "tasks",
            f"per-query data for {total:,} queries ({each}); a results file holds at most {MAX_QUERIES:,} "
            "over all its tasks (vidret.evaluation.results.schema.MAX_QUERIES)",
        )
    ]


def schema_problems(results: Any) -> list[Problem]:
    """What the results schema (with the registry's enums) says is wrong with `results`."""
    import jsonschema  # lazily: `vidret --help` should not pay for it

    validator = jsonschema.Draft202012Validator(results_schema(), format_checker=jsonschema.FormatChecker())
    problems = []
    for error in sorted(validator.iter_errors(results), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "required":
            # Name the missing field itself rather than its parent.
            missing = re.match(r"'([^']+)' is a required property", error.message)
            if missing:
                problems.append(Problem(dotted([*path, missing.group(1)]), "required field is missing"))
                continue
        problems.append(Problem(dotted(path), error.message))
    return list(dict.fromkeys(problems))


def _too_large(size: int, more: bool = False) -> str:
    return (
        f"{'more than ' if more else ''}{size:,} bytes; a results file is at most {MAX_RESULTS_BYTES:,} bytes "
        "(vidret.evaluation.results.schema.MAX_RESULTS_BYTES): per-query data this large is no benchmark split's"
    )


def _parse_int(text: str) -> int | RefusedNumber:
    # 2**53 has 16 digits: a longer literal is refused without converting it (Python refuses to
    # convert more than 4,300 digits, and the conversion of long ones is quadratic).
    return int(text) if len(text) <= 17 else RefusedNumber(text)


def _parse_float(text: str) -> float | RefusedNumber:
    value = float(text)
    return value if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE else RefusedNumber(text)


def read_json(path: str | Path) -> Any:
    """Read a JSON file, refusing repeated keys and absurd nesting.

    Args:
        path: the file.

    Returns:
        The parsed JSON (any type: the caller checks it is an object).

    Raises:
        FileNotFoundError: when the file does not exist.
        ResultsValidationError: when it is larger than `MAX_RESULTS_BYTES` (checked before
            reading), not JSON, repeats a key within an object (each named by its path), is nested
            deeper than `MAX_DEPTH`, or holds a number no results file holds (NaN, Infinity, past
            ±`MAX_MAGNITUDE`, named by its path).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file not found: {printable(path)}")
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ResultsValidationError([Problem("(root)", f"cannot be read: {err.strerror or err}")], str(path)) from None
    if size > MAX_RESULTS_BYTES:
        raise ResultsValidationError([Problem("(root)", _too_large(size))], str(path))
    duplicates: dict[int, list[str]] = {}
    repeated: list[dict] = []  # keeps those dicts alive, so their ids stay theirs

    def pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            counts: dict[str, int] = {}
            for key, _ in pairs:
                counts[key] = counts.get(key, 0) + 1
            duplicates[id(obj)] = [key for key, count in counts.items() if count > 1]
            repeated.append(obj)
        return obj

    try:
        with path.open("rb") as file:
            raw = file.read(MAX_RESULTS_BYTES + 1)  # the file may have grown since stat()
        if len(raw) > MAX_RESULTS_BYTES:
            raise ResultsValidationError([Problem("(root)", _too_large(len(raw), more=True))], str(path))
        data = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=pairs_to_dict,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=RefusedNumber,
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultsValidationError([Problem("(root)", f"not valid JSON: {err}")], str(path)) from None
    except RecursionError:
        raise ResultsValidationError(
            [Problem("(root)", f"nested too deeply to read (results nest about 6 levels; the limit is {MAX_DEPTH})")],
            str(path),
        ) from None
    except OSError as err:
        raise ResultsValidationError([Problem("(root)", f"cannot be read: {err.strerror or err}")], str(path)) from None
    structure = query_count_problems(data) or structure_problems(data, duplicates)
    if structure:
        raise ResultsValidationError(structure, str(path))
    return data

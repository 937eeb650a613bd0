"""Loading a built dataset repo's configs and asking the benchmark's planner for its `TaskPlan`.

Generic: which configs to read is the benchmark's (`Benchmark.plan_configs`, from its column
contract), which rows (the split, or every split) and which caption-query configs are the
protocol's rules; the rows become tasks in the benchmark's own planner (`Benchmark.plan`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vidret.benchmarks import RELEASE_SPLIT, get_benchmark
from vidret.evaluation.planning.data_location import hub_dataset_commit
from vidret.evaluation.planning.tasks import PlanRequest, TaskPlan, parse_long_video, resolve_task_ids, rows_of


def is_local(data: str) -> bool:
    return Path(data).expanduser().exists()


def make_resolver(
    data: str, revision: str | None, video_root: str | None, allow_external: bool = False
) -> Callable[[str], str]:
    """Map a dataset row's video reference to a decodable source (`vidret.datasets.resolve_video_path`).

    Relative paths resolve against `video_root` when given, else against the dataset repo itself:
    the local folder, or ``hf://datasets/<repo>@<revision>`` for a Hub repo (streamed with range reads).
    A reference outside that root (another URL, an absolute path, ``..``) raises
    `ExternalVideoError` unless `allow_external` (``--allow-external-videos``).
    """
    from vidret.datasets import resolve_video_path

    if video_root is not None:
        root = str(Path(video_root).expanduser().resolve())
    elif is_local(data):
        root = str(Path(data).expanduser().resolve())
    else:
        root = f"hf://datasets/{data}@{revision or 'main'}"
    return lambda ref: resolve_video_path(ref, root, allow_external=allow_external)


def _load_rows(
    data: str, config: str, split: str | None, revision: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of `split` of `config` (None: every split, one after another in the dataset's order)
    and their fingerprint."""
    import tempfile

    if not is_local(data):
        return _read_rows(data, config, split, revision, cache_dir=None)
    # A local folder is read afresh, in a cache of its own: `datasets` keys its cache of a repo
    # with YAML configs by the folder name and file patterns, not the files' contents, so a folder
    # rebuilt in place (or another one of the same name) would come back as the rows read the first
    # time -- or, when the build's columns changed, fail to cast to the features cached then
    # (`force_redownload` still reads those). The rows are materialised before the cache goes.
    with tempfile.TemporaryDirectory(prefix="vidret-local-dataset-") as cache_dir:
        return _read_rows(str(Path(data).expanduser()), config, split, revision, cache_dir=cache_dir)


@contextmanager
def quiet_datasets() -> Iterator[None]:
    """Within the block, `datasets` prints only errors and no progress bars of its own; both restored after.

    A TF-CoVR run printed six "Generating <split> split" bars (three splits, two configs) before
    vidret's own; card-parsing chatter would bury the run's log. ``HF_DATASETS_DISABLE_PROGRESS_BARS=0``
    (the user wants them) is left alone.
    """
    import datasets

    verbosity = datasets.logging.get_verbosity()
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.logging.set_verbosity_error()
    if bars_were_on and datasets.config.HF_DATASETS_DISABLE_PROGRESS_BARS is None:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.logging.set_verbosity(verbosity)
        if bars_were_on and not datasets.is_progress_bar_enabled():
            datasets.enable_progress_bars()


def _read_rows(
    path: str, config: str, split: str | None, revision: str | None, cache_dir: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    import datasets

    try:
        with quiet_datasets():
            # (`datasets` prepares every split of the config either way: read them all in this one load)
            loaded = datasets.load_dataset(path, config, split=split, revision=revision, cache_dir=cache_dir)
    except ValueError as err:
        raise ValueError(f"cannot load config {config!r} split {split!r} of {path!r}: {err}") from err
    rows: list[dict[str, Any]] = []
    fingerprints: list[str | None] = []
    for ds in loaded.values() if split is None else [loaded]:
        # Keep the raw video reference (path/URL), never decoded video objects.
        for name, feature in ds.features.items():
            if type(feature).__name__ == "Video":
                ds = ds.cast_column(name, type(feature)(decode=False))
        part = rows_of(ds)
        for row in part:
            for key, value in row.items():
                if isinstance(value, dict) and "path" in value and "bytes" in value:
                    row[key] = value["path"]
        rows += part
        fingerprints.append(getattr(ds, "_fingerprint", None))
    if split is not None:
        return rows, fingerprints[0]
    return rows, hashlib.sha256("|".join(map(str, fingerprints)).encode()).hexdigest()[:16]


def _load_query_lists(
    data: str, configs: list[str], split: str, revision: str | None, sources: dict[str, str], protocol: str
) -> dict[str, list[dict[str, Any]]]:
    """The rows of the caption-query configs a protocol needs.

    Raises:
        ValueError: a config the dataset does not have, naming the raw release file to add.
    """
    if not configs:
        return {}
    import datasets

    path = str(Path(data).expanduser()) if is_local(data) else data
    with quiet_datasets():
        available = datasets.get_dataset_config_names(path, revision=revision)
    out = {}
    for config in configs:
        if config not in available:
            raise ValueError(
                f"--protocol {protocol} needs the config {config!r} (the official caption queries), which {data!r} "
                f"does not have (its configs: {sorted(available)}); put {sources.get(config, config)} of the "
                "official release into the raw folder and rebuild it with `vidret build`"
            )
        out[config] = _load_rows(data, config, split, revision)[0]
    return out


def _local_revision(data: str) -> str | None:
    """A local build's version in the tag form `vidret publish` gives it (``"v1.0.0"``), or None.

    Results then name the revision the Hub will hold once the folder is published.
    """
    import json

    from vidret.builders.config import version_tag

    root = Path(data).expanduser()
    for name in ("manifest.json", "build_manifest.json"):
        f = root / name
        if f.is_file():
            try:
                meta = json.loads(f.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            version = meta.get("version") if isinstance(meta, dict) else None
            if version:
                return version_tag(str(version))
    return None


def load_plan(
    benchmark: str,
    data: str,
    *,
    split: str = "test",
    revision: str | None = None,
    tasks: str | Sequence[str] | None = None,
    long_video: str = "clips",
    aggregate: str = "mean",
    limit: int | None = None,
    video_root: str | None = None,
    allow_external: bool = False,
    protocol: str | None = None,
) -> tuple[TaskPlan, dict[str, Any]]:
    """Load the dataset configs a benchmark needs and derive its tasks.

    Args:
        benchmark: a registered benchmark's id or alias.
        data: built dataset repo (local folder or Hub dataset id).
        split: dataset split.
        revision: dataset revision.
        tasks: task ids; None = the benchmark's defaults.
        long_video: "clips", "window:<seconds>" or "concat" (see `vidret.evaluation.planning.tasks.LongVideo`);
            a protocol that declares its own (`ProtocolSpec.full_video`) is told when another is used.
        aggregate: "mean" or "max".
        limit: see `EvalSettings.limit`.
        video_root: folder holding the videos of an annotations-only repo.
        allow_external: accept video references outside the repo / `video_root`.
        protocol: "vidret" (default) or "official"; its rules say which rows to read (the split,
            or every split of the release) and which caption-query configs.

    Returns:
        (plan, dataset record {"repo", "revision", "commit", "fingerprint"}): `revision` is the one
        asked for, else the resolved Hub commit, else a local build's version in the tag form
        `vidret publish` gives it (e.g. "v1.0.0"); `commit` is the Hub commit read (None for a
        local folder or when the Hub could not be asked).

    Raises:
        ValueError: bad arguments, data that does not fit the benchmark (file/row named), or a
            config the protocol needs that the dataset lacks (the raw file to add is named).
        ExternalVideoError: a row names a video outside the repo / `video_root` (a ValueError;
            nothing was requested or opened) and `allow_external` is off.
    """
    asked_revision = revision
    spec = get_benchmark(benchmark)
    protocol_spec = spec.protocol(protocol)
    task_ids = resolve_task_ids(spec, tasks)
    # Read a Hub repo at the commit its revision points at now, and record that commit.
    commit = None if is_local(data) else hub_dataset_commit(data, revision)  # fails at once if not on the Hub
    revision = commit or revision
    resolve = make_resolver(data, revision, video_root, allow_external)
    # The protocol's rules say whether the tasks rank the split or the whole release.
    release = protocol_spec.reads_release(task_ids)
    tables: dict[str, list[dict[str, Any]]] = {}
    fingerprints: list[str | None] = []
    for config in spec.plan_configs():
        tables[config], config_fingerprint = _load_rows(data, config, None if release else split, revision)
        fingerprints.append(config_fingerprint)
    configs = list(dict.fromkeys(c for t in task_ids if (c := protocol_spec.tasks[t].rules.caption_queries)))
    query_lists = _load_query_lists(data, configs, split, revision, spec.query_configs, protocol_spec.name)
    request = PlanRequest(
        task_ids=tuple(task_ids),
        split=RELEASE_SPLIT if release else split,
        protocol=protocol_spec,
        resolve=resolve,
        long_video=parse_long_video(long_video, aggregate),
        limit=limit,
        query_lists=query_lists,
    )
    plan = spec.plan(tables, request)
    if plan.ranks_full_videos and protocol_spec.full_video and request.long_video.segments != protocol_spec.full_video:
        # The protocol's reference code builds full videos its own way: an option here, so say it.
        logging.getLogger(__name__).warning(
            "the %s protocol's reference code embeds a full video as --long-video %s; this run uses --long-video %s "
            "(recorded in settings.long_video)", protocol_spec.name, protocol_spec.full_video, long_video,
        )
    fingerprint = hashlib.sha256("|".join(map(str, fingerprints)).encode()).hexdigest()[:16] if all(fingerprints) else None
    version = asked_revision or commit or (_local_revision(data) if is_local(data) else None)
    return plan, {"repo": data, "revision": version, "commit": commit, "fingerprint": fingerprint}

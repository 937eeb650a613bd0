"""The build pipeline shared by every benchmark: raw release -> Hub dataset repo folder.

`DatasetBuilder` holds the logic (locating and extracting videos, probing durations in
threads, the missing-video policy, writing Parquet, videos, card, `eval.yaml`, manifest and
`missing.json`). A benchmark subclass holds the data: its configs and columns, raw file
names, splits and card template, plus the two benchmark-specific steps `read_annotations`
(parse and validate the raw tables) and `make_tables` (turn them and the probed durations
into the rows of each config).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tqdm.auto import tqdm

from vidret.benchmarks import BenchmarkSpec, get_benchmark
from vidret.builders import repo
from vidret.builders.archive import safe_extract, sha256_file
from vidret.builders.config import BuildConfig, BuildError, BuildReport, MissingVideo

logger = logging.getLogger(__name__)


def pyav_duration(path: Path) -> float:
    """Duration in seconds of a video file, probed with `vidret.video.probe` (PyAV, no decoding).

    Raises:
        vidret.video.VideoNotFoundError: the file does not exist (a FileNotFoundError).
        vidret.video.VideoDecodeError: the file cannot be opened as a video.
    """
    from vidret.video import probe

    return float(probe(path).duration)


@dataclass
class VideoRef:
    """A raw video the annotations reference.

    Attributes:
        key: unique key within the build (e.g. ``"merged:<vid>"``, ``"clip:<clip_id>"``).
        video_id: the id shown to users (video id or clip id).
        source: the raw file.
        display_path: `source` relative to RAW (for messages and `missing.json`).
        rows: annotation rows that reference it.
        repo_path: where it goes in the repo folder (``videos/<id>.mp4``), or None when it is
            only probed (LoVR clip files: clip rows point at the full video instead).
    """

    key: str
    video_id: str
    source: Path
    display_path: str
    rows: int = 0
    repo_path: str | None = None


class DatasetBuilder(ABC):
    """Build one benchmark's Hub dataset repo folder from its raw public release.

    Subclasses set these data attributes (and implement `read_annotations`,
    `video_refs` and `make_tables`):

    Attributes:
        BENCHMARK: key in `vidret.benchmarks.BENCHMARKS`.
        SPLITS: ``{config: (split, ...)}`` in card order.
        TEMPLATE_PACKAGE: package holding the card template (``vidret.dataset_repos.<name>``).
        TEMPLATE_NAME: the template file name.
        LICENSE: card licence id.
        EVAL_SPLIT: split named in `eval.yaml`.

    Args:
        raw: the raw release folder (RAW).
        out: the repo folder to write (OUT); files an earlier build wrote there are replaced,
            anything else (e.g. ``.git``) is left alone.
        config: build options.
    """

    BENCHMARK: ClassVar[str]
    SPLITS: ClassVar[dict[str, tuple[str, ...]]]
    TEMPLATE_PACKAGE: ClassVar[str]
    TEMPLATE_NAME: ClassVar[str] = "README.md.jinja"
    LICENSE: ClassVar[str] = "other"
    EVAL_SPLIT: ClassVar[str] = "test"

    def __init__(self, raw: str | Path, out: str | Path, config: BuildConfig | None = None) -> None:
        self.raw = Path(raw)
        self.out = Path(out)
        self.config = config or BuildConfig()
        self.spec: BenchmarkSpec = get_benchmark(self.BENCHMARK)
        self.report = BuildReport(benchmark=self.BENCHMARK, out=self.out)
        self.input_digests: dict[str, dict[str, Any]] = {}
        self._extracted = False
        self._num_bytes: dict[str, dict[str, int]] = {}

    # ----- what a subclass provides ---------------------------------------------------------
    @classmethod
    @abstractmethod
    def schemas(cls) -> dict[str, Any]:
        """``{config: pyarrow.Schema}``: the columns of each config, in order."""

    @abstractmethod
    def read_annotations(self) -> Any:
        """Parse and validate the raw annotation files (raise BuildError naming file and row)."""

    @abstractmethod
    def locate_videos(self, work: Path) -> Path:
        """The folder holding the raw videos (extracting archive parts into `work` if needed)."""

    @abstractmethod
    def video_refs(self, annotations: Any, video_dir: Path) -> dict[str, VideoRef]:
        """Every raw video the annotations reference, by key."""

    @abstractmethod
    def make_tables(self, annotations: Any, durations: Mapping[str, float | None]) -> dict[str, dict[str, list[dict]]]:
        """``{config: {split: rows}}`` from the annotations and probed durations (None = missing)."""

    def card_context(self, annotations: Any, tables: Mapping[str, Mapping[str, list]]) -> dict[str, Any]:
        """Extra variables for the card template."""
        return {}

    # ----- the pipeline ---------------------------------------------------------------------
    def build(self) -> BuildReport:
        """Run the build and write OUT.

        Returns:
            The build report (also stored in ``manifest.json``).

        Raises:
            BuildError: bad raw input (names file and row), referenced videos absent or
                unreadable without ``allow_missing``, an unsafe archive, or RAW and OUT
                nested in each other.
        """
        if not self.raw.is_dir():
            raise BuildError("raw release folder not found", file=self.raw)
        raw, out = self.raw.resolve(), self.out.resolve()
        if out == raw or raw in out.parents:
            raise BuildError("the output folder must not be inside the raw release folder", file=self.out)
        if out in raw.parents:
            # A rebuild clears OUT's data/ and videos/, and publish uploads all of OUT: keep RAW out of it.
            raise BuildError("the raw release folder must not be inside the output folder", file=self.raw)
        annotations = self.read_annotations()
        self.out.mkdir(parents=True, exist_ok=True)
        work_parent = Path(self.config.work_dir) if self.config.work_dir is not None else self.out.parent
        work_parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".vidret-build-", dir=work_parent))
        try:
            video_dir = self.locate_videos(work)
            if self.config.videos == "link" and self._extracted:  # checked before OUT is touched
                raise BuildError(
                    "--videos link needs extracted videos: these were streamed out of archive parts into a temporary "
                    "folder. Extract video_data/ first, or use --videos copy.",
                    file=self.raw,
                )
            refs = self.video_refs(annotations, video_dir)
            durations = self._probe_all(refs)
            tables = self.make_tables(annotations, durations)
            repo.clear_managed(self.out)
            self._write_tables(tables)
            self._place_videos(refs, durations)
            self._write_metadata(annotations, tables)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return self.report

    def extract_parts(self, parts: list[Path], work: Path) -> Path:
        """Stream the archive parts into ``work/extracted``; their checksums go to the manifest."""
        dest = work / "extracted"
        digests = safe_extract(parts, dest, progress=self.config.progress)
        for part, digest in digests.items():
            self.input_digests[self._display(part)] = {"sha256": digest, "size": part.stat().st_size}
        self._extracted = True
        return dest

    def _display(self, path: Path) -> str:
        """`path` relative to RAW, for messages and the manifest (its name when outside RAW)."""
        try:
            return path.relative_to(self.raw).as_posix()  # lexical: no filesystem calls for 40K clips
        except ValueError:
            pass
        try:
            return path.resolve().relative_to(self.raw.resolve()).as_posix()
        except ValueError:
            return path.name

    def record_input(self, path: Path) -> None:
        """Checksum one annotation file for the manifest."""
        self.input_digests[self._display(path)] = {"sha256": sha256_file(path), "size": path.stat().st_size}

    def _probe_all(self, refs: Mapping[str, VideoRef]) -> dict[str, float | None]:
        probe = self.config.probe_duration or pyav_duration
        hash_sources = not self._extracted  # extracted files are covered by the parts' checksums

        def work(ref: VideoRef) -> tuple[float | None, str | None, dict | None]:
            try:
                duration = float(probe(ref.source))
            except FileNotFoundError:
                return None, "absent", None
            except Exception as err:  # any decoder error means "unreadable"; the policy below decides
                return None, f"unreadable: {type(err).__name__}: {err}", None
            digest = None
            if hash_sources and ref.source.is_file():
                digest = {"sha256": sha256_file(ref.source), "size": ref.source.stat().st_size}
            return duration, None, digest

        keys = sorted(refs)
        # Chunks of keys per task: one future per file would cost more than a fast probe.
        chunks = [keys[i : i + 64] for i in range(0, len(keys), 64)]
        results = []
        with ThreadPoolExecutor(max_workers=self.config.num_workers) as pool, tqdm(
            total=len(keys), desc="probing videos", unit="video", disable=not self.config.progress
        ) as bar:
            for chunk_results in pool.map(lambda chunk: [work(refs[k]) for k in chunk], chunks):
                results.extend(chunk_results)
                bar.update(len(chunk_results))
        durations: dict[str, float | None] = {}
        problems: list[MissingVideo] = []
        for key, (duration, problem, digest) in zip(keys, results):
            ref = refs[key]
            durations[key] = duration
            if digest is not None:
                self.input_digests[ref.display_path] = digest
            if problem is not None:
                problems.append(MissingVideo(ref.video_id, ref.display_path, problem, ref.rows))
        if problems and not self.config.allow_missing:
            listed = "; ".join(f"{p.path} ({p.reason}, referenced by {p.rows} row(s))" for p in problems[:10])
            more = f" and {len(problems) - 10} more" if len(problems) > 10 else ""
            raise BuildError(
                f"{len(problems)} referenced video(s) absent or unreadable: {listed}{more}. "
                "Pass --allow-missing (BuildConfig(allow_missing=True)) to build anyway and list them in missing.json.",
                file=self.raw,
            )
        self.report.missing = problems
        for p in problems:
            logger.warning("video %s: %s", p.path, p.reason)
        return durations

    def _write_tables(self, tables: Mapping[str, Mapping[str, list[dict]]]) -> None:
        schemas = self.schemas()
        for config, splits in tables.items():
            self.report.num_rows[config] = {}
            self._num_bytes[config] = {}
            for split in self.SPLITS[config]:
                rows = splits.get(split, [])
                self.report.num_rows[config][split] = len(rows)
                if rows:
                    _, self._num_bytes[config][split] = repo.write_shards(
                        rows, schemas[config], self.out / "data" / config, split, self.config.max_rows_per_shard
                    )

    def _place_videos(self, refs: Mapping[str, VideoRef], durations: Mapping[str, float | None]) -> None:
        if self.config.videos == "none":
            return
        shipped = [r for r in refs.values() if r.repo_path is not None and durations.get(r.key) is not None]
        for ref in tqdm(sorted(shipped, key=lambda r: r.repo_path), desc="placing videos", unit="video", disable=not self.config.progress):
            repo.place_video(ref.source, self.out / ref.repo_path, self.config.videos, move=self._extracted)

    def _write_metadata(self, annotations: Any, tables: Mapping[str, Mapping[str, list]]) -> None:
        from vidret import __version__

        schemas = self.schemas()
        header = repo.card_yaml(
            self.spec, self.config.version, schemas, self.report.num_rows, self._num_bytes, self.LICENSE
        )
        context = {
            "yaml_header": header.rstrip("\n"),
            "version": self.config.version,
            "spec": self.spec,
            "num_rows": self.report.num_rows,
            "schemas": {c: [(f.name, str(f.type)) for f in s] for c, s in schemas.items()},
            "videos_mode": self.config.videos,
            "missing": [m.to_dict() for m in self.report.missing],
            "report": self.report.to_dict(),
            "vidret_version": __version__,
        }
        context.update(self.card_context(annotations, tables))
        card = repo.render_card(self.TEMPLATE_PACKAGE, self.TEMPLATE_NAME, context)
        (self.out / "README.md").write_text(card, encoding="utf-8")
        (self.out / "eval.yaml").write_text(
            repo.eval_yaml(self.spec, self.config.version, self.EVAL_SPLIT, self.spec.title), encoding="utf-8"
        )
        if self.report.missing:
            repo.write_json(self.out / "missing.json", [m.to_dict() for m in self.report.missing])
        outputs, videos = {}, {}
        for path in sorted(self.out.rglob("*")):
            rel = path.relative_to(self.out).as_posix()
            if path.is_file() and not path.is_symlink() and rel.split("/")[0] in ("data", "eval.yaml", "README.md", "missing.json"):
                outputs[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
            elif path.is_file() and rel.split("/")[0] == "videos":
                videos[rel] = path.stat().st_size  # sizes only: hashing every video again would be slow
        repo.write_json(
            self.out / "manifest.json",
            {
                "benchmark": self.BENCHMARK,
                "version": self.config.version,
                "vidret_version": __version__,
                "build_options": self.config.to_manifest(),
                "inputs": dict(sorted(self.input_digests.items())),
                "outputs": outputs,
                # Whether the repo holds video files, and which: `vidret publish` uploads them only
                # when they are listed here (and the user asks for it).
                "videos": {"included": bool(videos), "mode": self.config.videos, "files": videos},
                "report": self.report.to_dict(),
            },
        )

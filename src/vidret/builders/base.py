"""The build pipeline shared by every benchmark: raw release -> Hub dataset repo folder.

`DatasetBuilder` holds the logic (locating and extracting videos, probing durations in
threads, the missing-video policy, writing Parquet, videos, card, `eval.yaml`, manifest and
`missing.json`). A benchmark's subclass (in its package, `vidret.benchmarks.<name>.builder`)
holds the data: raw file names and splits, plus the two benchmark-specific steps
`read_annotations` (parse and validate the raw tables) and `make_tables` (turn them and the
probed durations into the rows of each config). The columns written are the benchmark's
`ColumnContract`; its card template, licence and title come from its `Benchmark`.

A build is written into a temporary sibling of OUT and moved into OUT at the end
(`repo.swap_in`): a build that fails or is interrupted leaves the previous build intact.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tqdm.auto import tqdm

from vidret.benchmarks import Benchmark, get_benchmark
from vidret.builders import repo
from vidret.builders.archive import ArchiveLimits, WantedMembers, safe_extract
from vidret.common import sha256_file
from vidret.builders.config import BuildConfig, BuildError, BuildReport, MissingVideo, few

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
            only probed unless `DatasetBuilder.videos_to_place` says otherwise (LoVR clip files:
            clip rows point at the full video instead).
    """

    key: str
    video_id: str
    source: Path
    display_path: str
    rows: int = 0
    repo_path: str | None = None


class DatasetBuilder(ABC):
    """Build one benchmark's Hub dataset repo folder from its raw public release.

    Subclasses set these data attributes (and implement `read_annotations`, `video_refs` and
    `make_tables`; `locate_videos` when the videos may come in another form than `VIDEO_DIR`):

    Attributes:
        BENCHMARK: the benchmark's id in the registry (`vidret.benchmarks.get_benchmark`).
        SPLITS: ``{config: (split, ...)}`` in card order (`splits` may narrow it per release).
        EVAL_SPLIT: split named in `eval.yaml`.
        VIDEO_DIR: the release's video folder, relative to RAW.
        VIDEO_ROOT_EXAMPLE: the ``--video-root`` the card's evaluate command shows.
        VIDEO_ROOT_NOTE: what that folder is, for the card.
        EXAMPLE_MODEL: the model the card's evaluate command shows.

    Args:
        raw: the raw release folder (RAW).
        out: the repo folder to write (OUT); files an earlier build wrote there are replaced
            once the new build is complete, anything else (e.g. ``.git``) is left alone.
        config: build options.
    """

    BENCHMARK: ClassVar[str]
    SPLITS: ClassVar[dict[str, tuple[str, ...]]]
    EVAL_SPLIT: ClassVar[str] = "test"
    VIDEO_DIR: ClassVar[str] = "videos"
    VIDEO_ROOT_EXAMPLE: ClassVar[str] = "videos"
    VIDEO_ROOT_NOTE: ClassVar[str] = "your copy of the videos"
    EXAMPLE_MODEL: ClassVar[str] = "openai/clip-vit-base-patch32"

    def __init__(self, raw: str | Path, out: str | Path, config: BuildConfig | None = None) -> None:
        self.raw = Path(raw)
        self.out = Path(out)
        self.config = config or BuildConfig()
        self.spec: Benchmark = get_benchmark(self.BENCHMARK)
        self.report = BuildReport(benchmark=self.BENCHMARK, out=self.out)
        self.input_digests: dict[str, dict[str, Any]] = {}
        self._extracted = False
        self._num_bytes: dict[str, dict[str, int]] = {}
        self._video_files: dict[str, int] = {}
        self.stage = self.out  # where files are written: a temporary sibling of OUT during `build`

    # ----- what a subclass provides ---------------------------------------------------------
    @classmethod
    def schemas(cls) -> dict[str, Any]:
        """``{config: pyarrow.Schema}``: the columns of each config, in order (the benchmark's
        `ColumnContract`, the same one its planner requires)."""
        return get_benchmark(cls.BENCHMARK).column_contract().arrow_schemas()

    @abstractmethod
    def read_annotations(self) -> Any:
        """Parse and validate the raw annotation files (raise BuildError naming file and row)."""

    def locate_videos(self, work: Path, annotations: Any) -> Path | None:
        """The folder holding the raw videos (extracting archive parts into `work` if needed).

        Returns None when the release has no video folder at all: an annotations-only build,
        where nothing is probed and every duration is null. Default: ``RAW/VIDEO_DIR`` if it exists.
        """
        folder = self.raw / self.VIDEO_DIR
        return folder if folder.is_dir() else None

    @abstractmethod
    def video_refs(self, annotations: Any, video_dir: Path) -> dict[str, VideoRef]:
        """Every raw video the annotations reference, by key."""

    @abstractmethod
    def make_tables(self, annotations: Any, durations: Mapping[str, float | None]) -> dict[str, dict[str, list[dict]]]:
        """``{config: {split: rows}}`` from the annotations and probed durations (None = missing)."""

    def splits(self) -> dict[str, tuple[str, ...]]:
        """``{config: (split, ...)}`` of this build (known after `read_annotations`); default `SPLITS`."""
        return self.SPLITS

    def videos_to_place(
        self, refs: Mapping[str, VideoRef], durations: Mapping[str, float | None], tables: Mapping[str, Any]
    ) -> list[VideoRef]:
        """The files ``--videos copy|link`` puts into the repo: every readable ref with a `repo_path`."""
        return [r for r in refs.values() if r.repo_path is not None and durations.get(r.key) is not None]

    def card_context(self, annotations: Any, tables: Mapping[str, Mapping[str, list]]) -> dict[str, Any]:
        """Extra variables for the card template."""
        return {}

    def without_videos_advice(self) -> str:
        """How to evaluate a build made without a video folder: the end of its warning (stored in
        the manifest, so it names no local path; commands go to `report.next_steps`)."""
        return "evaluate with --video-root pointing at your copy of the videos"

    def evaluate_command(self, data: str, tables: Mapping[str, Any]) -> str:
        """The `vidret evaluate` command the card shows, complete and runnable as printed.

        Args:
            data: the folder the card's download line writes the repository to.
            tables: the built rows (a subclass may add arguments the data needs).
        """
        video_root = "" if self.report.videos_included else f" --video-root {self.VIDEO_ROOT_EXAMPLE}"
        return f"vidret evaluate --benchmark {self.BENCHMARK} --data {data}{video_root} --model {self.EXAMPLE_MODEL}"

    # ----- the pipeline ---------------------------------------------------------------------
    def build(self) -> BuildReport:
        """Run the build and write OUT.

        Everything is written into a temporary sibling of OUT and moved into OUT at the end, so a
        build that fails or is interrupted leaves an earlier build in OUT intact.

        Returns:
            The build report (also stored in ``manifest.json``).

        Raises:
            BuildError: bad raw input (names file and row), referenced videos absent or
                unreadable without ``allow_missing``, ``--videos copy|link`` for a release
                without videos, an unsafe archive, or RAW and OUT nested in each other.
        """
        if not self.raw.is_dir():
            raise BuildError("raw release folder not found", file=self.raw)
        raw, out = self.raw.resolve(), self.out.resolve()
        if out == raw or raw in out.parents:
            raise BuildError("the output folder must not be inside the raw release folder", file=self.out)
        if out in raw.parents:
            # A rebuild replaces OUT's data/ and videos/, and publish uploads OUT: keep RAW out of it.
            raise BuildError("the raw release folder must not be inside the output folder", file=self.raw)
        annotations = self.read_annotations()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        repo.clean_stale_stages(self.out)  # what a killed build of OUT left behind
        # A sibling of OUT (same file system), so the final moves are renames.
        stage_root = repo.make_stage(self.out)
        try:
            self.stage = stage_root / "out"
            self.stage.mkdir()
            if self.config.work_dir is not None:
                Path(self.config.work_dir).mkdir(parents=True, exist_ok=True)
                work = Path(tempfile.mkdtemp(prefix=".vidret-work-", dir=self.config.work_dir))
            else:
                work = stage_root / "work"
            try:
                self._build_into_stage(annotations, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            repo.swap_in(self.stage, self.out, stage_root / "previous")
        finally:
            self.stage = self.out
            shutil.rmtree(stage_root, ignore_errors=True)
        return self.report

    def _build_into_stage(self, annotations: Any, work: Path) -> None:
        video_dir = self.locate_videos(work, annotations)
        if video_dir is None and self.config.videos != "none":
            raise BuildError(
                f"--videos {self.config.videos} needs the release's videos, but there is no video folder "
                f"({self.VIDEO_DIR}/). Build annotations only (--videos none, the default) or add the videos.",
                file=self.raw,
            )
        if self.config.videos == "link" and self._extracted:
            raise BuildError(
                "--videos link needs extracted videos: these were streamed out of archive parts into a temporary "
                "folder. Extract video_data/ first, or use --videos copy.",
                file=self.raw,
            )
        refs = self.video_refs(annotations, video_dir if video_dir is not None else self.raw / self.VIDEO_DIR)
        if video_dir is None:
            durations: dict[str, float | None] = dict.fromkeys(refs)
            self.report.warnings.append(
                f"no video folder ({self.VIDEO_DIR}/): annotations only, {len(refs)} referenced video(s) not probed; "
                + self.without_videos_advice()
            )
        else:
            durations = self._probe_all(refs, video_dir)
        tables = self.make_tables(annotations, durations)
        self._write_tables(tables)
        self._place_videos(self.videos_to_place(refs, durations, tables))
        self._write_metadata(annotations, tables)

    def extract_parts(
        self, parts: list[Path], work: Path, wanted: WantedMembers | Callable[[str], bool] | None = None
    ) -> Path:
        """Stream the archive parts into ``work/extracted``; their checksums go to the manifest.

        Args:
            parts: the archive parts, in order.
            work: the temporary work folder.
            wanted: selects the members to extract (those the annotations reference); None = all.
                A `WantedMembers` also stops the extraction once each was found.
        """
        dest = work / "extracted"
        limits = self.config.archive_limits or ArchiveLimits()
        digests = safe_extract(parts, dest, progress=self.config.progress, wanted=wanted, limits=limits)
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

    def _probe_all(self, refs: Mapping[str, VideoRef], video_dir: Path) -> dict[str, float | None]:
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
        absent = sum(p.reason == "absent" for p in problems)
        self.report.video_coverage = {
            "folder": f"{self.VIDEO_DIR} (archive parts)" if self._extracted else self._display(video_dir),
            "referenced": len(keys),
            "present": len(keys) - len(problems),
            "absent": absent,
            "unreadable": len(problems) - absent,
        }
        if problems and not self.config.allow_missing:
            listed = "; ".join(f"{p.path} ({p.reason}, referenced by {p.rows} row(s))" for p in problems[:10])
            more = f" and {len(problems) - 10} more" if len(problems) > 10 else ""
            raise BuildError(
                f"{len(problems)} referenced video(s) absent or unreadable: {listed}{more}. "
                "Pass --allow-missing (BuildConfig(allow_missing=True)) to build anyway and list them in missing.json.",
                file=self.raw,
            )
        self.report.missing = problems
        if problems:
            # One line for the whole build; the full list goes to missing.json only.
            self.report.warnings.append(
                f"{len(problems)} of {len(keys)} referenced video(s) absent ({absent}) or unreadable "
                f"({len(problems) - absent}), e.g. {few([p.path for p in problems])}; full list in missing.json"
            )
        return durations

    def _write_tables(self, tables: Mapping[str, Mapping[str, list[dict]]]) -> None:
        schemas = self.schemas()
        for config, splits in self.splits().items():
            self.report.num_rows[config] = {}
            self._num_bytes[config] = {}
            for split in splits:
                rows = tables.get(config, {}).get(split, [])
                self.report.num_rows[config][split] = len(rows)
                if rows:
                    _, self._num_bytes[config][split] = repo.write_shards(
                        rows, schemas[config], self.stage / "data" / config, split, self.config.max_rows_per_shard
                    )

    def _place_videos(self, refs: list[VideoRef]) -> None:
        if self.config.videos == "none":
            return
        for ref in tqdm(sorted(refs, key=lambda r: r.repo_path or ""), desc="placing videos", unit="video", disable=not self.config.progress):
            assert ref.repo_path is not None
            dest = self.stage / ref.repo_path
            repo.place_video(ref.source, dest, self.config.videos, move=self._extracted)
            self._video_files[ref.repo_path] = dest.lstat().st_size if self.config.videos == "link" else dest.stat().st_size
        self.report.videos_included = bool(self._video_files)

    def _write_metadata(self, annotations: Any, tables: Mapping[str, Mapping[str, list]]) -> None:
        from vidret import __version__
        from vidret.datasets import repo_id

        schemas = {c: s for c, s in self.schemas().items() if c in self.splits()}
        clone_dir = repo_id(self.BENCHMARK).split("/")[-1]
        header = repo.card_yaml(
            self.spec, self.config.version, schemas, self.report.num_rows, self._num_bytes, self.spec.licence.card_id
        )
        context = {
            "yaml_header": header.rstrip("\n"),
            "version": self.config.version,
            "spec": self.spec,
            "licence": self.spec.licence,
            "num_rows": self.report.num_rows,
            "schemas": {c: [(f.name, str(f.type)) for f in s] for c, s in schemas.items()},
            "videos_mode": self.config.videos,
            "videos_included": self.report.videos_included,
            "report": self.report.to_dict(),
            "vidret_version": __version__,
            "repo_id": repo_id(self.BENCHMARK),
            "clone_dir": clone_dir,
            "evaluate_command": self.evaluate_command(clone_dir, tables),
            "video_root_example": self.VIDEO_ROOT_EXAMPLE,
            "video_root_note": self.VIDEO_ROOT_NOTE,
        }
        context.update(self.card_context(annotations, tables))
        card = repo.render_card(*self.spec.card_template_location(), context)
        (self.stage / "README.md").write_text(card, encoding="utf-8")
        (self.stage / "eval.yaml").write_text(
            repo.eval_yaml(self.spec, self.config.version, self.EVAL_SPLIT, self.spec.title), encoding="utf-8"
        )
        if self.report.missing:
            repo.write_json(self.stage / "missing.json", [m.to_dict() for m in self.report.missing])
        outputs = {}
        for path in sorted(self.stage.rglob("*")):
            rel = path.relative_to(self.stage).as_posix()
            if path.is_file() and not path.is_symlink() and rel.split("/")[0] in ("data", "eval.yaml", "README.md", "missing.json"):
                outputs[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
        repo.write_json(
            self.stage / "manifest.json",
            {
                "benchmark": self.BENCHMARK,
                "version": self.config.version,
                "vidret_version": __version__,
                "build_options": self.config.to_manifest(),
                "inputs": dict(sorted(self.input_digests.items())),
                "outputs": outputs,
                # Whether the repo holds video files, and which: `vidret publish` uploads them only
                # when they are listed here (and the user asks for it).
                "videos": {
                    "included": self.report.videos_included,
                    "mode": self.config.videos,
                    "files": dict(sorted(self._video_files.items())),
                },
                "report": self.report.to_dict(),
            },
        )


def describe_folder(folder: Path, *inner: str, limit: int = 12) -> str:
    """A short listing of a folder (and of the named sub-folders) for "found ..." messages."""
    def names(path: Path, prefix: str = "") -> list[str]:
        try:
            entries = sorted(path.iterdir(), key=lambda p: p.name)
        except OSError:
            return []
        return [prefix + p.name + ("/" if p.is_dir() else "") for p in entries]

    found = names(folder)
    for sub in inner:
        if (folder / sub).is_dir():
            found += names(folder / sub, f"{sub}/")
    if not found:
        return "nothing (an empty folder)"
    return ", ".join(found[:limit]) + (f" and {len(found) - limit} more" if len(found) > limit else "")

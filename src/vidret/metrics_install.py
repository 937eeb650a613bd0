"""Install vidret's evaluate modules into evaluate's module cache (`vidret metrics install`).

`evaluate.load("composed_map")` with a bare name first asks the Hub for
`evaluate-metric/composed_map`; when that fails (always with `HF_EVALUATE_OFFLINE=1`) it falls
back to the newest cached copy in
`<HF_MODULES_CACHE>/evaluate_modules/metrics/evaluate-metric--composed_map/<64-char hash>/composed_map.py`
(evaluate 0.4.x, `CachedEvaluationModuleFactory`). Installing writes exactly that layout, so the
bare name resolves offline. Caveat: a Hub module of the same name is tried first and, once
downloaded, is cached in the same folder and shadows ours.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from vidret.common import sha256_file

METRIC_NAMES = ("composed_map", "video_retrieval")
# evaluate's namespace for canonical modules looked up by bare name (see module docstring).
_CANONICAL_PREFIX = "evaluate-metric--"
_DYNAMIC_PACKAGE = "evaluate_modules"
_EXTRA_FILES = ("README.md",)


@dataclass(frozen=True)
class MetricModule:
    """One shipped evaluate module.

    Attributes:
        name: the bare load name, e.g. "composed_map".
        source: folder holding `<name>.py` and its card.
        installed: script paths found in the module cache (newest last), empty if not installed;
            evaluate loads the newest when it cannot reach the Hub.
    """

    name: str
    source: Path
    installed: tuple[Path, ...] = ()

    @property
    def current(self) -> bool:
        """Whether the copy evaluate picks offline (the newest) is this vidret's script.

        False when not installed, or when a Hub download or an older vidret wrote it last.
        """
        if not self.installed:
            return False
        return self.installed[-1].read_bytes() == (self.source / f"{self.name}.py").read_bytes()


def metric_source_dir() -> Path:
    """The folder with the module scripts: `metrics/` of the repo, shipped as `vidret.metric_modules`.

    Returns:
        The folder holding one `<name>/<name>.py` (+ card) per module.
    """
    return Path(str(importlib.resources.files("vidret.metric_modules")))


def modules_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the HF modules cache: `cache_dir`, else evaluate's HF_MODULES_CACHE.

    Args:
        cache_dir: an explicit cache root; wins over the environment.

    Returns:
        `cache_dir`, else evaluate's HF_MODULES_CACHE ($HF_MODULES_CACHE, or $HF_HOME/modules).
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    loaded = sys.modules.get("evaluate.config")
    if loaded is not None:
        return Path(loaded.HF_MODULES_CACHE)
    # Same resolution as evaluate.config, without importing evaluate (it pulls in transformers: seconds).
    hf_home = os.getenv("HF_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "huggingface"))
    return Path(os.getenv("HF_MODULES_CACHE", os.path.join(os.path.expanduser(hf_home), "modules")))


def _check_names(names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if names is None:
        return METRIC_NAMES
    unknown = [n for n in names if n not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metric module(s) {unknown}; vidret ships {list(METRIC_NAMES)}")
    return tuple(dict.fromkeys(names))


def _metrics_root(cache_dir: str | os.PathLike | None) -> Path:
    return modules_cache_dir(cache_dir) / _DYNAMIC_PACKAGE / "metrics"


def _installed_scripts(root: Path, name: str) -> tuple[Path, ...]:
    folder = root / f"{_CANONICAL_PREFIX}{name}"
    scripts = [p / f"{name}.py" for p in folder.glob("*") if len(p.name) == 64 and (p / f"{name}.py").is_file()]
    return tuple(sorted(scripts, key=lambda p: p.stat().st_mtime))


def list_metrics(cache_dir: str | os.PathLike | None = None) -> list[MetricModule]:
    """The shipped modules with where each is installed in the module cache.

    Args:
        cache_dir: HF modules cache to inspect (default: evaluate's HF_MODULES_CACHE).

    Returns:
        One MetricModule per shipped module.
    """
    source = metric_source_dir()
    root = _metrics_root(cache_dir)
    return [MetricModule(n, source / n, _installed_scripts(root, n)) for n in METRIC_NAMES]


def _touch_package(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").touch(exist_ok=True)


def install_metrics(
    names: list[str] | tuple[str, ...] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """Copy module scripts (and cards) into evaluate's module cache for offline bare-name loading.

    After this, `evaluate.load("composed_map")` works with `HF_EVALUATE_OFFLINE=1` as long as
    evaluate uses the same cache (set `HF_MODULES_CACHE` to `cache_dir` if you pass one).
    Installing twice is harmless; a changed script gets a new hash folder, which evaluate
    prefers because it is the newest.

    Args:
        names: modules to install (default: all of METRIC_NAMES).
        cache_dir: HF modules cache root (default: evaluate's HF_MODULES_CACHE, i.e.
            $HF_MODULES_CACHE or $HF_HOME/modules).

    Returns:
        {name: path of the installed script}.

    Raises:
        ValueError: an unknown module name.
        FileNotFoundError: a module script is missing from the vidret installation.
    """
    chosen = _check_names(names)
    source = metric_source_dir()
    root = _metrics_root(cache_dir)
    _touch_package(root.parent)
    _touch_package(root)
    installed: dict[str, Path] = {}
    for name in chosen:
        script = source / name / f"{name}.py"
        if not script.is_file():
            raise FileNotFoundError(f"metric script {script} is missing from this vidret installation")
        digest = sha256_file(script)  # 64 hex chars, as evaluate expects
        target = root / f"{_CANONICAL_PREFIX}{name}" / digest
        _touch_package(target.parent)
        _touch_package(target)
        destination = target / f"{name}.py"
        shutil.copyfile(script, destination)
        os.utime(destination)  # newest copy wins in evaluate's cached lookup
        for extra in _EXTRA_FILES:
            if (source / name / extra).is_file():
                shutil.copyfile(source / name / extra, target / extra)
        installed[name] = destination
    return installed

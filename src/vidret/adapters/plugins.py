"""Adapters from other packages: the `vidret.adapters` entry point group and preset factories.

A package adds model families to vidret without a change here by declaring an entry point in
the group `vidret.adapters` whose object is an `AdapterPreset`, a sequence of them, or a module
with `PRESETS` (pyproject.toml: `[project.entry-points."vidret.adapters"] mine = "my_pkg:PRESETS"`).
A preset of kind "plugin" names a factory, "module:callable", that builds the
`EmbeddingAdapter`; it is imported only when that preset is loaded, after the packages the
preset `requires` were found importable. model_adapters/README.md has a worked example.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter
    from vidret.adapters.presets import AdapterPreset

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "vidret.adapters"

#: Entry points that failed to load on the last discovery: "name (distribution): error".
PLUGIN_ERRORS: list[str] = []


def entry_point_presets() -> list["AdapterPreset"]:
    """The presets every installed `vidret.adapters` entry point provides.

    An entry point that fails to import (anything its import raises, `SystemExit` included: see
    `vidret.common.load_plugin`) or holds something else is skipped with one warning and listed
    in `PLUGIN_ERRORS`: one broken plug-in must not take every other model down.

    Returns:
        The presets, each with `source` = "entry point NAME (DISTRIBUTION)".
    """
    from importlib.metadata import entry_points

    from vidret.adapters.presets import _module_presets
    from vidret.common import load_plugin

    PLUGIN_ERRORS.clear()
    found: list[AdapterPreset] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "unknown distribution"
        where = f"entry point {ep.name} ({dist})"
        loaded, failure = load_plugin(ep)
        if failure is None:
            try:
                found += _module_presets(loaded, where)
            except Exception as err:  # not AdapterPreset objects: report, don't crash
                failure = f"{type(err).__name__}: {err}"
        if failure is not None:
            skip_plugin(where, failure)
    return found


def skip_plugin(where: str, why: str) -> None:
    """Report a plug-in (or one of its presets) that is not used: one warning, and `PLUGIN_ERRORS`."""
    message = f"{where}: {why}"
    logger.warning("skipping vidret adapter plug-in %s", message)
    PLUGIN_ERRORS.append(message)


def missing_requirements(preset: "AdapterPreset") -> list[str]:
    """The preset's required modules that cannot be imported here, each with the reason.

    Returns:
        One "module (pip install REQUIREMENT): error" line per module that failed.
    """
    problems = []
    for module, requirement in preset.requires.items():
        try:
            importlib.import_module(module)
        except Exception as err:  # ImportError, or e.g. a torchvision/torch mismatch raising RuntimeError
            problems.append(f"{module} (pip install {requirement}): {type(err).__name__}: {err}")
    return problems


def check_requirements(preset: "AdapterPreset") -> None:
    """Raise with the install command unless every module the preset requires imports.

    Raises:
        ValueError: naming the preset, each missing module and the pip command to install it.
    """
    problems = missing_requirements(preset)
    if problems:
        installs = " ".join(preset.requires[p.split(" ", 1)[0]] for p in problems)
        raise ValueError(
            f"adapter preset {preset.name!r} needs packages that cannot be imported here; install them with "
            f"`pip install {installs}` (check that they match your torch build). " + "; ".join(problems)
        )


def resolve_factory(preset: "AdapterPreset") -> Callable[..., "EmbeddingAdapter"]:
    """Import the preset's factory ("module:callable").

    Raises:
        ValueError: the module or attribute cannot be found (the preset and its source are named).
    """
    assert preset.factory is not None
    module_name, _, attr = preset.factory.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:
        raise ValueError(
            f"adapter preset {preset.name!r} ({preset.source or 'unknown source'}): cannot import its factory module "
            f"{module_name!r}: {type(err).__name__}: {err}"
        ) from err
    factory = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise ValueError(f"adapter preset {preset.name!r}: {module_name!r} has no {attr!r} (factory {preset.factory!r})")
    if not callable(factory):
        raise ValueError(f"adapter preset {preset.name!r}: factory {preset.factory!r} is not callable")
    return factory


def build_plugin_adapter(preset: "AdapterPreset", model: str, **kwargs: Any) -> "EmbeddingAdapter":
    """Build a "plugin" preset's adapter: check its requirements, then call its factory.

    The factory is called as `factory(model, preset=preset, **kwargs)` with the keyword
    arguments of `load_adapter` (revision, frames, resolution, pooling, text_max_length, fusion,
    device, dtype, batch_size, trust_remote_code); it should accept `**kwargs` for arguments
    added later.

    Raises:
        ValueError: a missing requirement (with the install command), an unimportable factory,
            or a factory that returned something other than an `EmbeddingAdapter`.
    """
    from vidret.adapters.base import EmbeddingAdapter

    check_requirements(preset)
    adapter = resolve_factory(preset)(model, preset=preset, **kwargs)
    if not isinstance(adapter, EmbeddingAdapter):
        raise ValueError(
            f"adapter preset {preset.name!r}: factory {preset.factory!r} returned {type(adapter).__name__}, "
            "not a vidret.adapters.EmbeddingAdapter"
        )
    if not getattr(adapter, "preset", None):
        adapter.preset = preset.name  # recorded in the results and keys the embedding cache
    return adapter

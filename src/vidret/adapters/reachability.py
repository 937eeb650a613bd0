"""Is the model there? One Hub request before a run reads any data, instead of transformers' retries.

`load_adapter("acme/missing")` with the network down used to spend about 26 s in transformers'
retries of ``config.json`` before its error. `check_model_reachable` asks the Hub once, without
retries, for the model repo at the revision that would be loaded, and turns a failure into one
line in the style of `vidret.hub_errors` (the request, the Hub's answer, what to do). It asks
nothing for a local folder, a model whose ``config.json`` is already in the local Hugging Face
cache, a plug-in preset (it loads its model its own way), or with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vidret.adapters.presets import AdapterPreset, find_preset, get_preset
from vidret.common import is_hub_id
from vidret.hub_errors import describe_hub_failure, hub_failure_advice, is_hub_failure

logger = logging.getLogger(__name__)


def needs_hub_check(model: str, revision: str | None = None) -> bool:
    """Whether loading `model` would ask the Hub: a Hub id that is neither a local folder nor cached.

    Args:
        model: Hub model id or local folder.
        revision: the revision that would be loaded (None = main).
    """
    from huggingface_hub import try_to_load_from_cache

    if Path(model).expanduser().is_dir() or not is_hub_id(model, require_org=False):
        return False
    cached = try_to_load_from_cache(model, "config.json", revision=revision)
    return not isinstance(cached, str)  # a path: transformers reads it from the cache if the Hub is down


def _preset_of(model: str, preset: str | None) -> AdapterPreset | None:
    return get_preset(preset) if preset is not None else find_preset(model)


def check_model_reachable(
    model: str, revision: str | None = None, *, preset: str | None = None, timeout: float | None = None
) -> None:
    """Fail at once when a Hub model cannot be loaded: missing, private, unknown revision, Hub unreachable.

    Args:
        model: Hub model id or local folder (a folder is not checked).
        revision: the model revision asked for; None = the preset's pin for this exact id, else main.
        preset: the adapter preset named by the user (its pin and kind apply); None = found from the id.
        timeout: seconds for the one request; None = huggingface_hub's metadata timeout
            (``HF_HUB_ETAG_TIMEOUT``, 10 s by default).

    Raises:
        ValueError: one line naming the model (and revision), the failed request with the Hub's
            answer or the network error, and what to do.
    """
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    model = str(model)
    chosen = _preset_of(model, preset)
    if chosen is not None and chosen.adapter == "plugin":
        return
    # The preset's pin for this exact id, as `load_adapter` applies it (it logs the pin itself).
    wanted = revision if revision is not None or chosen is None else chosen.revisions.get(model)
    if not needs_hub_check(model, wanted):
        return
    if constants.is_offline_mode():
        logger.info("HF_HUB_OFFLINE is set: model %s is loaded from the local cache only", model)
        return
    not_local = f"--model {model!r} is not a local folder (no such folder: {Path(model).expanduser().absolute()})"
    try:
        HfApi().model_info(model, revision=wanted, timeout=timeout or constants.HF_HUB_ETAG_TIMEOUT, expand=["sha"])
    except HFValidationError as err:
        raise ValueError(f"{not_local}, nor a valid Hub model id: {err}") from None
    except GatedRepoError as err:  # before RepositoryNotFoundError, its parent class
        raise ValueError(
            f"model repo {model} on the Hub is gated ({describe_hub_failure(err)}): accept its conditions on its Hub "
            "page, then log in with `hf auth login`"
        ) from None
    except RevisionNotFoundError as err:
        pinned_by = f" (pinned by preset {chosen.name})" if revision is None and chosen is not None else ""
        which = f"--model-revision {wanted!r}" if revision is not None else f"revision {wanted!r}{pinned_by}"
        raise ValueError(f"{which}: not found in model repo {model} ({describe_hub_failure(err)})") from None
    except RepositoryNotFoundError as err:
        raise ValueError(
            f"{not_local}, nor a model repo on the Hub ({describe_hub_failure(err)}); a private repo needs `hf auth login`"
        ) from None
    except Exception as err:
        if not is_hub_failure(err):
            raise
        advice = hub_failure_advice(err, "run the same command again")
        raise ValueError(
            f"--model {model!r}: not a local folder nor in the local Hugging Face cache, and the Hub could not be asked "
            f"for it: {describe_hub_failure(err)}. {advice}"
        ) from None

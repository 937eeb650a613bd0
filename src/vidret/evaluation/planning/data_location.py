"""Where `--data` lives: a local folder or a Hub dataset repo; fail at once when it is neither.

`vidret evaluate --data build/nonexistent` used to be taken for the Hub id "build/nonexistent":
half a minute of retried requests, then "Couldn't reach ... on the Hub". Now a value written
like a path that does not exist fails before any request, and a Hub id is looked up once,
without retries; when it is neither a folder nor on the Hub (or the Hub cannot be reached) the
error says both.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vidret.common import is_hub_id, is_local_path
from vidret.hub_errors import describe_hub_failure, hub_failure_advice, is_hub_failure

logger = logging.getLogger(__name__)


def looks_like_path(data: str) -> bool:
    """Whether `data` is written as a local path rather than a Hub dataset id ``org/name``.

    True for ``./x``, ``/x``, ``~/x``, ``a/b/c``, a trailing slash, a backslash, anything that is
    not a valid Hub id, and ``dir/name`` where ``dir`` is a local folder (``build/lovr`` next to
    a ``build/`` folder).
    """
    if is_local_path(data) or data.endswith("/") or not is_hub_id(data, require_org=False):
        return True
    head, _, rest = data.partition("/")
    return bool(rest) and Path(head).expanduser().is_dir()


def _missing_folder(data: str) -> str:
    """``"no such folder: /abs/build/x (build/ holds: lovr, tf-covr)"``."""
    path = Path(data).expanduser().absolute()
    text = f"no such folder: {path}"
    parent = path.parent
    if parent.is_dir():
        entries = sorted(p.name for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))
        if entries:
            more = f", ... ({len(entries)} in all)" if len(entries) > 8 else ""
            text += f" ({parent.name or parent}/ holds: {', '.join(entries[:8])}{more})"
    return text


def check_data_path(data: str) -> None:
    """Fail at once when `data` is written as a local path and no such folder exists.

    Raises:
        ValueError: naming ``--data``, the absolute path looked for, and the folders beside it.
    """
    if Path(data).expanduser().exists() or not looks_like_path(data):
        return
    raise ValueError(f"--data {data!r}: {_missing_folder(data)} (a Hub dataset id looks like 'org/name')")


def hub_dataset_commit(data: str, revision: str | None) -> str | None:
    """The commit a Hub dataset repo's revision points at, asked once (no retries).

    Args:
        data: a Hub dataset id that is not a local folder.
        revision: branch, tag or commit; None = the default branch.

    Returns:
        The 40-hex commit id, or None with ``HF_HUB_OFFLINE=1`` (datasets then reads its cache).

    Raises:
        ValueError: the repo or revision is not on the Hub, or the Hub cannot be reached; the
            message says that `data` is not a local folder either.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    not_local = f"--data {data!r} is not a local folder ({_missing_folder(data)})"
    try:
        return HfApi().repo_info(data, revision=revision, repo_type="dataset").sha
    except OfflineModeIsEnabled:
        logger.info("HF_HUB_OFFLINE is set: loading dataset %s from the local cache", data)
        return None
    except HFValidationError as err:
        raise ValueError(f"{not_local}, nor a valid Hub dataset id: {err}") from None
    except GatedRepoError as err:
        raise ValueError(
            f"dataset repo {data} on the Hub is gated ({describe_hub_failure(err)}): accept its conditions on "
            "its Hub page, then log in with `hf auth login`"
        ) from None
    except RepositoryNotFoundError as err:
        raise ValueError(
            f"{not_local}, nor a dataset repo on the Hub ({describe_hub_failure(err)}); "
            "a private repo needs `hf auth login`"
        ) from None
    except RevisionNotFoundError as err:
        raise ValueError(f"--revision {revision!r}: not found in dataset repo {data} ({describe_hub_failure(err)})") from None
    except Exception as err:
        if not is_hub_failure(err):
            raise
        advice = hub_failure_advice(err, "run the same command again")
        raise ValueError(
            f"{not_local}, and the Hub could not be asked for a dataset repo of that name: "
            f"{describe_hub_failure(err)}. {advice} A dataset already in the local cache loads with HF_HUB_OFFLINE=1."
        ) from None

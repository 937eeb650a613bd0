"""One-line messages for failed Hub requests (network down, timeouts, refusals, Hub-side errors).

`vidret publish`, `vidret submit` and `vidret evaluate` used to end a failed Hub call with a
long httpx traceback. They catch `is_hub_failure` errors and print `hub_failure_message`: the
cause, the request it happened on, the Hub's request id when there is one, and what to do next.

Like `vidret.environment`, this module imports nothing from vidret, so any layer may use it.
The messages hold no token: only the method and URL of the request (without its query string),
never its headers.
"""

from __future__ import annotations

from typing import Any

# Hub answers worth retrying as they are (the Hub or the network, not the request, is at fault).
RETRYABLE_STATUS = (408, 429, 500, 502, 503, 504)
SERVER_MESSAGE_CHARS = 200


def is_hub_failure(err: BaseException) -> bool:
    """Whether `err` is a failed Hub request: an HTTP error answer, a network error, or offline mode."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    return isinstance(err, (HfHubHTTPError, httpx2.TransportError, OfflineModeIsEnabled))


def _request_line(request: Any) -> str:
    """``"POST https://huggingface.co/api/repos/create"``: the query string (e.g. ``create_pr=1``) is dropped."""
    if request is None:
        return "a Hub request"
    return f"{request.method} {str(request.url).split('?', 1)[0]}"


def _request_of(err: BaseException) -> Any:
    """The failed request: the response's for an HTTP error answer, else the error's own."""
    response = getattr(err, "response", None)
    for holder in (response, err):
        try:
            request = getattr(holder, "request", None)  # httpx raises RuntimeError when unset
        except RuntimeError:
            request = None
        if request is not None:
            return request
    return None


def _status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def is_retryable(err: BaseException) -> bool:
    """A network error, a timeout, or a Hub answer such as 503 or 429: the same request may work later."""
    import httpx2

    status = _status(err)
    return isinstance(err, httpx2.TransportError) or (status is not None and status in RETRYABLE_STATUS)


def describe_hub_failure(err: BaseException) -> str:
    """What went wrong, on which request, with the Hub's request id and first line of its message.

    Args:
        err: an error for which `is_hub_failure` is true.

    Returns:
        One line without a final period, e.g. ``"the Hub failed on POST https://huggingface.co/api/repos/create
        (503 Service Unavailable, request id Root=1-abc): Service unavailable"``.
    """
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled

    if isinstance(err, OfflineModeIsEnabled):
        return "HF_HUB_OFFLINE is set, so the Hub was not asked"
    request = _request_line(_request_of(err))
    status = _status(err)
    if status is not None:
        reason = getattr(err.response, "reason_phrase", "") or ""  # type: ignore[attr-defined]
        details = f"{status} {reason}".strip()
        request_id = getattr(err, "request_id", None)
        if request_id:
            details += f", request id {request_id}"
        verb = "failed on" if status >= 500 else "refused"
        line = f"the Hub {verb} {request} ({details})"
        server = (getattr(err, "server_message", None) or "").strip().splitlines()
        if server:
            line += ": " + server[0][:SERVER_MESSAGE_CHARS]
        return line
    cause = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    if isinstance(err, httpx2.TimeoutException):
        return f"the Hub did not answer {request} in time ({cause})"
    return f"could not reach the Hub for {request} ({cause})"


def hub_failure_advice(err: BaseException, retry: str) -> str:
    """What the user can do about `err`.

    Args:
        err: an error for which `is_hub_failure` is true.
        retry: what to run again when the failure is transient, e.g. "run the same command again".

    Returns:
        A sentence (may be empty for a refusal the Hub explained itself).
    """
    from huggingface_hub.errors import OfflineModeIsEnabled

    status = _status(err)
    if isinstance(err, OfflineModeIsEnabled):
        return "Unset HF_HUB_OFFLINE to reach the Hub."
    if is_retryable(err):
        prefix = "Check the network (and HF_ENDPOINT if set), then " if status is None else "A failure on the Hub's side: "
        return prefix + retry + "."
    if status == 401:
        return "Check the token: log in with `hf auth login` or pass --token."
    if status == 403:
        return "Check that the token may write to that repo (or pass another --token)."
    if status == 404:
        return "Check the repo id, and that the token can see the repo."
    return ""


def hub_failure_message(command: str, err: BaseException, *, retry: str = "run the same command again", context: str = "") -> str:
    """The one line a command prints for a failed Hub request.

    Args:
        command: e.g. "vidret publish".
        err: an error for which `is_hub_failure` is true.
        retry: what to run again after a transient failure.
        context: what was being done, e.g. "pull request on model repo org/m not opened".

    Returns:
        ``"<command>: [<context>: ]<description>. <advice>"`` on one line.
    """
    head = f"{command}: {context + ': ' if context else ''}{describe_hub_failure(err)}."
    advice = hub_failure_advice(err, retry)
    return f"{head} {advice}".strip()

"""Offline Hub for tests: route huggingface_hub's httpx2 client to a handler, and read commits back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx2
from huggingface_hub.utils import set_client_factory
from huggingface_hub.utils._http import default_client_factory

# huggingface_hub's own best-effort lookup (cached for a day) behind its user-agent header: not a
# request of ours, and whether it is sent depends on the local cache, so fakes answer it unrecorded.
AGENT_HARNESSES_PATH = "/api/agent-harnesses"


@contextmanager
def mock_hub(handler: Callable[[httpx2.Request], httpx2.Response]) -> Iterator[None]:
    """Send every huggingface_hub request to `handler` until the block ends, then restore the client."""
    set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(handler)))
    try:
        yield
    finally:
        set_client_factory(default_client_factory)


def commit_lines(request: httpx2.Request) -> list[dict]:
    """The NDJSON lines of a `/commit/` request (header, then one line per file operation)."""
    return [json.loads(line) for line in request.content.decode().splitlines()]

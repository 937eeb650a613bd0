"""A failed Hub request ends `vidret publish` / `submit` / `evaluate` in one line, and every
huggingface_hub retry warning is shown once (offline: the Hub is a mock transport)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from hub_mock import AGENT_HARNESSES_PATH, mock_hub
from results_helpers import make_results, write_results

from vidret.builders import build
from vidret.cli.main import main
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

TOKEN = "hf_FirstHourTokenNeverPrinted"
TESTS = Path(__file__).parent
HUB = "https://huggingface.co"


def network_down(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("[Errno -2] Name or service not known", request=request)


def timeout(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadTimeout("timed out", request=request)


def hub_down(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(503, headers={"x-request-id": "Root=1-abc"}, json={"error": "Service unavailable"})


# failure -> (what the line says, what it tells the user to do)
FAILURES: dict[str, tuple[Callable, str, str]] = {
    "network": (network_down, "could not reach the Hub for POST {url} (ConnectError: [Errno -2] Name or service not known).",
                "Check the network (and HF_ENDPOINT if set), then run the same command again"),
    "timeout": (timeout, "the Hub did not answer POST {url} in time (ReadTimeout: timed out).",
                "Check the network (and HF_ENDPOINT if set), then run the same command again"),
    "server": (hub_down, "the Hub failed on POST {url} (503 Service Unavailable, request id Root=1-abc): Service unavailable.",
               "A failure on the Hub's side: run the same command again"),
}


class Recorder:
    """Sends every request but huggingface_hub's own agent lookup to `answer`, and counts them."""

    def __init__(self, answer: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == AGENT_HARNESSES_PATH:
            return httpx2.Response(404)
        self.requests.append(request)
        return self.answer(request)


@pytest.fixture(autouse=True)
def no_backoff_waits(monkeypatch):
    """huggingface_hub retries some requests with waits of 1-8 s: keep the retries, skip the waits."""
    import huggingface_hub.utils._http as http

    monkeypatch.setattr(http.time, "sleep", lambda seconds: None)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hub-errors")
    raw = make_tfcovr_release(base / "raw", videos_per_label=1, labels=("107b", "407c"), targets_per_query=1)
    build("tf-covr", raw, base / "repo", progress=False)
    return base / "repo"


def one_line(err: str) -> str:
    assert "Traceback" not in err and TOKEN not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_publish_failure_is_one_line_with_what_to_retry(failure, built, capsys):
    answer, says, advice = FAILURES[failure]
    with mock_hub(Recorder(answer)):
        assert main(["publish", str(built), "--repo", "org/tf-covr", "--tag", "v1.0.0", "--token", TOKEN]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("vidret publish: " + says.format(url=f"{HUB}/api/repos/create"))
    assert advice + " (video batches already on the Hub are not sent again)." in line


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_submit_failure_is_one_line_with_what_to_retry(failure, tmp_path, capsys):
    answer, says, advice = FAILURES[failure]
    path = write_results(tmp_path / "r.json", make_results("lovr"))
    with mock_hub(Recorder(answer)):
        assert main(["submit", str(path), "--model-repo", "acme/vclip", "--token", TOKEN]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    line = one_line(err)
    url = f"{HUB}/api/models/acme/vclip/preupload/main"
    assert line.startswith("vidret submit: pull request on model repo acme/vclip not opened: " + says.format(url=url))
    assert line.endswith(advice + ".")


def test_submit_retry_advice_names_the_pull_requests_already_opened(tmp_path, capsys):
    """The model repo's pull request opens, the results repo's fails: re-running would open the first twice."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        if "/datasets/" in request.url.path:
            return hub_down(request)
        if "/preupload/" in request.url.path:
            return httpx2.Response(200, json={"files": [{"path": ".eval_results/lovr.yaml", "uploadMode": "regular", "shouldIgnore": False}]})
        return httpx2.Response(200, json={"commitUrl": f"{HUB}/acme/vclip/commit/{'a' * 40}", "commitOid": "a" * 40,
                                          "pullRequestUrl": f"{HUB}/acme/vclip/discussions/3"})

    path = write_results(tmp_path / "r.json", make_results("lovr"))
    argv = ["submit", str(path), "--model-repo", "acme/vclip", "--results-repo", "acme/res", "--token", TOKEN]
    with mock_hub(Recorder(answer)):
        assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out.strip() == f"{HUB}/acme/vclip/discussions/3"
    line = one_line(err)
    assert "pull request on dataset repo acme/res not opened: the Hub failed on POST" in line
    assert "request id Root=1-abc" in line
    assert line.endswith("run the same command again (first close the 1 pull request(s) printed above, or they are opened twice).")


@pytest.mark.parametrize(
    "answer, says",
    [
        (network_down, "and the Hub could not be asked for a dataset repo of that name: could not reach the Hub for GET "
                       f"{HUB}/api/datasets/org/missing (ConnectError"),
        (hub_down, f"the Hub failed on GET {HUB}/api/datasets/org/missing (503 Service Unavailable, request id Root=1-abc)"),
        (lambda r: httpx2.Response(404, headers={"X-Error-Code": "RepoNotFound"}, json={"error": "Repository not found"}),
         "nor a dataset repo on the Hub (the Hub refused GET"),
    ],
)
def test_evaluate_hub_id_is_asked_once_and_the_error_says_both(answer, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hub = Recorder(answer)
    with mock_hub(hub), pytest.raises(SystemExit) as err:
        main(["evaluate", "--benchmark", "lovr", "--data", "org/missing", "--model", "oracle", "--no-cache"])
    message = str(err.value)
    assert message.startswith(f"vidret evaluate: --data 'org/missing' is not a local folder (no such folder: {tmp_path / 'org' / 'missing'})")
    assert says in message and "\n" not in message
    assert [(r.method, r.url.path) for r in hub.requests] == [("GET", "/api/datasets/org/missing")]  # no retries


DRIVER = """
import sys
import httpx2
sys.path.insert(0, {tests!r})
import huggingface_hub.utils._http as http
http.time.sleep = lambda seconds: None  # keep the retries and their warnings, skip the waits
from hub_mock import AGENT_HARNESSES_PATH, mock_hub
from vidret.cli.main import main

def handler(request):
    if request.url.path == "/api/repos/create":
        return httpx2.Response(200, json={{"url": "https://huggingface.co/datasets/org/x"}})
    if request.url.path == "/api/datasets/org/x/refs":  # the tag is new
        return httpx2.Response(200, json={{"branches": [], "converts": [], "tags": []}})
    return httpx2.Response(503, headers={{"x-request-id": "Root=1-abc"}}, json={{"error": "Service unavailable"}})

with mock_hub(handler):
    raise SystemExit(main(sys.argv[1:]))
"""


def test_retry_warnings_are_shown_once_under_the_cli(built):
    """huggingface_hub's own handler and ours both printed each warning; now only ours does."""
    env = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER.format(tests=str(TESTS)), "publish", str(built), "--repo", "org/x", "--tag", "v1.0.0",
         "--token", TOKEN],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    retries = [line for line in lines if "Retrying in" in line]
    assert len(retries) == 5  # huggingface_hub's 5 retries of the repo's file listing, each once
    assert all(line.startswith("WARNING huggingface_hub.utils._http: Retrying in") for line in retries)
    raw = [line for line in lines if "thrown while requesting" in line]
    assert len(raw) == 6 and all(line.startswith("WARNING huggingface_hub") for line in raw)
    assert lines[-1].startswith(f"vidret publish: the Hub failed on GET {HUB}/api/datasets/org/x/tree/main")
    assert "(503 Service Unavailable, request id Root=1-abc): Service unavailable. A failure on the Hub's side" in lines[-1]
    assert "Traceback" not in proc.stderr and TOKEN not in proc.stderr
    assert "HTTP Request:" not in proc.stderr  # httpx2's per-request INFO lines only with --verbose


def test_a_library_with_its_own_console_handler_is_left_to_it(monkeypatch):
    """datasets (imported after the CLI set up logging) prints through its own handler: ours skips it."""
    import logging

    from vidret.cli.logs import NotShownElsewhere

    library = logging.getLogger("fakelib")
    monkeypatch.setattr(library, "handlers", [logging.StreamHandler()])
    shown = NotShownElsewhere()
    record = logging.LogRecord("fakelib.sub", logging.WARNING, __file__, 1, "Retrying in 1s", None, None)
    assert shown.filter(record) is False
    monkeypatch.setattr(library, "handlers", [])
    assert shown.filter(record) is True

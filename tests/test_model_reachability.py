"""A Hub model that cannot be loaded fails `vidret evaluate` at once: one request, no retries, one
line, before the dataset is read (it used to take 26 s of transformers' retries of config.json).
Offline: the Hub is a mock transport."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from hub_mock import AGENT_HARNESSES_PATH, mock_hub

import vidret.adapters.reachability as reachability
import vidret.evaluation.running.runner as runner
from vidret.adapters.reachability import check_model_reachable, needs_hub_check
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release
from vidret.builders import build
from vidret.cli.main import main

HUB = "https://huggingface.co"
CLIP_PIN = "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268"  # preset clip's pin of openai/clip-vit-base-patch32


class Recorder:
    """Answers every request but huggingface_hub's own agent lookup with `answer`, and keeps them."""

    def __init__(self, answer: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == AGENT_HARNESSES_PATH:
            return httpx2.Response(404)
        self.requests.append(request)
        return self.answer(request)

    def asked(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


def network_down(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("[Errno -2] Name or service not known", request=request)


def refused(code: str, status: int = 404) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(status, headers={"X-Error-Code": code, "x-request-id": "Root=1-abc"},
                                           json={"error": "not found"})


def found(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json={"id": "acme/vclip", "sha": "b" * 40})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("reach")
    raw = make_tfcovr_release(base / "raw", videos_per_label=1, labels=("107b", "407c"), targets_per_query=1)
    build("tf-covr", raw, base / "repo", progress=False)
    return base / "repo"


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch) -> Path:
    """A Hugging Face cache with nothing in it (the machine's own may hold models)."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return cache


@pytest.fixture
def dataset_untouched(monkeypatch):
    def load_plan(*args, **kwargs):
        raise AssertionError("the dataset was read before the model was checked")

    monkeypatch.setattr(runner, "load_plan", load_plan)


def _evaluate(built: Path, *extra: str) -> str:
    with pytest.raises(SystemExit) as err:
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(built), "--no-cache", *extra])
    return str(err.value)


@pytest.fixture
def check_seconds(monkeypatch) -> list[float]:
    """How long each model check the runner makes takes (without the CLI's imports)."""
    seconds: list[float] = []
    real = reachability.check_model_reachable

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    monkeypatch.setattr(reachability, "check_model_reachable", timed)
    return seconds


@pytest.mark.parametrize(
    "answer, path, says",
    [
        (network_down, "/api/models/acme/vclip",
         "vidret evaluate: --model 'acme/vclip': not a local folder nor in the local Hugging Face cache, and the Hub "
         f"could not be asked for it: could not reach the Hub for GET {HUB}/api/models/acme/vclip (ConnectError: [Errno -2] "
         "Name or service not known). Check the network (and HF_ENDPOINT if set), then run the same command again."),
        (lambda r: httpx2.Response(503, headers={"x-request-id": "Root=1-abc"}, json={"error": "Service unavailable"}),
         "/api/models/acme/vclip",
         "vidret evaluate: --model 'acme/vclip': not a local folder nor in the local Hugging Face cache, and the Hub "
         f"could not be asked for it: the Hub failed on GET {HUB}/api/models/acme/vclip (503 Service Unavailable, request "
         "id Root=1-abc): Service unavailable. A failure on the Hub's side: run the same command again."),
        (refused("RepoNotFound", 401), "/api/models/acme/vclip",
         "nor a model repo on the Hub (the Hub refused GET https://huggingface.co/api/models/acme/vclip (401 Unauthorized, "
         "request id Root=1-abc): not found); a private repo needs `hf auth login`"),
    ],
)
def test_unreachable_model_fails_in_one_request_before_the_dataset_is_read(
    answer, path, says, built, empty_hf_cache, dataset_untouched, check_seconds, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    hub = Recorder(answer)
    with mock_hub(hub):
        message = _evaluate(built, "--model", "acme/vclip")
    assert hub.asked() == [("GET", path)]  # once: no retries (huggingface_hub's waits start at 1 s)
    assert len(check_seconds) == 1 and check_seconds[0] < 1.0, check_seconds
    assert "\n" not in message and "Traceback" not in message
    if says.startswith("vidret evaluate: "):
        assert message == says
    else:
        folder = tmp_path / "acme" / "vclip"
        assert message.startswith(f"vidret evaluate: --model 'acme/vclip' is not a local folder (no such folder: {folder})")
        assert message.endswith(says)


def test_unknown_revision_names_the_flag(built, empty_hf_cache, dataset_untouched):
    hub = Recorder(refused("RevisionNotFound"))
    with mock_hub(hub):
        message = _evaluate(built, "--model", "acme/vclip", "--model-revision", "v9")
    assert hub.asked() == [("GET", "/api/models/acme/vclip/revision/v9")]
    assert message.startswith("vidret evaluate: --model-revision 'v9': not found in model repo acme/vclip (the Hub refused GET")


def test_the_preset_pin_is_the_revision_checked(empty_hf_cache):
    hub = Recorder(found)
    with mock_hub(hub):
        check_model_reachable("openai/clip-vit-base-patch32")
    assert hub.asked() == [("GET", f"/api/models/openai/clip-vit-base-patch32/revision/{CLIP_PIN}")]
    assert hub.requests[0].url.params.get_list("expand") == ["sha"]  # a small answer: no file list

    hub = Recorder(refused("RevisionNotFound"))
    with mock_hub(hub), pytest.raises(ValueError, match=rf"^revision '{CLIP_PIN}' \(pinned by preset clip\): not found"):
        check_model_reachable("openai/clip-vit-base-patch32")


def test_a_gated_repo_says_what_to_do(empty_hf_cache):
    with mock_hub(Recorder(refused("GatedRepo", 401))), pytest.raises(ValueError) as err:
        check_model_reachable("acme/vclip")
    assert str(err.value).startswith("model repo acme/vclip on the Hub is gated (the Hub refused GET")
    assert str(err.value).endswith("accept its conditions on its Hub page, then log in with `hf auth login`")


def _cache_config(cache: Path, repo: str, commit: str, ref: str = "main") -> None:
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "snapshots" / commit).mkdir(parents=True)
    (folder / "snapshots" / commit / "config.json").write_text("{}")
    (folder / "refs").mkdir()
    (folder / "refs" / ref).write_text(commit)


def test_nothing_is_asked_for_a_local_folder_a_cached_model_offline_or_a_plugin(empty_hf_cache, tmp_path, monkeypatch):
    from huggingface_hub import constants

    hub = Recorder(network_down)
    folder = tmp_path / "acme" / "vclip"
    folder.mkdir(parents=True)
    _cache_config(empty_hf_cache, "acme/cached", "c" * 40)
    with mock_hub(hub):
        check_model_reachable(str(folder))  # a local folder
        check_model_reachable("acme/cached")  # config.json of main in the cache
        check_model_reachable("acme/cached", "c" * 40)  # ... and of that commit
        check_model_reachable("timm/PE-Core-B-16")  # a plug-in preset (open_clip) loads its own way
        assert hub.asked() == []
        assert needs_hub_check("acme/cached", "v2")  # another revision is not in the cache
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        check_model_reachable("acme/vclip")  # HF_HUB_OFFLINE: transformers reads the cache
    assert hub.asked() == []


def test_a_model_the_hub_has_goes_on_to_load(built, empty_hf_cache, dataset_untouched):
    """The check passes; the run goes on (to the dataset, stopped here)."""
    hub = Recorder(found)
    with mock_hub(hub), pytest.raises(AssertionError, match="the dataset was read"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(built), "--no-cache", "--model", "acme/vclip"])
    assert hub.asked() == [("GET", "/api/models/acme/vclip")]


def test_the_oracle_asks_nothing(built, empty_hf_cache, dataset_untouched):
    hub = Recorder(network_down)
    with mock_hub(hub), pytest.raises(AssertionError, match="the dataset was read"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(built), "--no-cache", "--model", "oracle"])
    assert hub.asked() == []

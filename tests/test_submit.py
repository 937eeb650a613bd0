"""`vidret submit`: the .eval_results YAML, the results-repo JSON, and the exact Hub requests (mocked)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import yaml
from huggingface_hub import constants, parse_eval_result_entries
from hub_mock import AGENT_HARNESSES_PATH, commit_lines, mock_hub
from results_helpers import make_results, with_change, write_results

from vidret.benchmarks import BENCHMARKS
from vidret.cli.main import main
from vidret.evaluation.results.validation import ResultsValidationError, validate_results
from vidret.hub.submit import (
    SubmissionError,
    eval_result_entries,
    eval_results_yaml,
    format_plan,
    hub_dataset_id,
    plan_submission,
    publishable_results,
    resolve_dataset_id,
    results_repo_path,
    submit,
)

TOKEN = "hf_TestTokenThatMustNeverBePrinted"


class FakeHub:
    """Records every request and answers like the Hub's preupload and commit endpoints."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.pr_numbers = iter(range(7, 100))
        self.refused: set[str] = set()  # repo paths, e.g. "datasets/acme/vidret-results", answered 403

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path == AGENT_HARNESSES_PATH:
            return httpx2.Response(404)
        self.requests.append(request)
        if "/preupload/" in path:
            files = json.loads(request.content)["files"]
            return httpx2.Response(
                200, json={"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
            )
        if "/commit/" in path:
            repo = path.split("/api/")[1].split("/commit/")[0]  # e.g. models/acme/vclip
            if repo in self.refused:
                return httpx2.Response(403, json={"error": "You don't have the rights to create a pull request"})
            prefix = "" if repo.startswith("models/") else "datasets/"
            repo_id = repo.split("/", 1)[1]
            number = next(self.pr_numbers)
            return httpx2.Response(
                200,
                json={
                    "commitUrl": f"{constants.ENDPOINT}/{prefix}{repo_id}/commit/{'a' * 40}",
                    "commitOid": "a" * 40,
                    "pullRequestUrl": f"{constants.ENDPOINT}/{prefix}{repo_id}/discussions/{number}",
                },
            )
        return httpx2.Response(404, json={"error": f"unexpected request {request.method} {request.url}"})


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    fake = FakeHub()
    with mock_hub(fake.handler):
        yield fake


# --- the files ---------------------------------------------------------------------------------


def test_eval_results_yaml_uses_huggingface_hub_format():
    results = make_results("lovr")
    text = eval_results_yaml(results)
    data = yaml.safe_load(text)
    assert [item["dataset"]["task_id"] for item in data] == ["t2v", "v2t", "t2c", "c2t"]
    assert data[0]["dataset"] == {"id": "vidret/lovr", "task_id": "t2v", "revision": "v1.0.0"}
    assert data[0]["value"] == results["tasks"]["t2v"]["metrics"]["R@1"]
    assert data[0]["date"] == "2026-03-01T12:00:00Z"
    assert "adapter=clip" in data[0]["notes"] and "frames=8" in data[0]["notes"]
    # huggingface_hub reads it back into the same entries.
    assert parse_eval_result_entries(data) == eval_result_entries(results)


def test_task_ids_are_the_benchmark_ids_and_value_is_the_main_score():
    results = make_results("tf-covr")
    (entry,) = eval_result_entries(results)
    assert entry.task_id == "cvr" and entry.task_id in BENCHMARKS["tf-covr"].tasks
    assert entry.value == results["tasks"]["cvr"]["metrics"]["mAP@50"]
    assert "fusion=avg" in entry.notes


def test_local_dataset_needs_dataset_id(tmp_path):
    results = with_change(make_results("lovr"), "dataset.repo", str(tmp_path))
    with pytest.raises(SubmissionError, match="dataset.repo is the local folder.*--dataset-id"):
        eval_result_entries(results)
    assert eval_result_entries(results, "acme/lovr")[0].dataset_id == "acme/lovr"


@pytest.mark.parametrize(
    "dataset_id, message",
    [("other/lovr", "dataset.repo is 'vidret/lovr' but --dataset-id is 'other/lovr'"), ("lovr", "--dataset-id must be")],
)
def test_dataset_id_must_be_a_hub_id_naming_the_dataset_evaluated(dataset_id, message):
    with pytest.raises(SubmissionError, match=message):
        resolve_dataset_id(make_results("lovr"), dataset_id)
    assert resolve_dataset_id(make_results("lovr"), "vidret/lovr") == "vidret/lovr"


def test_dataset_commit_is_preferred_as_the_revision():
    results = with_change(make_results("lovr"), "dataset.commit", "f" * 40)
    assert {entry.dataset_revision for entry in eval_result_entries(results)} == {"f" * 40}


def test_null_dataset_revision_is_refused():
    with pytest.raises(SubmissionError, match="dataset.revision is null"):
        eval_result_entries(with_change(make_results("lovr"), "dataset.revision", None))


def test_hub_dataset_id(tmp_path):
    assert hub_dataset_id("vidret/lovr") == "vidret/lovr"
    assert hub_dataset_id("hf://datasets/vidret/tf-covr@v1.0.0") == "vidret/tf-covr"
    assert hub_dataset_id(str(tmp_path)) is None
    assert hub_dataset_id("./out/lovr") is None
    assert hub_dataset_id("lovr") is None


def test_results_repo_path_is_keyed_by_model_and_revision():
    assert results_repo_path(make_results("lovr"), "acme/vclip") == "results/acme__vclip/0123abcd/lovr.json"
    unpinned = with_change(make_results("tf-covr"), "model.revision", None)
    assert results_repo_path(unpinned, "acme/vclip") == "results/acme__vclip/no_revision_available/tf-covr.json"
    val = with_change(make_results("tf-covr"), "split", "val")
    assert results_repo_path(val, "acme/vclip").endswith("/tf-covr_val.json")


# --- no local path reaches the Hub ----------------------------------------------------------------


def local_run_results(tmp_path) -> dict:
    """Results of a run on a local build with a local checkpoint, one video failed, cache in $HOME."""
    home = Path.home()
    results = make_results("lovr", model_id=str(home / "ckpt" / "my-vclip"), model_revision=None)
    results["dataset"]["repo"] = str(tmp_path / "repos" / "lovr")
    results["cache"] = {"dir": str(home / ".cache" / "vidret"), "namespace": "abc", "hits": 0, "misses": 3}
    source = str(tmp_path / "repos" / "lovr" / "videos" / "vid1.mp4")
    results["failures"] = [{"item_id": "vid1", "kind": "video", "source": source, "reason": f"cannot open {source}: moov atom not found"}]
    results["num_failed"] = 1
    return results


def test_results_repo_json_names_no_local_path(tmp_path):
    results = local_run_results(tmp_path)
    before = json.dumps(results)
    uploads = plan_submission(results, "acme/vclip", results_repo="acme/vidret-results", dataset_id="vidret/lovr")
    assert json.dumps(results) == before  # the caller's dict is left as it was
    text = uploads[1].content.decode()
    assert str(Path.home()) not in text and str(tmp_path) not in text
    public = json.loads(text)
    assert public["dataset"]["repo"] == "vidret/lovr"
    assert public["model"]["id"] == "acme/vclip"
    assert public["cache"] == {"dir": None, "namespace": "abc", "hits": 0, "misses": 3}
    assert public["failures"] == [
        {"item_id": "vid1", "kind": "video", "source": "<local>/vid1.mp4", "reason": "cannot open <local>/vid1.mp4: moov atom not found"}
    ]
    validate_results(public)  # still valid results
    assert "Local paths removed from: dataset.repo, model.id, cache.dir, failures.0.source, failures.0.reason." in uploads[1].commit_description
    for upload in uploads:  # nor in the model repo's file or either description
        assert str(tmp_path) not in upload.content.decode() + upload.commit_description


def test_publishable_results_leave_hub_ids_and_urls_alone():
    results = make_results("tf-covr")
    results["failures"] = [{"item_id": "q1", "source": "hf://datasets/vidret/tf-covr/videos/q1.mp4", "reason": "see https://x.org/a/b"}]
    results["num_failed"] = 1
    public, changed = publishable_results(results, "acme/vclip")
    assert (public, changed) == (results, [])
    redacted, _ = publishable_results(local_run_results(Path("/srv/data")), "acme/vclip", "vidret/lovr")
    assert publishable_results(redacted, "acme/vclip", "vidret/lovr") == (redacted, [])  # idempotent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("~/videos/a.mp4 is missing", "<local>/a.mp4 is missing"),
        ("file:///data/a.mp4", "<local>/a.mp4"),
        ("C:\\Users\\me\\a.mp4", "<local>/a.mp4"),
        ("(/data/x/)", "(<local>/x)"),
        ("t2v/R@1 and org/name and 3/4", "t2v/R@1 and org/name and 3/4"),
        # Folder names with spaces, parentheses, Windows and UNC roots, a path glued to "error:".
        ("cannot open /data/Alice Smith Private/lovr/videos/x.mp4: moov atom", "cannot open <local>/x.mp4: moov atom"),
        ("C:\\Users\\Alice Smith\\lovr\\x.mp4: bad", "<local>/x.mp4: bad"),
        ("D:/Alice Smith/x.mp4", "<local>/x.mp4"),
        ("\\\\nas\\Alice Smith\\x.mp4 is gone", "<local>/x.mp4 is gone"),
        ("outside the dataset (//nas/Alice Smith/lovr): read", "outside the dataset (<local>/lovr): read"),
        ("//nas/Alice/x.mp4", "<local>/x.mp4"),
        ("a//b and t2v//R@1", "a//b and t2v//R@1"),
        ("/data/Alice (private)/x.mp4 failed", "<local>/x.mp4 failed"),
        ("error:/home/alice/x.mp4", "error:<local>/x.mp4"),
        ("No such file: '/data/Alice: Smith, Private/x.mp4'", "No such file: '<local>/x.mp4'"),
        ("file:///home/Alice Smith/x.mp4", "<local>/x.mp4"),
        ("hf://datasets/org/x/videos/a.mp4 or https://x.org/a/b", "hf://datasets/org/x/videos/a.mp4 or https://x.org/a/b"),
        ("R@1 / R@5 = 0.5", "R@1 / R@5 = 0.5"),
    ],
)
def test_local_paths_in_text_are_cut_to_the_file_name(text, expected):
    results = with_change(make_results("lovr"), "config", text)
    public, changed = publishable_results(results, "acme/vclip")
    assert public["config"] == expected
    assert changed == ([] if text == expected else ["config"])


PRIVATE_WORDS = ("Alice", "Smith", "Private", "Bob", "Carol", "Users", "secret")


def test_redaction_follows_the_paths_the_record_names():
    # The record's own path fields are redacted whole, and wherever a message quotes them, even
    # when a folder name holds ": " or ", " (which end a path inside free text).
    results = make_results("lovr", model_id="/home/Carol/ckpt: v2, secret/my-vclip", model_revision=None)
    results["dataset"]["repo"] = "/data/Alice Smith Private/repos/lovr"
    results["cache"] = {"dir": "C:\\Users\\Bob (home)\\cache", "namespace": "n", "hits": 0, "misses": 1}
    sources = [
        "/data/Alice Smith Private/repos/lovr/videos/v0.mp4",
        "C:\\Users\\Bob (home)\\videos\\v1.mp4",
        "/srv/Alice: Smith, Private/v2.mp4",
        "hf://datasets/vidret/lovr/videos/v3.mp4",
    ]
    results["failures"] = [
        {"item_id": f"v{i}", "kind": "video", "source": src, "reason": f"cannot open {src}: moov atom not found"}
        for i, src in enumerate(sources)
    ]
    results["failures"].append(
        {"item_id": "v4", "kind": "video", "source": None, "reason": "model /home/Carol/ckpt: v2, secret/my-vclip said error:/home/Carol/x.mp4"}
    )
    results["num_failed"] = len(results["failures"])
    results["embeddings"] = {"videos": {"source": "export", "path": "/srv/Alice: Smith, Private/exports/lovr-clip"}}
    public, changed = publishable_results(results, "acme/vclip", "vidret/lovr")
    text = json.dumps(public, ensure_ascii=False)
    assert not [word for word in PRIVATE_WORDS if word in text], text
    assert [f["source"] for f in public["failures"]] == [
        "<local>/v0.mp4", "<local>/v1.mp4", "<local>/v2.mp4", "hf://datasets/vidret/lovr/videos/v3.mp4", None
    ]
    assert public["failures"][2]["reason"] == "cannot open <local>/v2.mp4: moov atom not found"
    assert public["failures"][4]["reason"] == "model <local>/my-vclip said error:<local>/x.mp4"
    assert public["model"]["id"] == "acme/vclip" and public["dataset"]["repo"] == "vidret/lovr"
    assert public["embeddings"]["videos"]["path"] == "<local>/lovr-clip"
    assert "failures.4.reason" in changed and "failures.3.source" not in changed
    validate_results(public)


def test_revision_and_split_must_be_safe_file_names():
    results = make_results("lovr", model_revision="../../README")
    with pytest.raises(SubmissionError, match=r"model.revision is '../../README'; it names a folder"):
        results_repo_path(results, "acme/vclip")
    with pytest.raises(SubmissionError, match="split is 'a/b'"):
        results_repo_path(with_change(make_results("lovr"), "split", "a/b"), "acme/vclip")


def test_dry_run_plan_shows_control_characters_as_escapes():
    results = with_change(make_results("tf-covr"), "settings.fusion", "avg\x1b[2J\u202e")
    results["failures"] = [{"item_id": "q\x9b1", "reason": "bad \x1b]0;title\x07"}]
    results["num_failed"] = 1
    plan = format_plan(plan_submission(results, "acme/vclip", results_repo="acme/results"))
    assert not any(ch in plan for ch in "\x1b\x07\x9b\u202e")
    assert "fusion=avg\\x1b[2J\\u202e" in plan


# --- refusals ----------------------------------------------------------------------------------


def test_random_weights_are_refused_unless_allowed():
    results = make_results("lovr", random_weights=True)
    with pytest.raises(SubmissionError, match="model.random_weights is true"):
        plan_submission(results, "acme/vclip")
    assert plan_submission(results, "acme/vclip", allow_random_weights=True)


def test_oracle_results_are_refused_unless_allowed():
    results = with_change(make_results("lovr", model_id="oracle", model_revision=None), "model.adapter", "oracle")
    with pytest.raises(SubmissionError, match="model.adapter is 'oracle'"):
        plan_submission(results, "acme/vclip")
    assert plan_submission(results, "acme/vclip", allow_random_weights=True)


def test_invalid_results_are_refused():
    with pytest.raises(ResultsValidationError, match="tasks.t2v.metrics.R@50"):
        plan_submission(with_change(make_results("lovr"), "tasks.t2v.metrics.R@50", 120.0), "acme/vclip")


@pytest.mark.parametrize("kwargs, flag", [({}, "--model-repo"), ({"results_repo": "a/b/c"}, "--results-repo")])
def test_malformed_repo_ids(kwargs, flag):
    model_repo = "acme/vclip" if kwargs else "vclip"
    with pytest.raises(SubmissionError, match=flag):
        plan_submission(make_results("lovr"), model_repo, **kwargs)


def test_results_of_another_hub_model_are_refused(tmp_path):
    with pytest.raises(SubmissionError, match="model.id is 'acme/vclip' but --model-repo is 'other/model'"):
        plan_submission(make_results("lovr"), "other/model")
    local = with_change(make_results("lovr"), "model.id", str(tmp_path))  # a local checkpoint may be submitted
    assert plan_submission(local, "other/model")[0].repo_id == "other/model"


# --- the requests ------------------------------------------------------------------------------


def test_submit_sends_the_exact_requests(hub):
    results = make_results("lovr")
    uploads = plan_submission(results, "acme/vclip", results_repo="acme/vidret-results")
    urls = submit(uploads, token=TOKEN)
    assert urls == [f"{constants.ENDPOINT}/acme/vclip/discussions/7", f"{constants.ENDPOINT}/datasets/acme/vidret-results/discussions/8"]

    assert [(r.method, r.url.path) for r in hub.requests] == [
        ("POST", "/api/models/acme/vclip/preupload/main"),
        ("POST", "/api/models/acme/vclip/commit/main"),
        ("POST", "/api/datasets/acme/vidret-results/preupload/main"),
        ("POST", "/api/datasets/acme/vidret-results/commit/main"),
    ]
    for request in hub.requests:
        assert str(request.url).startswith(constants.ENDPOINT)
        assert dict(request.url.params) == {"create_pr": "1"}
        assert request.headers["authorization"] == f"Bearer {TOKEN}"

    assert json.loads(hub.requests[0].content)["files"][0]["path"] == ".eval_results/lovr.yaml"
    header, model_file = commit_lines(hub.requests[1])
    assert header == {"key": "header", "value": {"summary": uploads[0].commit_message, "description": uploads[0].commit_description}}
    assert model_file["key"] == "file" and model_file["value"]["path"] == ".eval_results/lovr.yaml"
    assert base64.b64decode(model_file["value"]["content"]).decode() == eval_results_yaml(results)

    _, results_file = commit_lines(hub.requests[3])
    assert results_file["value"]["path"] == "results/acme__vclip/0123abcd/lovr.json"
    assert json.loads(base64.b64decode(results_file["value"]["content"])) == results


def test_cli_submit_prints_pr_urls_and_never_the_token(hub, tmp_path, capsys):
    path = write_results(tmp_path / "r.json", make_results("tf-covr"))
    assert main(["submit", str(path), "--model-repo", "acme/vclip", "--token", TOKEN]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{constants.ENDPOINT}/acme/vclip/discussions/7"
    assert TOKEN not in out + err
    assert len(hub.requests) == 2


def test_cli_reports_a_refused_pull_request_and_the_ones_already_opened(hub, tmp_path, capsys):
    hub.refused.add("datasets/acme/vidret-results")
    path = write_results(tmp_path / "r.json", make_results("lovr"))
    argv = ["submit", str(path), "--model-repo", "acme/vclip", "--results-repo", "acme/vidret-results", "--token", TOKEN]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out.strip() == f"{constants.ENDPOINT}/acme/vclip/discussions/7"
    assert err.startswith(
        "vidret submit: pull request on dataset repo acme/vidret-results not opened: the Hub refused POST "
        f"{constants.ENDPOINT}/api/datasets/acme/vidret-results/commit/main (403 Forbidden)"
    )
    assert err.count("\n") == 1 and "close the 1 pull request(s) printed above" not in err  # a 403 is not retried
    assert "Traceback" not in err and TOKEN not in out + err


def test_cli_dry_run_prints_everything_and_sends_nothing(hub, tmp_path, capsys):
    results = make_results("lovr")
    path = write_results(tmp_path / "r.json", results)
    argv = ["submit", str(path), "--model-repo", "acme/vclip", "--results-repo", "acme/vidret-results", "--dry-run", "--token", TOKEN]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert hub.requests == []
    assert TOKEN not in out + err
    uploads = plan_submission(results, "acme/vclip", results_repo="acme/vidret-results")
    assert format_plan(uploads) in out
    assert "pull request on model repo acme/vclip" in out and "+++ .eval_results/lovr.yaml" in out
    assert "pull request on dataset repo acme/vidret-results" in out
    assert "+++ results/acme__vclip/0123abcd/lovr.json" in out
    assert eval_results_yaml(results).rstrip() in out
    assert "    Scores of `acme/vclip` (0123abcd) on" in out  # the pull request's description too
    assert "(dry run: 2 pull request(s) not opened)" in out


def test_cli_refusals_exit_1_and_send_nothing(hub, tmp_path, capsys):
    random = write_results(tmp_path / "random.json", make_results("lovr", random_weights=True))
    assert main(["submit", str(random), "--model-repo", "acme/vclip"]) == 1
    assert "model.random_weights is true" in capsys.readouterr().err
    bad = write_results(tmp_path / "bad.json", with_change(make_results("lovr"), "num_failed", 4))
    assert main(["submit", str(bad), "--model-repo", "acme/vclip"]) == 1
    err = capsys.readouterr().err
    assert "not valid results; nothing was sent" in err and "num_failed: 4 but the failures list" in err
    assert main(["submit", str(tmp_path / "none.json"), "--model-repo", "acme/vclip"]) == 1
    assert "results file not found" in capsys.readouterr().err
    assert hub.requests == []

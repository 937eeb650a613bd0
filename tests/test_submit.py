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
from vidret.hub.submit_checks import data_fingerprint
from vidret.hub.submit import (
    SubmissionError,
    eval_result_entries,
    eval_results_yaml,
    format_plan,
    hub_dataset_id,
    plan_submission,
    prepare_submission,
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


def write_manifest(folder: Path, rows: dict | None = None, data_sha: str = "1" * 64) -> dict:
    """A build's manifest.json in `folder` (what `vidret build` writes: rows per config and split,
    checksums of its outputs); returns it."""
    manifest = {
        "benchmark": "lovr",
        "version": "1.0.0",
        "outputs": {"README.md": {"sha256": "c" * 64, "size": 10}, "data/videos/test-00000-of-00001.parquet": {"sha256": data_sha, "size": 99}},
        "report": {"num_rows": rows or {"videos": {"test": 100, "train": 367}, "clips": {"test": 9000, "train": 31804}}},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


def test_results_repo_json_names_no_local_path(tmp_path):
    results = local_run_results(tmp_path)
    before = json.dumps(results)
    manifest = write_manifest(tmp_path / "repos" / "lovr")  # the build, as published on the Hub
    uploads = plan_submission(results, "acme/vclip", results_repo="acme/vidret-results", dataset_id="vidret/lovr",
                              fetch_manifest=lambda dataset_id, revision: manifest)
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


@pytest.mark.parametrize("flags", [{}, {"allow_random_weights": True}, {"allow_random_weights": True, "allow_subset": True, "allow_partial": True}])
def test_the_oracle_is_refused_whatever_the_flags(flags):
    results = with_change(make_results("lovr", model_id="oracle", model_revision=None), "model.adapter", "oracle")
    with pytest.raises(SubmissionError, match="model.adapter is 'oracle': a check that reads the answers planted in vidret's sample "
                       "videos, not a model; its scores never go to the Hub \\(no flag changes that\\)"):
        plan_submission(results, "acme/vclip", **flags)


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


def test_cli_dry_run_prints_a_summary_and_the_full_payload_only_on_request(hub, tmp_path, capsys):
    results = make_results("lovr")
    path = write_results(tmp_path / "r.json", results)
    argv = ["submit", str(path), "--model-repo", "acme/vclip", "--results-repo", "acme/vidret-results", "--dry-run", "--token", TOKEN]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert hub.requests == [] and err == ""
    assert TOKEN not in out
    lines = out.splitlines()
    assert len(lines) < 25  # a screenful, not the ~300 lines of the payload
    assert lines[0] == "Dry run: nothing was sent. vidret submit would open 2 pull request(s):"
    assert '1. on model repo acme/vclip: "Add LoVR evaluation results (vidret, vidret protocol)"' in lines
    assert "   adds .eval_results/lovr.yaml: 4 entries on dataset id: vidret/lovr at revision v1.0.0, split test" in lines
    t2v = results["tasks"]["t2v"]
    assert f"     task_id: t2v  R@1 = {t2v['metrics']['R@1']:.2f}  (10 queries, gallery 12)" in lines
    assert [line.split()[1] for line in lines if line.startswith("     task_id:")] == ["t2v", "v2t", "t2c", "c2t"]
    assert '2. on dataset repo acme/vidret-results: "Add results of acme/vclip on lovr"' in lines
    assert any(line.startswith("   adds results/acme__vclip/0123abcd/lovr.json: the full results file (") for line in lines)
    assert "   fields rewritten: none (it names no local path)" in lines
    assert lines[-2:] == ["The full payload (pull request texts, exact file contents): add --dry-run-out FILE.",
                          "(dry run: 2 pull request(s) not opened)"]
    assert eval_results_yaml(results).rstrip() not in out and "+++" not in out  # no payload on screen

    payload = tmp_path / "payload.txt"
    assert main([*argv[:-3], "--dry-run-out", str(payload)]) == 0  # implies --dry-run
    out = capsys.readouterr().out
    assert f"Full payload (pull request texts, exact file contents) written to {payload}." in out and hub.requests == []
    assert "add --dry-run-out FILE" not in out
    uploads = plan_submission(results, "acme/vclip", results_repo="acme/vidret-results")
    assert payload.read_text(encoding="utf-8") == format_plan(uploads) + "\n"
    assert eval_results_yaml(results).rstrip() in payload.read_text(encoding="utf-8")


def test_the_pull_request_speaks_to_the_model_owner():
    results = make_results("tf-covr")
    results["embeddings"] = {"videos": {"source": "files", "format": "pth-folder", "path": "/home/me/TF-CoVR/Embeddings/AIM",
                                        "sha256": "ab" * 32}, "texts": {"source": "model", "model": "acme/vclip"}}
    (model, _) = plan_submission(results, "acme/vclip", results_repo="acme/vidret-results")
    body = model.commit_description
    assert body.startswith("This pull request adds 1 evaluation score(s) of `acme/vclip` (revision `0123abcd`) on "
                           "**TF-CoVR: temporally fine-grained composed video retrieval** as `.eval_results/tf-covr.yaml`")
    assert "on the leaderboard of the dataset [`vidret/tf-covr`](https://huggingface.co/datasets/vidret/tf-covr)" in body
    score = results["tasks"]["cvr"]["metrics"]["mAP@50"]
    assert f"| `cvr` (composed video retrieval) | mAP@50 | {score:.2f} | 10 | 12 |" in body
    assert "vidret's default protocol (the benchmark's evaluation with the errors vidret found in the official code fixed" in body
    assert "(the default))" not in body and "vidret's protocol:" not in body  # the old doubled wording
    assert "Embeddings: videos: embedding files AIM (pth-folder, sha256 abababababab…); texts: model acme/vclip." in body
    assert "Merging adds only this file; close the pull request to decline." in body
    assert "/home/me" not in body + model.content.decode()
    official = plan_submission(make_results("tf-covr", protocol="official"), "acme/vclip")[0].commit_description
    assert "the official protocol (what TF-CoVR's evaluation code computes" in official
    assert "it reproduces https://github.com/UCF-CRCV/TF-CoVR" in official


def test_the_notes_say_where_the_embeddings_came_from_and_the_gallery():
    results = make_results("lovr")
    results["embeddings"] = {"videos": {"source": "files", "format": "safetensors", "path": "/data/AIM/lovr.safetensors",
                                        "sha256": "0123456789abcdef" * 4}, "texts": {"source": "model", "model": "openai/clip"}}
    notes = eval_result_entries(results)[0].notes
    assert "queries=10, gallery=12" in notes
    assert notes.endswith("embeddings: videos: embedding files lovr.safetensors (safetensors, sha256 0123456789ab…); "
                          "texts: model openai/clip")
    assert "/data" not in notes


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


# --- every problem at once; subsets; a local build is the Hub dataset ----------------------------


def test_every_problem_is_listed_at_once(tmp_path, capsys):
    results = make_results("lovr", random_weights=True)
    results["dataset"]["repo"] = str(tmp_path / "gone")  # a local build, and no --dataset-id
    results["settings"]["limit"] = 2
    with pytest.raises(SubmissionError) as refused:
        plan_submission(results, "acme/vclip", results_repo="acme/a/b")
    problems = refused.value.problems
    assert len(problems) == 4
    assert problems[0].startswith("--results-repo must be a Hub repo id")
    assert problems[1].startswith("dataset.repo is the local folder") and "--dataset-id" in problems[1]
    assert problems[2].startswith("model.random_weights is true")
    assert problems[3].startswith("settings.limit is 2 (a --limit run: only the first 2 items were scored): a subset "
                                  "is not the split's score") and "--allow-subset" in problems[3]
    assert str(refused.value).startswith("4 problems:\n  - --results-repo")

    path = write_results(tmp_path / "r.json", results)
    assert main(["submit", str(path), "--model-repo", "acme/vclip", "--results-repo", "acme/a/b"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vidret submit: {path}: 4 problem(s); nothing was sent:\n")
    assert [line[4:30] for line in err.splitlines()[1:]] == [p[:26] for p in problems]


def test_invalid_results_list_the_submission_problems_too(tmp_path, capsys):
    results = with_change(make_results("lovr", random_weights=True), "num_failed", 4)
    path = write_results(tmp_path / "r.json", results)
    assert main(["submit", str(path), "--model-repo", "acme/vclip"]) == 1
    err = capsys.readouterr().err
    assert "not valid results; nothing was sent" in err and "num_failed: 4 but the failures list" in err
    assert "It would also be refused for:\n  - model.random_weights is true" in err


def test_a_limit_run_is_refused_unless_allow_subset_then_filed_as_a_subset(tmp_path, capsys):
    results = with_change(make_results("lovr"), "settings.limit", 2)
    with pytest.raises(SubmissionError, match=r"settings.limit is 2 .*pass --allow-subset to file it labelled as a subset"):
        plan_submission(results, "acme/vclip")
    model, full = plan_submission(results, "acme/vclip", results_repo="acme/res", allow_subset=True)
    assert model.path_in_repo == ".eval_results/lovr_subset.yaml"  # never the split's file
    entries = yaml.safe_load(model.content)
    assert [e["dataset"]["task_id"] for e in entries] == ["t2v_subset", "v2t_subset", "t2c_subset", "c2t_subset"]
    label = "SUBSET, not the split's score: settings.limit is 2 (a --limit run: only the first 2 items were scored)"
    assert all(e["notes"].startswith(label + "; vidret") and "limit=2" in e["notes"] for e in entries)
    assert model.commit_message == "Add LoVR subset results (vidret, vidret protocol)"
    assert f"**{label}.** The entries are filed under task ids ending in `_subset`" in model.commit_description
    assert full.path_in_repo == "results/acme__vclip/0123abcd/lovr_subset.json"
    public = json.loads(full.content)
    assert public["settings"]["subset"] == label and public["settings"]["limit"] == 2
    validate_results(public)

    path = write_results(tmp_path / "r.json", results)
    argv = ["submit", str(path), "--model-repo", "acme/vclip", "--results-repo", "acme/res", "--allow-subset", "--dry-run"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "adds .eval_results/lovr_subset.yaml" in out and "task_id: t2v_subset" in out and f"subset label: {label}" in out
    assert "   fields rewritten: settings.subset (the subset label, added)" in out.splitlines()


@pytest.fixture(scope="module")
def tf_covr_build(tmp_path_factory) -> Path:
    """The TF-CoVR sample built annotations-only (test split: 20 triplets, 10 videos)."""
    from vidret.benchmarks.tf_covr.sample import make_release
    from vidret.builders import build

    root = tmp_path_factory.mktemp("tfcovr")
    make_release(root / "raw", videos=False)
    build("tf-covr", root / "raw", root / "build")
    return root / "build"


def on_build(build: Path, num_queries: int) -> dict:
    """Results of a run on the local `build` that scored `num_queries` of its test triplets."""
    results = make_results("tf-covr")
    results["dataset"]["repo"] = str(build)
    results["tasks"]["cvr"]["num_queries"] = results["num_queries"] = num_queries
    return results


def test_fewer_queries_than_the_local_build_holds_is_a_subset(tf_covr_build):
    manifest = json.loads((tf_covr_build / "manifest.json").read_text())
    same = lambda dataset_id, revision: manifest  # noqa: E731 - the Hub holds this very build
    subset = on_build(tf_covr_build, 10)  # no --limit recorded, yet 10 of the split's 20 triplets
    with pytest.raises(SubmissionError, match=r"the tasks scored fewer queries than split test holds \(cvr 10 of 20\): a subset is not the split's score"):
        plan_submission(subset, "acme/vclip", dataset_id="vidret/tf-covr", fetch_manifest=same)
    (upload,) = plan_submission(subset, "acme/vclip", dataset_id="vidret/tf-covr", fetch_manifest=same, allow_subset=True)
    assert upload.path_in_repo == ".eval_results/tf-covr_subset.yaml"
    assert plan_submission(on_build(tf_covr_build, 20), "acme/vclip", dataset_id="vidret/tf-covr", fetch_manifest=same)
    with pytest.raises(SubmissionError, match=rf"tasks.cvr.num_queries is 30 but the local build {tf_covr_build} now has 20"):
        plan_submission(on_build(tf_covr_build, 30), "acme/vclip", dataset_id="vidret/tf-covr", fetch_manifest=same)


def test_a_local_build_is_compared_with_the_hub_dataset_before_anything_is_opened(tf_covr_build, capsys, monkeypatch):
    # Other test modules set HF_HUB_OFFLINE=1 for their builds; this one talks to a mocked Hub.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    manifest_bytes = (tf_covr_build / "manifest.json").read_bytes()
    seen: list[tuple[str, str]] = []
    served = {"/datasets/vidret/tf-covr/resolve/v1.0.0/manifest.json": manifest_bytes}

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == AGENT_HARNESSES_PATH:
            return httpx2.Response(404)
        seen.append((request.method, request.url.path))
        if request.url.path in served:
            return httpx2.Response(200, content=served[request.url.path])
        return httpx2.Response(404, headers={"X-Error-Code": "EntryNotFound"}, json={"error": "Entry not found"})

    results = on_build(tf_covr_build, 20)
    with mock_hub(handler):
        plan = prepare_submission(results, "acme/vclip", dataset_id="vidret/tf-covr", token=TOKEN)
    assert seen == [("GET", "/datasets/vidret/tf-covr/resolve/v1.0.0/manifest.json")]  # one read, nothing written
    assert not plan.refused and len(plan.uploads) == 1
    assert plan.checks == [f"the local build {tf_covr_build} is vidret/tf-covr@v1.0.0: same rows and data files "
                           f"(rows triplets/test 20, triplets/train 40, triplets/val 20, videos/test 10, videos/train 10, "
                           f"videos/val 10; data sha256 {data_fingerprint(json.loads(manifest_bytes))[:12]}…)"]

    # The Hub's build has 1,500 test triplets: this one is not it (and its test split is a subset).
    hub_manifest = json.loads(manifest_bytes)
    hub_manifest["report"]["num_rows"]["triplets"]["test"] = 1500
    hub_manifest["outputs"]["data/triplets/test-00000-of-00001.parquet"]["sha256"] = "e" * 64
    served[next(iter(served))] = json.dumps(hub_manifest).encode()
    with mock_hub(handler):
        with pytest.raises(SubmissionError) as refused:
            plan_submission(results, "acme/vclip", dataset_id="vidret/tf-covr")
    (problem,) = refused.value.problems
    assert problem.startswith(f"dataset.repo: the local build {tf_covr_build} (rows triplets/test 20, triplets/train 40, triplets/val 20,")
    assert "is not vidret/tf-covr@v1.0.0 (rows triplets/test 1500, triplets/train 40, triplets/val 20," in problem
    assert "triplets/test: 20 rows here, 1500 on the Hub (a subset of the split scored)" in problem
    # Same rows, other data files: the checksums tell.
    hub_manifest["report"]["num_rows"]["triplets"]["test"] = 20
    served[next(iter(served))] = json.dumps(hub_manifest).encode()
    with mock_hub(handler):
        with pytest.raises(SubmissionError, match=r"the data files differ \(sha256 \w{12}… here, \w{12}… on the Hub\)"):
            plan_submission(results, "acme/vclip", dataset_id="vidret/tf-covr")
    # A revision the Hub does not have: one line saying so, nothing opened.
    with mock_hub(handler):
        with pytest.raises(SubmissionError, match=r"--dataset-id other/tf-covr: cannot compare the local build .* with "
                           r"other/tf-covr@v1.0.0: the Hub refused GET .*/datasets/other/tf-covr/resolve/v1.0.0/manifest.json \(404"):
            plan_submission(results, "acme/vclip", dataset_id="other/tf-covr")


def test_a_local_build_that_is_not_here_cannot_be_checked(tmp_path):
    results = with_change(make_results("lovr"), "dataset.repo", str(tmp_path / "moved"))
    with pytest.raises(SubmissionError, match=r"dataset.repo is the local build '.*moved', which is not here \(no manifest.json\), "
                       r"so it cannot be compared with vidret/lovr@v1.0.0: run vidret submit where the build is"):
        plan_submission(results, "acme/vclip", dataset_id="vidret/lovr", fetch_manifest=lambda *_: {})

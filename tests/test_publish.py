"""`vidret publish`: the exact Hub requests, offline, through a mock httpx2 transport."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx2
import pytest
from hub_mock import AGENT_HARNESSES_PATH, commit_lines, mock_hub

from vidret.builders import build
from vidret.cli.main import main
from vidret.hub.publish import PublishError, publish
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

TOKEN = "hf_vidretTestTokenNeverShown"
OID = "c0ffee" + "0" * 34
REPO = "org/tf-covr"


class FakeHub:
    """Answers the Hub endpoints `publish` uses and records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.remote_tree: list[dict] = []  # entries returned for videos/
        self.repo_files: list[dict] = []  # entries returned for the whole repo (delete_patterns)
        self.tag_status = 200
        self.tags: list[str] = []  # tags the repo already has

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path == AGENT_HARNESSES_PATH:
            return httpx2.Response(404)
        self.requests.append(request)
        if path == "/api/repos/create":
            return httpx2.Response(200, json={"url": f"https://huggingface.co/datasets/{REPO}"})
        if path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        if "/preupload/" in path:
            files = json.loads(request.content)["files"]
            return httpx2.Response(200, json={"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})
        if "/commit/" in path:
            opens_pr = "refs/pr/" in path or b"create_pr=1" in request.url.query
            pr = f"https://huggingface.co/datasets/{REPO}/discussions/1" if opens_pr else None
            return httpx2.Response(200, json={"commitUrl": f"https://huggingface.co/datasets/{REPO}/commit/{OID}", "commitOid": OID, "pullRequestUrl": pr})
        if path.endswith("/tree/main/videos"):
            return httpx2.Response(200, json=self.remote_tree)
        if path.endswith("/tree/main"):
            return httpx2.Response(200, json=self.repo_files)
        if path.endswith("/refs"):
            tags = [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": "3" * 40} for t in self.tags]
            return httpx2.Response(200, json={"branches": [], "converts": [], "tags": tags})
        if "/tag/" in path:
            return httpx2.Response(self.tag_status, json={} if self.tag_status == 200 else {"error": "Tag already exists"})
        return httpx2.Response(500, json={"error": f"unexpected {request.method} {path}"})

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path + (f"?{r.url.query.decode()}" if r.url.query else "")) for r in self.requests]


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    fake = FakeHub()
    with mock_hub(fake.handler):
        yield fake


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("publish")
    raw = make_tfcovr_release(base / "raw", videos_per_label=1, labels=("107b", "407c", "5253b"), targets_per_query=1)
    build("tf-covr", raw, base / "repo", progress=False, videos="copy")
    return base / "repo"


def committed_paths(request: httpx2.Request) -> list[str]:
    return sorted(line["value"]["path"] for line in commit_lines(request) if line["key"] == "file")


def test_publish_sends_exactly_these_requests(hub, repo, capsys):
    hub.repo_files = [{"type": "file", "path": "data/videos/old-00000-of-00001.parquet", "oid": "1" * 40, "size": 3}]
    videos = sorted(f"videos/{p.name}" for p in (repo / "videos").iterdir())
    argv = ["publish", str(repo), "--repo", REPO, "--tag", "v1.0.0", "--private", "--token", TOKEN, "--include-videos"]
    assert main(argv) == 0
    n = len(videos)
    assert hub.calls() == [
        ("POST", "/api/repos/create"),
        ("GET", f"/api/datasets/{REPO}/refs"),
        ("GET", f"/api/datasets/{REPO}/tree/main/videos?recursive=true&expand=false"),
        ("POST", f"/api/datasets/{REPO}/preupload/main"),
        ("POST", f"/api/datasets/{REPO}/commit/main"),
        ("GET", f"/api/datasets/{REPO}/tree/main?recursive=true&expand=false"),
        ("POST", "/api/validate-yaml"),
        ("POST", f"/api/datasets/{REPO}/preupload/main"),
        ("POST", f"/api/datasets/{REPO}/commit/main"),
        ("POST", f"/api/datasets/{REPO}/tag/{OID}"),
    ]
    create = json.loads(hub.requests[0].content)
    assert create == {"name": "tf-covr", "organization": "org", "visibility": "private", "type": "dataset"}
    assert committed_paths(hub.requests[4]) == videos and n == 9
    last = commit_lines(hub.requests[8])
    assert last[0]["value"]["summary"] == "vidret build v1.0.0"
    assert committed_paths(hub.requests[8]) == sorted(
        p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file() and not p.relative_to(repo).as_posix().startswith("videos/")
    )
    assert [line["value"]["path"] for line in last if line["key"] == "deletedFile"] == ["data/videos/old-00000-of-00001.parquet"]
    assert json.loads(hub.requests[9].content)["tag"] == "v1.0.0"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in hub.requests)
    out = capsys.readouterr()
    assert f"published {REPO} at {OID} as v1.0.0" in out.out
    assert TOKEN not in out.out + out.err
    assert not any(TOKEN.encode() in p.read_bytes() for p in repo.rglob("*") if p.is_file())


def test_video_batches_resume_where_they_stopped(hub, repo):
    videos = sorted((repo / "videos").iterdir())
    done = videos[:4]
    hub.remote_tree = [
        {"type": "file", "path": f"videos/{p.name}", "oid": "2" * 40, "size": p.stat().st_size,
         "lfs": {"oid": hashlib.sha256(p.read_bytes()).hexdigest(), "size": p.stat().st_size, "pointerSize": 130}}
        for p in done
    ]
    hub.remote_tree[0]["lfs"]["oid"] = "f" * 64  # same size, other content: uploaded again
    result = publish(repo, REPO, "v1.0.0", token=TOKEN, batch_files=2, include_videos=True)
    assert result.skipped_videos == 3 and result.video_commits == 3  # 6 left, 2 per commit
    commits = [r for r in hub.requests if "/commit/" in r.url.path]
    uploaded = [p for c in commits[:-1] for p in committed_paths(c)]
    assert uploaded == [f"videos/{p.name}" for p in [videos[0]] + videos[4:]]


def test_create_pr_makes_one_commit_and_no_tag(hub, repo):
    result = publish(repo, REPO, "v1.0.0", token=TOKEN, create_pr=True, include_videos=True)
    assert hub.calls() == [
        ("POST", "/api/repos/create"),
        ("GET", f"/api/datasets/{REPO}/tree/main?recursive=true&expand=false"),
        ("POST", "/api/validate-yaml"),
        ("POST", f"/api/datasets/{REPO}/preupload/main?create_pr=1"),
        ("POST", f"/api/datasets/{REPO}/commit/main?create_pr=1"),
    ]
    assert not any("/tag/" in r.url.path for r in hub.requests)
    assert len(committed_paths(hub.requests[-1])) == len([p for p in repo.rglob("*") if p.is_file()])
    assert result.pr_url.endswith("/discussions/1") and result.tag is None


def test_existing_tag_is_refused(hub, repo, capsys):
    hub.tag_status = 409  # a tag made while this publish was uploading
    assert main(["publish", str(repo), "--repo", REPO, "--tag", "v1.0.0", "--token", TOKEN]) == 1
    assert "already exists" in capsys.readouterr().err


def test_existing_tag_is_refused_before_anything_is_uploaded(hub, repo, capsys):
    # Found only when tagging, it came after every video batch and a new commit on main.
    hub.tags = ["v0.9.0", "v1.0.0"]
    assert main(["publish", str(repo), "--repo", REPO, "--tag", "v1.0.0", "--token", TOKEN, "--include-videos"]) == 1
    assert "tag 'v1.0.0' already exists on org/tf-covr" in capsys.readouterr().err
    assert not any("/commit/" in r.url.path or "/preupload/" in r.url.path for r in hub.requests)


def test_other_tag_errors_propagate(hub, repo, capsys):
    from huggingface_hub.errors import HfHubHTTPError

    hub.tag_status = 403
    with pytest.raises(HfHubHTTPError):
        publish(repo, REPO, "v1.0.0", token=TOKEN)
    # The CLI reports them in one line, without a traceback and without the token.
    assert main(["publish", str(repo), "--repo", REPO, "--tag", "v1.0.0", "--token", TOKEN]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vidret publish: the Hub refused POST https://huggingface.co/api/datasets/{REPO}/tag/")
    assert "(403 Forbidden): Tag already exists." in err and err.count("\n") == 1 and TOKEN not in err


def test_folder_checks_send_nothing(hub, repo, tmp_path):
    with pytest.raises(PublishError, match="folder not found"):
        publish(tmp_path / "nope", REPO, "v1.0.0")
    (tmp_path / "README.md").write_text("x")
    with pytest.raises(PublishError, match=r"missing \['eval.yaml', 'manifest.json'\]"):
        publish(tmp_path, REPO, "v1.0.0")
    with pytest.raises(PublishError, match="does not match the build's version '1.0.0': use --tag v1.0.0"):
        publish(repo, REPO, "v2.0.0")
    with pytest.raises(ValueError, match="batch_bytes and batch_files"):
        publish(repo, REPO, "v1.0.0", batch_files=0)
    linked = tmp_path / "linked"
    linked.mkdir()
    for name in ("README.md", "eval.yaml", "manifest.json"):
        (linked / name).write_text((repo / name).read_text())
    (linked / "videos").mkdir()
    (linked / "videos/a.mp4").symlink_to(next((repo / "videos").iterdir()))
    with pytest.raises(PublishError, match="symbolic link.*--videos copy"):
        publish(linked, REPO, "v1.0.0")
    (linked / "videos/a.mp4").unlink()
    (linked / "manifest.json").write_text('{"version": ')  # an interrupted build
    with pytest.raises(PublishError, match=r"manifest.json: not valid JSON .*rebuild"):
        publish(linked, REPO, "v1.0.0")
    (linked / "manifest.json").write_text("[]")  # valid JSON, but not a manifest
    with pytest.raises(PublishError, match=r"manifest.json: not a JSON object; rebuild"):
        publish(linked, REPO, "v1.0.0")
    assert hub.requests == []


def test_video_names_with_pattern_characters_are_uploaded(hub, repo, tmp_path):
    # A batch names its files exactly: "x[1].mp4" is a file, not an fnmatch character class.
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    first = next((copy / "videos").iterdir())
    shutil.copyfile(first, copy / "videos" / "x[1].mp4")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["videos"]["files"]["videos/x[1].mp4"] = first.stat().st_size  # as if the build had made it
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = publish(copy, REPO, "v1.0.0", token=TOKEN, include_videos=True)
    commits = [r for r in hub.requests if "/commit/" in r.url.path]
    uploaded = [p for c in commits[:-1] for p in committed_paths(c)]
    assert "videos/x[1].mp4" in uploaded
    assert sorted(uploaded) == sorted(result.uploaded)


# --- only what the build made goes up (issue 15 item 3; issue 9: videos only when asked) ------------


def uploaded_paths(hub: FakeHub) -> list[str]:
    return sorted(p for r in hub.requests if "/commit/" in r.url.path for p in committed_paths(r))


@pytest.fixture
def cluttered(repo, tmp_path) -> Path:
    """The build plus what a user's folder collects: secrets, notes, OS litter, a stray video."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    (copy / ".env").write_text(f"HF_TOKEN={TOKEN}")
    (copy / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    (copy / "notes").mkdir()
    (copy / "notes" / "todo.txt").write_text("private")
    (copy / "data" / ".DS_Store").write_text("x")
    (copy / "videos" / "home_movie.mp4").write_bytes(b"not from the build")
    return copy


def test_only_files_the_manifest_lists_are_uploaded(hub, cluttered, caplog):
    manifest = json.loads((cluttered / "manifest.json").read_text())
    result = publish(cluttered, REPO, "v1.0.0", token=TOKEN, include_videos=True)
    assert uploaded_paths(hub) == sorted(["manifest.json", *manifest["outputs"], *manifest["videos"]["files"]])
    assert result.skipped == [".env", "data/.DS_Store", "id_rsa", "notes/", "videos/home_movie.mp4"]
    assert "5 file(s) not listed in manifest.json, not uploaded: .env, data/.DS_Store, id_rsa, notes/" in caplog.text
    assert not any(TOKEN.encode() in r.content for r in hub.requests if r.content)


def test_videos_stay_off_the_hub_without_include_videos(hub, cluttered, caplog, capsys):
    manifest = json.loads((cluttered / "manifest.json").read_text())
    assert manifest["videos"]["included"] and len(manifest["videos"]["files"]) == 9
    assert main(["publish", str(cluttered), "--repo", REPO, "--tag", "v1.0.0", "--token", TOKEN]) == 0
    assert uploaded_paths(hub) == sorted(["manifest.json", *manifest["outputs"]])
    assert not any("/tree/main/videos" in r.url.path for r in hub.requests)  # no video bookkeeping either
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings[0].startswith("9 video(s) not uploaded: TF-CoVR's videos come from FineGym and FineDiving")
    assert "--include-videos" in warnings[0]
    assert f"published {REPO} at {OID} as v1.0.0" in capsys.readouterr().out


def test_include_videos_needs_a_build_with_videos(hub, tmp_path):
    raw = make_tfcovr_release(tmp_path / "raw", videos_per_label=1, labels=("107b", "407c", "5253b"), targets_per_query=1)
    build("tf-covr", raw, tmp_path / "annotations", progress=False, videos="none")
    with pytest.raises(PublishError, match=r"--include-videos: .* has no videos .*rebuild with --videos copy"):
        publish(tmp_path / "annotations", REPO, "v1.0.0", token=TOKEN, include_videos=True)
    assert hub.requests == []
    result = publish(tmp_path / "annotations", REPO, "v1.0.0", token=TOKEN)
    assert result.withheld_videos == 0 and result.uploaded == [] and "manifest.json" in uploaded_paths(hub)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda out, m: (out / "eval.yaml").write_text("tasks: []\n"), "eval.yaml differs from manifest.json"),
        (lambda out, m: (out / "README.md").unlink(), "missing ['README.md']"),
        (lambda out, m: next((out / "data").rglob("*.parquet")).unlink(), "manifest.json lists 'data/"),
        (lambda out, m: m["outputs"].update({"../outside.txt": {"size": 1, "sha256": "0"}}), "lists '../outside.txt', which is not"),
        (lambda out, m: m["outputs"].update({".env": {"size": 1, "sha256": "0"}}), "lists '.env', which is not"),
        (lambda out, m: m["outputs"].update({"/etc/passwd": {"size": 1, "sha256": "0"}}), "lists '/etc/passwd', which is not"),
        (lambda out, m: m["videos"]["files"].update({"videos/../id_rsa": 1}), "lists 'videos/../id_rsa', which is not"),
        (lambda out, m: m["videos"]["files"].update({"id_rsa": 1}), "lists 'id_rsa', which is not"),
        (lambda out, m: next((out / "videos").iterdir()).write_bytes(b"x"), "bytes but manifest.json says"),
        (lambda out, m: m.update({"outputs": ["README.md"]}), "'outputs' must map file paths"),
        (lambda out, m: m["videos"].update({"files": ["videos/a.mp4"]}), "'videos.files' must map video paths"),
    ],
)
def test_a_folder_that_differs_from_its_manifest_is_refused(hub, repo, tmp_path, change, fragment):
    import shutil

    out = tmp_path / "repo"
    shutil.copytree(repo, out)
    manifest = json.loads((out / "manifest.json").read_text())
    change(out, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError) as info:
        publish(out, REPO, "v1.0.0", token=TOKEN, include_videos=True)
    assert fragment in str(info.value)
    assert hub.requests == []  # refused before anything is sent

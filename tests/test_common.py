"""vidret.common: the one definition of atomic writes, hashing, safe names, path/URL/Hub-id tests,
redaction and the weighted median; and the call sites that used to hold diverging copies."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from pathlib import Path

import numpy as np
import pytest

from vidret import common
from vidret.common import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    atomic_writer,
    is_absolute_path,
    is_hub_id,
    is_local_path,
    is_safe_component,
    is_url,
    local_roots,
    redact,
    redact_tree,
    safe_component,
    sha256_file,
    weighted_median,
)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---- atomic writes ---------------------------------------------------------------------------


def test_atomic_writes_replace_the_file_and_leave_no_temporary(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    assert atomic_write_text(target, "néw ✓\n") == target
    assert target.read_text(encoding="utf-8") == "néw ✓\n"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    with atomic_writer(tmp_path / "parts.npz", "wb") as fh:
        np.savez(fh, ids=np.asarray(["a"]), embeddings=np.ones((1, 3)))
    assert np.load(tmp_path / "parts.npz")["ids"].tolist() == ["a"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_content_and_removes_the_temporary(tmp_path, error):
    target = tmp_path / "results.json"
    target.write_text("old content")
    with pytest.raises(type(error)):
        with atomic_writer(target, "w") as fh:
            fh.write("half of the new")
            assert leftovers(tmp_path)  # the temporary file sits beside the target meanwhile
            raise error
    assert target.read_text() == "old content"
    assert leftovers(tmp_path) == []


def test_a_failed_rename_keeps_the_old_content_and_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "key.json"
    target.write_text("old")

    def refuse(src, dst):
        raise PermissionError(f"cannot replace {dst}")

    monkeypatch.setattr(common.os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and leftovers(tmp_path) == []


def test_atomic_writes_fsync_the_file_and_its_folder(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append("folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    monkeypatch.setattr(common.os, "fsync", fsync)
    atomic_write_text(tmp_path / "a.txt", "x")
    assert synced[0] == "file"
    if os.name == "posix" and Path("/proc/self/fd").is_dir():
        assert synced == ["file", "folder"]


def test_atomic_path_for_writers_that_take_a_file_name(tmp_path):
    target = tmp_path / "converted.bin"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and not tmp.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise ValueError("the writer failed")
    with pytest.raises(FileNotFoundError):
        with atomic_path(target):
            pass  # wrote nothing
    assert target.read_bytes() == b"new" and leftovers(tmp_path) == []


def test_atomic_writer_refuses_modes_it_cannot_make_atomic(tmp_path):
    with pytest.raises(ValueError, match="mode must be"):
        with atomic_writer(tmp_path / "x", "a"):
            pass


def test_sha256_file_reads_in_chunks(tmp_path):
    data = os.urandom(10_000)
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f", chunk=64) == sha256_file(str(tmp_path / "f")) == hashlib.sha256(data).hexdigest()


# ---- safe names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "a/b", "a\\b", "", "a\x00b", "a\x1b[2Jb", "a\x9bb", "\n", "x" * 256, "é" * 128])
def test_safe_component_rejects(name):
    assert not is_safe_component(name)
    with pytest.raises(ValueError, match=r"^split .* is not a safe file name") as err:
        safe_component(name, "split")
    assert repr(name) in str(err.value)


@pytest.mark.parametrize("name", ["test", "clip-01.mp4", "a..b", ".hidden", "x" * 255, "é" * 127, "Scene 3 (final)"])
def test_safe_component_accepts(name):
    assert safe_component(name, "id") == name


# ---- paths, URLs, Hub ids --------------------------------------------------------------------

ABSOLUTE = ["/x", "//nas/share/x", "\\\\nas\\share\\x", "\\\\?\\C:\\Users\\x", "\\\\.\\C:\\x", "C:\\x", "c:/x", "C:x", "\\x"]
RELATIVE = ["x", "videos/a.mp4", "./x", "../x", "~/x", "org/name", "ab:c", ""]


@pytest.mark.parametrize("path", ABSOLUTE)
def test_absolute_paths_on_any_system(path):
    assert is_absolute_path(path)


@pytest.mark.parametrize("path", RELATIVE)
def test_relative_paths(path):
    assert not is_absolute_path(path)


def test_a_drive_relative_reference_leaves_the_dataset_folder(tmp_path):
    # Joined to a folder on Windows, "C:x" becomes "C:x": the old containment test took it as
    # relative (inside); now it is absolute, so outside the folder unless allowed.
    from vidret.video.containment import is_inside

    assert not is_inside("C:x.mp4", tmp_path)
    assert not is_inside("\\\\?\\C:\\x.mp4", tmp_path)
    assert is_inside("videos/x.mp4", tmp_path)


@pytest.mark.parametrize(
    "text, local",
    [("~/x", True), ("./x", True), ("../x", True), (".cache/x", True), ("file:///x", True), ("a\\b", True), ("/x", True),
     ("C:/m", True), ("org/name", False), ("name", False), ("hf://datasets/a/b", False), ("https://x.org/a", False)],
)
def test_local_paths(text, local):
    assert is_local_path(text) is local


def test_urls():
    assert is_url("https://x.org/a") and is_url("hf://datasets/a/b@main") and is_url("file:///x")
    assert not is_url("/x") and not is_url("org/name") and not is_url("C:\\x")


HUB_IDS = ["org/name", "openai/clip-vit-base-patch32", "a/b", "A_1/b.c-d", "x" * 96 + "/y", "org/" + "n" * 96, "_x/_y"]
NOT_HUB_IDS = [
    "name", "a/b/c", "-org/x", "org/x-", "org/.x", "org/x.", "org--x/y", "org/a..b", "org/x.git", "café/x", "org/na me",
    "", "/x", "org/", "x" * 97 + "/y", "<local>/x", "org/name@rev", "hf://datasets/org/x", "C:/x",
]


@pytest.mark.parametrize("text", HUB_IDS)
def test_hub_ids_accepted(text):
    assert is_hub_id(text) and is_hub_id(text, require_org=False)


@pytest.mark.parametrize("text", NOT_HUB_IDS)
def test_hub_ids_rejected(text):
    assert not is_hub_id(text)


def test_a_name_alone_is_a_hub_id_only_when_no_org_is_required():
    assert is_hub_id("squad", require_org=False) and not is_hub_id("squad")
    assert not is_hub_id("-squad", require_org=False) and not is_hub_id(None)  # type: ignore[arg-type]


def test_the_hub_id_rules_where_the_old_copies_disagreed(tmp_path, monkeypatch):
    """Four copies disagreed; the Hub's own rules (the strictest correct one) now decide everywhere."""
    from vidret.evaluation.embeddings.stored import EmbeddingSourceError, detect_format
    from vidret.evaluation.planning.data_location import looks_like_path
    from vidret.hub.submit import SubmissionError, hub_dataset_id, plan_submission
    from results_helpers import make_results

    monkeypatch.chdir(tmp_path)
    # --data: the old regex took Unicode letters and a leading "-" for a Hub id.
    assert looks_like_path("café/lovr") and looks_like_path("-org/lovr")
    assert not looks_like_path("vidret/lovr") and not looks_like_path("squad")
    # --embeddings: the old regex took "org/x-", "org/a..b" and "org/x.git" for Hub exports.
    for src in ("org/x-", "org/a..b", "org/x.git", "org/x@bad rev"):
        with pytest.raises(EmbeddingSourceError, match="no such file or folder"):
            detect_format(src)
    assert detect_format("org/x@v1.0") is None and detect_format("org/x") is None
    # submit: any "a/b" was a Hub id, so a redacted "<local>/x" or "org/na me" was kept as model.id.
    assert hub_dataset_id("<local>/tiny-clip") is None and hub_dataset_id("org/na me") is None
    assert hub_dataset_id("hf://datasets/vidret/lovr@main") == "vidret/lovr"
    with pytest.raises(SubmissionError, match="--model-repo must be a Hub repo id"):
        plan_submission(make_results("lovr"), "acme/my model")


# ---- redaction -------------------------------------------------------------------------------

REDACTIONS = [
    ("\\\\?\\C:\\Users\\x", "<local>/x"),
    ("\\\\.\\C:\\x", "<local>/x"),
    ("//nas/share/x", "<local>/x"),
    ("ref-/home/u/x", "ref-<local>/x"),
    ("see \\Users\\Bob\\x.mp4 now", "see <local>/x.mp4 now"),
    ("open \\\\?\\UNC\\nas\\share\\x.mp4: gone", "open <local>/x.mp4: gone"),
    ("~/videos/a.mp4 is missing", "<local>/a.mp4 is missing"),
    ("file:///data/a.mp4", "<local>/a.mp4"),
    ("cannot open /data/Alice Smith/lovr/x.mp4: moov atom", "cannot open <local>/x.mp4: moov atom"),
    ("No such file: '/data/Alice: Smith, Private/x.mp4'", "No such file: '<local>/x.mp4'"),
    ("error:/home/alice/x.mp4", "error:<local>/x.mp4"),
    ("t2v/R@1 and org/name and 3/4 and ./rel/x", "t2v/R@1 and org/name and 3/4 and ./rel/x"),
    ("hf://datasets/org/x/a.mp4 or https://x.org/a/b", "hf://datasets/org/x/a.mp4 or https://x.org/a/b"),
    ("a regex \\d+ and R@1 / R@5 = 0.5", "a regex \\d+ and R@1 / R@5 = 0.5"),
]


@pytest.mark.parametrize("text, expected", REDACTIONS)
def test_redact(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected  # redacting twice changes nothing more


def test_redact_replaces_known_roots_whole_whatever_their_folders_hold():
    root = "/home/Carol/ckpt: v2, secret/my-vclip"
    text = f"model {root} said error:{root}/x.mp4"
    assert redact(text) != "model <local>/my-vclip said error:<local>/x.mp4"  # ": " ends a path in free text
    assert redact(text, [root]) == "model <local>/my-vclip said error:<local>/my-vclip/x.mp4"


def test_redact_tree_names_the_fields_it_changed():
    changed: list[str] = []
    value = {"a": ["/srv/x/y.mp4", "kept", 3, None], "b": {"c": "C:\\u\\z"}, "d": "org/name"}
    assert redact_tree(value, changed=changed) == {"a": ["<local>/y.mp4", "kept", 3, None], "b": {"c": "<local>/z"}, "d": "org/name"}
    assert changed == ["a.0", "b.c"]


def test_local_roots_keep_folders_not_ids_urls_or_bare_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "build" / "lovr").mkdir(parents=True)
    values = ["/data/x/", "vidret/lovr", "build/lovr", "hf://datasets/a/b", "file:///srv/m", "lovr", None, 3, "C:\\m\\"]
    assert local_roots(values) == ["/data/x", "build/lovr", "file:///srv/m", "C:\\m"]


@pytest.fixture
def private_record():
    from results_helpers import make_results

    record = make_results("lovr", model_id="/home/Carol/ckpt: v2, secret/my-vclip", model_revision=None)
    record["dataset"]["repo"] = "/data/Alice Smith Private/repos/lovr"
    record["settings"]["note"] = "frames read from /data/Alice Smith Private/repos/lovr/videos and \\\\?\\C:\\Users\\Bob\\v"
    record["cache"] = {"dir": "C:\\Users\\Bob (home)\\cache", "namespace": "n", "hits": 0, "misses": 1}
    record["failures"] = [
        {"item_id": "v0", "kind": "video", "source": "/srv/Alice: Smith/v0.mp4", "reason": "cannot open /srv/Alice: Smith/v0.mp4: moov"}
    ]
    record["num_failed"] = 1
    record["embeddings"] = {"videos": {"source": "export", "path": "/srv/Alice: Smith/exports/lovr-clip"}}
    return record


@pytest.mark.parametrize("text", [t for t, _ in REDACTIONS] + ["/home/u/models/tiny-clip", "cannot open /data/x.mp4: moov"])
def test_export_and_submit_cut_the_same_text_the_same_way(private_record, text):
    # Before: export turned "/home/u/models/tiny-clip" into "tiny-clip" and left
    # "cannot open /data/x.mp4: moov" as it was (it only looked at strings that start with a
    # path); submit gave "<local>/tiny-clip" and "cannot open <local>/x.mp4: moov".
    from vidret.evaluation.embeddings.export import public_paths
    from vidret.hub.submit import publishable_results

    private_record["config"] = text
    submitted, _ = publishable_results(private_record, "acme/vclip", "vidret/lovr")
    assert public_paths(text, private_record) == submitted["config"] == redact(text)


def test_export_and_submit_publish_a_record_the_same_way(private_record):
    from vidret.evaluation.embeddings.export import public_paths
    from vidret.hub.submit import publishable_results

    submitted, _ = publishable_results(private_record, "acme/vclip", "vidret/lovr")
    exported = public_paths(private_record, private_record)
    # Submit replaces these three fields by what they stand for on the Hub; everything else matches.
    for name in ("dataset", "model", "cache"):
        submitted.pop(name), exported.pop(name)
    assert exported == submitted
    text = json.dumps(exported, ensure_ascii=False)
    assert not [word for word in ("Alice", "Smith", "Bob", "Carol", "secret", "Users") if word in text], text
    assert exported["failures"][0] == {"item_id": "v0", "kind": "video", "source": "<local>/v0.mp4", "reason": "cannot open <local>/v0.mp4: moov"}
    assert public_paths(private_record["model"], private_record)["id"] == "<local>/my-vclip"


# ---- weighted median -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, weights",
    [([5], [1]), ([1, 2], [1, 1]), ([3, 1, 2], [1, 1, 1]), ([1, 13], [3, 3]), ([1, 6, 13], [4, 0, 7]), ([2.5, 1.5], [2, 1]),
     ([13, 1, 6], [5, 2, 3])],
)
def test_weighted_median_is_the_median_of_the_repeated_values(values, weights):
    repeated = [v for v, w in zip(values, weights) for _ in range(w)]
    assert weighted_median(values, weights) == statistics.median(repeated) == float(np.median(repeated))


def test_weighted_median_takes_numpy_counts_and_refuses_bad_weights():
    assert weighted_median(np.array([1.0, 3.0]), np.array([1, 2])) == 3.0
    for values, weights, problem in [
        ([1], [1, 2], "1 values but 2 weights"),
        ([1], [-1], "non-negative integers"),
        ([1], [0.5], "non-negative integers"),
        ([1], [True], "non-negative integers"),
        ([1, 2], [0, 0], "sum to 0"),
    ]:
        with pytest.raises(ValueError, match=problem):
            weighted_median(values, weights)


def test_atomic_writer_durable_false_skips_fsync_but_stays_atomic(tmp_path, monkeypatch):
    import os

    from vidret.common import atomic_writer

    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    target = tmp_path / "part.bin"
    with atomic_writer(target, "wb", durable=False) as fh:
        fh.write(b"new")
        assert not target.exists()  # readers see nothing until the block ends
    assert target.read_bytes() == b"new" and synced == []
    with atomic_writer(target, "wb") as fh:
        fh.write(b"again")
    assert target.read_bytes() == b"again" and synced  # the default still fsyncs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.bin"]

"""`vidret embeddings export` and scoring the export: identical metrics, no video opened, publishable."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runner_helpers import build_sample_repos, build_tiny_model, copy_repo, metrics_of, run
from vidret.cli.main import main
from vidret.common import sha256_file
from vidret.evaluation.embeddings.export import ExportError, export_embeddings, read_export, write_export
from vidret.evaluation.embeddings.sources import EmbeddingUnit
from vidret.evaluation.running.runner import EvalSettings, evaluate
from vidret.evaluation.results.validation import validate_file


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def repos(root):
    return build_sample_repos(root)


@pytest.fixture(scope="module")
def model(root):
    return build_tiny_model("clip", root)


def no_video_may_open(monkeypatch):
    """Make every way into a video fail loudly: a run that decodes anything errors out."""
    import av

    import vidret.evaluation.embeddings.model as embedding

    def refuse(*args, **kwargs):
        raise AssertionError("a video was opened")

    monkeypatch.setattr(av, "open", refuse)
    monkeypatch.setattr(embedding.SegmentDecoder, "__getitem__", refuse)


def scored(record):
    """What must survive the round trip: every task entry (metrics, counts, failed queries,
    truncated texts) and the failures."""
    return record["tasks"], record["failures"], record["num_failed"]


@pytest.mark.parametrize("benchmark", ["tf-covr", "lovr"])
def test_round_trip_scores_identically_without_videos(repos, model, root, tmp_path, monkeypatch, capsys, benchmark):
    data = copy_repo(repos[benchmark], tmp_path / "data")
    cache = tmp_path / "cache"
    first_out = tmp_path / "first.json"
    first = run(benchmark, data, model, frames=2, batch_size=4, cache_dir=str(cache), output=str(first_out))

    export = tmp_path / "export"
    assert main(["embeddings", "export", str(first_out), "--out", str(export)]) == 0
    assert "publish: vidret publish" in capsys.readouterr().out

    shutil.rmtree(data / "videos")  # nothing left to decode ...
    no_video_may_open(monkeypatch)  # ... and opening one would fail the test
    out = tmp_path / "again.json"
    assert main(["evaluate", "--benchmark", benchmark, "--data", str(data), "--embeddings", str(export),
                 "--num-workers", "0", "--no-cache", "--output", str(out)]) == 0
    validate_file(out)
    again = json.loads(out.read_text())
    assert scored(again) == scored(first)
    # The export names the local model folder as `vidret submit` would publish it.
    assert again["model"]["id"] == "<local>/tiny-clip" and again["model"]["fingerprint"] == first["model"]["fingerprint"]
    assert again["settings"]["frames"] == first["settings"]["frames"] == 2
    assert again["settings"]["adapter"] == {**first["settings"]["adapter"], "model": "<local>/tiny-clip"}
    for side in ("texts", "videos"):
        origin = again["embeddings"][side]
        assert origin["source"] == "export" and origin["path"] == str(export)
        assert origin["manifest_sha256"] == read_export(export).digest
    assert first["embeddings"]["videos"] == {"source": "model", "model": str(model), "cache_namespace": first["cache"]["namespace"]}
    assert "cache" not in again  # no model, no cache


def test_export_folder_layout_card_and_load_dataset(repos, model, tmp_path):
    import datasets

    out = tmp_path / "r.json"
    record = run("tf-covr", repos["tf-covr"], model, frames=2, cache_dir=str(tmp_path / "c"), output=str(out))
    report = export_embeddings(out, tmp_path / "e32")
    half = export_embeddings(out, tmp_path / "e16", dtype="float16")
    # Parquet with the promised columns and types, one row per text and per video.
    table = pq.read_table(tmp_path / "e32" / report.files[0])
    assert table.column_names == ["id", "kind", "embedding", "text", "truncated"]
    stored = table.schema.field("embedding").type
    assert pa.types.is_fixed_size_list(stored) and stored.list_size == report.dim and stored.value_type == pa.float32()
    assert pq.read_table(tmp_path / "e16" / half.files[0]).schema.field("embedding").type.value_type == pa.float16()
    assert half.bytes < report.bytes
    rows = table.to_pylist()
    videos = {r["id"] for r in rows if r["kind"] == "video"}
    from vidret.evaluation.planning.dataset import load_plan

    assert videos == set(load_plan("tf-covr", str(repos["tf-covr"]))[0].visuals)
    texts = [r for r in rows if r["kind"] == "text"]
    assert texts and all(r["id"].startswith("text:") and r["text"] and r["truncated"] is not None for r in texts)
    assert sum(r["truncated"] for r in texts) > 0  # the tiny CLIP cuts some modification texts
    # The card records benchmark, dataset revision, model, preset and the settings; no local path leaks.
    card = (tmp_path / "e32" / "README.md").read_text()
    for fact in ("tf-covr", "v1.0.0", "tiny-clip", "clip (FramePoolingAdapter)", '"frames": 2', '"pooling": "mean"'):
        assert fact in card
    published = "".join((tmp_path / "e32" / name).read_text() for name in ("README.md", "embeddings.json"))
    assert str(tmp_path) not in published
    meta = json.loads((tmp_path / "e32" / "embeddings.json").read_text())
    assert meta["model"]["adapter"] == "clip" and meta["dataset"]["revision"] == "v1.0.0"
    assert meta["source_metrics"] == metrics_of(record)
    # The manifest is a build manifest: every file with its size and SHA-256.
    manifest = json.loads((tmp_path / "e32" / "manifest.json").read_text())
    assert manifest["kind"] == "embeddings" and manifest["version"] == "1.0.0"
    assert sorted(manifest["outputs"]) == sorted([*report.files, "README.md", "embeddings.json"])
    # A dataset repo `datasets` loads as is.
    loaded = datasets.load_dataset(str(tmp_path / "e32"), split="test")
    assert loaded.num_rows == len(rows) and len(loaded[0]["embedding"]) == report.dim


def test_export_refuses_what_it_cannot_export(repos, model, tmp_path):
    no_cache = tmp_path / "nc.json"
    run("tf-covr", repos["tf-covr"], model, frames=2, limit=2, output=str(no_cache))
    with pytest.raises(ExportError, match="no embedding cache"):
        export_embeddings(no_cache, tmp_path / "x")
    out = tmp_path / "r.json"
    record = run("tf-covr", repos["tf-covr"], model, frames=2, limit=2, cache_dir=str(tmp_path / "c"), output=str(out))
    parts = list((tmp_path / "c" / record["cache"]["namespace"] / "parts").glob("*.npz"))
    parts[0].unlink()  # a cache that lost some of the run's embeddings
    with pytest.raises(SystemExit, match=r"lacks \d+ of the run's \d+ embeddings"):
        main(["embeddings", "export", str(out), "--out", str(tmp_path / "y")])
    with pytest.raises(ExportError, match="--dtype must be one of float32|float16"):
        export_embeddings(out, tmp_path / "y", dtype="int8")


def test_failed_items_are_not_exported_and_stay_failed(repos, tmp_path):
    """A video that failed in the run has no embedding: the export names it, the re-score counts it."""
    data = copy_repo(repos["tf-covr"], tmp_path / "data")
    from vidret.testing.synthetic import make_corrupt_video

    victim = sorted((data / "videos").iterdir())[0]
    make_corrupt_video(victim)
    out = tmp_path / "r.json"
    first = run("tf-covr", data, "oracle", cache_dir=str(tmp_path / "c"), output=str(out))
    assert first["num_failed"] == 1
    report = export_embeddings(out, tmp_path / "e")
    assert report.failed == [victim.stem]
    assert victim.stem in (tmp_path / "e" / "README.md").read_text()
    again = evaluate(EvalSettings(benchmark="tf-covr", data=str(data), embeddings=str(tmp_path / "e"), num_workers=0))
    assert again["tasks"] == first["tasks"]
    [failure] = again["failures"]
    assert (failure["item_id"], failure["kind"]) == (victim.stem, "video")
    assert failure["reason"] == f"failed in the run that made {tmp_path / 'e'} (see that run's results)"
    assert "VideoDecodeError" in first["failures"][0]["reason"]


def test_altered_export_is_refused(repos, model, tmp_path):
    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], model, frames=2, limit=3, cache_dir=str(tmp_path / "c"), output=str(out))
    report = export_embeddings(out, tmp_path / "e")
    shard = tmp_path / "e" / report.files[0]
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    with pytest.raises(SystemExit, match="SHA-256 differs from manifest.json"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--embeddings", str(tmp_path / "e"),
              "--no-cache", "--output", str(tmp_path / "x.json")])
    with pytest.raises(ExportError, match="differs from its size or SHA-256"):  # not replaced: no longer what was exported
        export_embeddings(out, tmp_path / "e")
    shutil.rmtree(tmp_path / "e")
    export_embeddings(out, tmp_path / "e")  # fresh files
    (tmp_path / "e" / "data" / "extra.parquet").write_bytes(shard.read_bytes())
    with pytest.raises(ValueError, match=r"\['data/extra.parquet'\] are not in manifest.json"):
        read_export(tmp_path / "e")


def test_publish_uploads_an_export_like_a_dataset_repo(repos, model, tmp_path, monkeypatch):
    from hub_mock import commit_lines, mock_hub
    from test_publish import FakeHub

    from vidret.hub.publish import PublishError, publish

    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], model, frames=2, limit=3, cache_dir=str(tmp_path / "c"), output=str(out))
    report = export_embeddings(out, tmp_path / "e", version="2.0.0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    hub = FakeHub()
    with mock_hub(hub.handler):
        with pytest.raises(PublishError, match="use --tag v2.0.0"):
            publish(tmp_path / "e", "org/emb", "v1.0.0", token="hf_x")
        result = publish(tmp_path / "e", "org/emb", "v2.0.0", token="hf_x")
    assert result.tag == "v2.0.0"
    commits = [r for r in hub.requests if "/commit/" in r.url.path]
    sent = {line["value"]["path"] for r in commits for line in commit_lines(r) if line["key"] in ("file", "lfsFile")}
    assert sent == {"README.md", "embeddings.json", "manifest.json", *report.files}
    (tmp_path / "e" / "embeddings.json").unlink()
    with pytest.raises(PublishError, match=r"missing \['embeddings.json'\]"):
        publish(tmp_path / "e", "org/emb", "v2.0.0", token="hf_x")


def test_a_split_that_is_a_path_writes_nothing_outside_the_folder(tmp_path):
    # The split comes from the results file (untrusted) and names the shard files.
    import numpy as np

    from vidret.evaluation.embeddings.export import write_export
    from vidret.evaluation.embeddings.sources import EmbeddingUnit

    out = tmp_path / "out" / "export"
    rows = [(EmbeddingUnit("text", "text:1", "text:1", text="a"), np.ones(4, dtype=np.float32), False)]
    metadata = {"split": "../../escaped", "dim": 4, "dtype": "float32", "version": "1"}
    with pytest.raises(ExportError, match="split '../../escaped' is not a safe file name"):
        write_export(out, rows, metadata)
    assert not list(tmp_path.rglob("escaped*"))


def test_export_of_an_official_protocol_run_holds_its_embeddings(repos, tmp_path):
    """The export re-derives the run's plan under the run's protocol: TF-CoVR official normalises
    the modification texts, so their ids differ from vidret's (the cache holds only those)."""
    from vidret.evaluation.planning.dataset import load_plan

    out = tmp_path / "r.json"
    first = run("tf-covr", repos["tf-covr"], "oracle", protocol="official", cache_dir=str(tmp_path / "c"), output=str(out))
    report = export_embeddings(out, tmp_path / "e")
    assert report.num_rows["text"] == len(load_plan("tf-covr", str(repos["tf-covr"]), protocol="official")[0].texts)
    again = evaluate(
        EvalSettings(benchmark="tf-covr", data=str(repos["tf-covr"]), embeddings=str(tmp_path / "e"), protocol="official", num_workers=0)
    )
    assert again["tasks"] == first["tasks"] and again["failures"] == []


def test_a_manifest_naming_a_file_outside_the_export_is_refused(repos, tmp_path):
    """The manifest is untrusted: a data file it lists is one file name under data/, never a path
    that leaves the folder (here: a shard moved next to the export, with its true SHA-256)."""
    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], "oracle", limit=2, cache_dir=str(tmp_path / "c"), output=str(out))
    export = tmp_path / "e"
    report = export_embeddings(out, export)
    manifest = json.loads((export / "manifest.json").read_text())
    [rel] = report.files
    (export / rel).rename(tmp_path / "outside.parquet")
    manifest["outputs"]["data/../../outside.parquet"] = manifest["outputs"].pop(rel)
    (export / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match=r"'data/\.\./\.\./outside\.parquet' is not a file name under data/"):
        read_export(export)


@pytest.mark.parametrize("field, value", [("dataset", "v1"), ("model", "tiny"), ("settings", [2]), ("failures", [1])])
def test_export_metadata_of_the_wrong_shape_is_refused_by_name(repos, tmp_path, field, value):
    """embeddings.json comes with the export (untrusted, its manifest too): a field the reader uses
    that is not the object / list it must be is an ExportError naming the file and field, not a traceback."""
    import hashlib

    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], "oracle", limit=2, cache_dir=str(tmp_path / "c"), output=str(out))
    export = tmp_path / "e"
    export_embeddings(out, export)
    meta = json.loads((export / "embeddings.json").read_text())
    meta[field] = value
    (export / "embeddings.json").write_text(json.dumps(meta))
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["outputs"]["embeddings.json"]["sha256"] = hashlib.sha256((export / "embeddings.json").read_bytes()).hexdigest()
    (export / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SystemExit, match=rf"embeddings\.json: '{field}' must be"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--embeddings", str(export),
              "--limit", "2", "--no-cache", "--num-workers", "0"])


def test_export_into_a_folder_that_is_not_an_export_deletes_nothing(repos, tmp_path):
    """--out pointed at a dataset build by mistake: its data/ must survive (it used to be rmtree'd)."""
    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], "oracle", limit=2, cache_dir=str(tmp_path / "c"), output=str(out))
    build = copy_repo(repos["tf-covr"], tmp_path / "build")
    before = sorted(p.relative_to(build) for p in build.rglob("*"))
    with pytest.raises(SystemExit, match=r"--out .*build holds files that are not an export"):
        main(["embeddings", "export", str(out), "--out", str(build)])
    assert sorted(p.relative_to(build) for p in build.rglob("*")) == before
    export_embeddings(out, tmp_path / "e")
    export_embeddings(out, tmp_path / "e")  # an earlier export is replaced
    (tmp_path / "empty").mkdir()
    export_embeddings(out, tmp_path / "empty")  # so is an empty folder filled


def _snapshot(folder):
    """Every file and folder below `folder`, with each file's bytes."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def _planted(kind, repos, tmp_path, earlier):
    """A folder that holds an embeddings.json (or a whole export's files) but is not an export."""
    if kind == "build with embeddings.json":
        folder = copy_repo(repos["tf-covr"], tmp_path / "build")
        (folder / "embeddings.json").write_bytes((earlier / "embeddings.json").read_bytes())
        return folder, r"manifest\.json is not an export manifest: 'kind' is None, not 'embeddings'"
    folder = tmp_path / "project"
    if kind == "project with embeddings.json":
        (folder / "data" / "raw").mkdir(parents=True)
        (folder / "embeddings.json").write_text('{"format": "vidret-embeddings"}')
        (folder / "data" / "raw" / "precious.csv").write_text("a,b\n1,2\n")
        return folder, r"data/raw/precious\.csv, and no manifest\.json"
    shutil.copytree(earlier, folder)
    if kind == "export plus a file":
        (folder / "data" / "raw").mkdir()
        (folder / "data" / "raw" / "precious.csv").write_text("a,b\n1,2\n")
        return folder, r"folder data/raw/ is not part of an export"
    if kind == "export with a changed shard":
        [shard] = (folder / "data").glob("*.parquet")
        shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
        return folder, r"data/test-00000-of-00001\.parquet differs from its size or SHA-256"
    # a manifest naming the project's file, with its true size and checksum
    (folder / "data" / "precious.csv").write_text("a,b\n1,2\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["outputs"]["data/precious.csv"] = {"sha256": sha256_file(folder / "data" / "precious.csv"), "size": 8}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder, r"manifest\.json lists 'data/precious\.csv', which no export writes"


@pytest.mark.parametrize(
    "kind",
    ["build with embeddings.json", "project with embeddings.json", "export plus a file", "export with a changed shard",
     "manifest listing another file"],
)
def test_export_replaces_only_an_earlier_export_and_leaves_anything_else_untouched(repos, tmp_path, kind):
    """A folder holding an embeddings.json is not therefore an export (it used to lose its data/):
    only a folder whose export manifest lists exactly its files, unchanged, is replaced."""
    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], "oracle", limit=2, cache_dir=str(tmp_path / "c"), output=str(out))
    earlier = tmp_path / "e"
    export_embeddings(out, earlier)
    folder, why = _planted(kind, repos, tmp_path, earlier)
    before = _snapshot(folder)
    with pytest.raises(SystemExit) as refused:
        main(["embeddings", "export", str(out), "--out", str(folder)])
    message = str(refused.value.code)
    assert "\n" not in message and message.startswith(f"vidret embeddings export: --out {folder} holds files that are not an export")
    assert re.search(why, message), message
    assert _snapshot(folder) == before  # every byte in place
    with pytest.raises(ExportError, match=why):  # the Python API refuses it too
        write_export(folder, [(EmbeddingUnit("text", "text:1", "text:1", text="a"), np.ones(4, dtype=np.float32), False)],
                     {"split": "test", "dim": 4, "dtype": "float32", "version": "1", "benchmark": "tf-covr"})
    assert _snapshot(folder) == before


def test_reexport_over_an_earlier_export_replaces_exactly_its_files(repos, tmp_path):
    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], "oracle", limit=2, cache_dir=str(tmp_path / "c"), output=str(out))
    export = tmp_path / "e"
    first = export_embeddings(out, export, rows_per_shard=3)
    assert len(first.files) > 1
    files = sorted(p.relative_to(export).as_posix() for p in export.rglob("*") if p.is_file())
    again = export_embeddings(out, export)  # one shard now: the earlier shards are gone
    assert again.files == ["data/test-00000-of-00001.parquet"]
    assert sorted(p.relative_to(export).as_posix() for p in export.rglob("*") if p.is_file()) == sorted(
        [*again.files, "README.md", "embeddings.json", "manifest.json"]
    ) != files
    assert main(["embeddings", "export", str(out), "--out", str(export), "--dtype", "float16"]) == 0
    assert read_export(export).embeddings.dtype == np.float16


@pytest.mark.parametrize("namespace", ["../outside", "..", "a/b"])
def test_a_cache_namespace_that_is_a_path_is_refused_before_any_folder_is_touched(repos, tmp_path, namespace):
    # The namespace comes from the results file (untrusted) and names a folder of the cache.
    out = tmp_path / "r.json"
    run("tf-covr", repos["tf-covr"], "oracle", limit=2, cache_dir=str(tmp_path / "c" / "cache"), output=str(out))
    record = json.loads(out.read_text())
    record["cache"]["namespace"] = namespace
    out.write_text(json.dumps(record))
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    with pytest.raises(ExportError, match="is not a folder name of a cache"):
        export_embeddings(out, tmp_path / "e")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before


def test_a_key_file_of_another_namespace_opens_no_cache_folder(repos, tmp_path):
    out = tmp_path / "r.json"
    record = run("tf-covr", repos["tf-covr"], "oracle", limit=2, cache_dir=str(tmp_path / "c"), output=str(out))
    key_file = tmp_path / "c" / record["cache"]["namespace"] / "key.json"
    key_file.write_text(json.dumps({**json.loads(key_file.read_text()), "decode_mode": "keyframe"}))
    namespaces = sorted(p.name for p in (tmp_path / "c").iterdir())
    with pytest.raises(ExportError, match="does not hash to namespace"):
        export_embeddings(out, tmp_path / "e")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == namespaces

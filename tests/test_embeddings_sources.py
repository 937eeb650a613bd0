"""`vidret evaluate --embeddings`: released formats, mixed sources, pickle safety, the row and id checks."""

from __future__ import annotations

import hashlib
import json
import pickle

import httpx2
import numpy as np
import pytest
import torch

from runner_helpers import build_sample_repos, build_tiny_model, metrics_of, run
from vidret.cli.main import main
from vidret.evaluation.planning.dataset import load_plan
from vidret.evaluation.running.distributed import ProcessInfo
from vidret.evaluation.embeddings.export import export_embeddings, read_export
from vidret.evaluation.running.runner import EvalSettings, EvaluationError, evaluate
from vidret.evaluation.embeddings.sources import Progress, visual_units
from vidret.evaluation.embeddings.stored import EmbeddingSourceError, StoredSources, parse_embedding_specs, to_vector
from vidret.evaluation.results.validation import validate_file

ONE = ProcessInfo(rank=0, world_size=1, device="cpu")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A TF-CoVR run of the tiny CLIP (cached), its export, and its video / text embeddings by id."""
    root = tmp_path_factory.mktemp("sources")
    repos = build_sample_repos(root)
    model = build_tiny_model("clip", root)
    cache = root / "cache"
    out = root / "run.json"
    record = run("tf-covr", repos["tf-covr"], model, frames=2, batch_size=4, cache_dir=str(cache), output=str(out))
    export_embeddings(out, root / "export")
    table = read_export(root / "export")
    rows = {(k, i): table.embeddings[n] for n, (k, i) in enumerate(zip(table.kinds, table.ids))}
    videos = {i: torch.from_numpy(np.array(e)) for (k, i), e in rows.items() if k == "video"}
    texts = {i: torch.from_numpy(np.array(e)) for (k, i), e in rows.items() if k == "text"}
    return {"root": root, "repo": repos["tf-covr"], "model": model, "cache": cache, "record": record,
            "videos": videos, "texts": texts, "plan": load_plan("tf-covr", str(repos["tf-covr"]))[0]}


def mixed(world, src, tmp_path, **kwargs):
    """Videos from `src`, texts from the tiny CLIP (its cache holds them already)."""
    settings = EvalSettings(
        benchmark="tf-covr", data=str(world["repo"]), model=str(world["model"]), frames=2, num_workers=0,
        cache_dir=str(world["cache"]), embeddings=f"videos={src}", output=str(tmp_path / "r.json"), **kwargs,
    )
    record = evaluate(settings)
    validate_file(tmp_path / "r.json")
    return record


def write_pth_folder(folder, videos):
    folder.mkdir()
    for stem, emb in videos.items():
        torch.save(emb.clone(), folder / f"{stem}.pth")
    torch.save(torch.ones(16), folder / "another_split_video.pth")  # not in this split: counted, not an error
    return folder


def write_released(kind, tmp_path, videos):
    """The released layouts, written from the model's own video embeddings."""
    if kind == "pth-folder":
        return write_pth_folder(tmp_path / "AIM", videos)
    if kind == "torch-dict":  # ids written as file paths: matched by their stem
        path = tmp_path / "embs.pth"
        torch.save({f"videos/{stem}.mp4": emb.clone() for stem, emb in videos.items()}, path)
        return path
    if kind == "safetensors":
        from safetensors.torch import save_file

        path = tmp_path / "embs.safetensors"
        save_file({stem: emb.clone().contiguous() for stem, emb in videos.items()}, str(path))
        return path
    path = tmp_path / "embs.npy"
    np.save(path, np.stack([e.numpy() for e in videos.values()]).astype(np.float64))
    (tmp_path / "embs.ids.txt").write_text("\n".join(videos) + "\n")
    return path


@pytest.mark.parametrize("kind", ["pth-folder", "torch-dict", "safetensors", "npy"])
def test_released_formats_score_like_the_model(world, tmp_path, monkeypatch, kind):
    src = write_released(kind, tmp_path, world["videos"])
    import av

    monkeypatch.setattr(av, "open", lambda *a, **k: pytest.fail("a video was opened"))
    record = mixed(world, src, tmp_path)
    assert metrics_of(record) == metrics_of(world["record"])
    assert record["tasks"]["cvr"]["num_truncated_texts"] == world["record"]["tasks"]["cvr"]["num_truncated_texts"]
    videos, texts = record["embeddings"]["videos"], record["embeddings"]["texts"]
    assert (videos["source"], videos["format"], videos["path"]) == ("files", kind, str(src))
    assert videos["num_used"] == len(world["videos"])
    assert texts == world["record"]["embeddings"]["texts"]  # the model (its cache answered every text)
    assert record["cache"]["misses"] == 0
    if kind == "pth-folder":
        assert videos["num_ids"] == len(world["videos"]) + 1 and videos["files_read"] == len(world["videos"])
        lines = "".join(f"{p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in sorted(src.iterdir()) if p.stem in world["videos"])
        assert videos["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    else:
        assert videos["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    # Released files do not say how they were made: only what the user declared is recorded.
    assert record["settings"]["frames"] == 2 and record["settings"]["resolution"] is None
    assert "pooling" not in record["settings"] and "adapter" not in record["settings"]


def write_pickle_stream(path, videos):
    items = list(videos.items())
    with open(path, "wb") as fh:  # several pickled dicts one after another, as TF-CoVR ships them
        pickle.dump(dict(items[: len(items) // 2]), fh)
        pickle.dump(dict(items[len(items) // 2 :]), fh)
    return path


def test_pickle_stream_only_with_allow_pickle_and_converted_once(world, tmp_path, monkeypatch):
    src = write_pickle_stream(tmp_path / "aim_embeddings_12f_all_files.pkl", world["videos"])
    with pytest.raises(ValueError, match=r"aim_embeddings_12f_all_files.pkl: a pickle stream; .* pass --allow-pickle"):
        mixed(world, src, tmp_path)
    first = mixed(world, src, tmp_path, allow_pickle=True)
    assert metrics_of(first) == metrics_of(world["record"])
    origin = first["embeddings"]["videos"]
    assert origin["format"] == "pickle-stream" and origin["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    converted = world["cache"] / "converted" / f"{origin['sha256']}.safetensors"
    assert origin["converted"] == str(converted) and converted.is_file()
    # The next run reads the conversion: nothing is unpickled again.
    import vidret.evaluation.embeddings.stored_readers as stored_readers

    monkeypatch.setattr(stored_readers, "convert_pickle_stream", lambda *a: pytest.fail("unpickled twice"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled twice"))
    again = mixed(world, src, tmp_path, allow_pickle=True)
    assert metrics_of(again) == metrics_of(world["record"])


class _Payload:
    """Unpickling this runs code: it writes the file `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_a_pickle_payload_never_runs_by_default(world, tmp_path, capsys):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"x": _Payload(marker)}))
    pth = tmp_path / "evil.pth"
    torch.save({"x": _Payload(marker)}, pth)
    folder = tmp_path / "evil_folder"
    folder.mkdir()
    torch.save(_Payload(marker), folder / f"{next(iter(world['videos']))}.pth")
    npy = tmp_path / "evil.npy"
    np.save(npy, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    (tmp_path / "evil.ids.txt").write_text("x\n")
    assert not marker.exists()
    base = ["evaluate", "--benchmark", "tf-covr", "--data", str(world["repo"]), "--no-cache", "--output", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit, match="evil.pkl: a pickle stream; reading it runs any code"):
        main([*base, "--embeddings", str(evil)])
    with pytest.raises(SystemExit, match="add --allow-pickle"):
        main(["embeddings", "convert", str(evil), "--out", str(tmp_path / "x.safetensors")])
    for src, message in ((pth, "weights_only=True"), (folder, "weights_only=True"), (npy, "not a plain numeric .npy")):
        sources = StoredSources({"videos": str(src)}, allow_pickle=False, convert_dir=None, pool=None)
        with pytest.raises(EmbeddingSourceError, match=message):
            sources.sources["videos"].embeddings(visual_units(world["plan"]), ONE, Progress(None))
    assert not marker.exists()
    # With the flag the user asked for it: the payload runs (this is what --allow-pickle means).
    with pytest.raises(SystemExit, match="not a tensor"):
        main(["embeddings", "convert", str(evil), "--allow-pickle", "--out", str(tmp_path / "x.safetensors")])
    assert marker.read_text() == "ran"


def test_convert_writes_safetensors_that_evaluate_reads(world, tmp_path, capsys):
    src = write_pickle_stream(tmp_path / "s.pkl", world["videos"])
    out = tmp_path / "s.safetensors"
    assert main(["embeddings", "convert", str(src), "--allow-pickle", "--out", str(out)]) == 0
    assert f"wrote {len(world['videos'])} embeddings" in capsys.readouterr().out
    assert metrics_of(mixed(world, out, tmp_path)) == metrics_of(world["record"])


def test_ids_missing_from_the_source_are_failed_and_listed(world, tmp_path):
    plan = world["plan"]
    query_video = plan.tasks[0].queries[0].visual
    folder = write_pth_folder(tmp_path / "AIM", {k: v for k, v in world["videos"].items() if k != query_video})
    record = mixed(world, folder, tmp_path)
    assert record["failures"] == [
        {"item_id": query_video, "kind": "video", "source": str(folder), "reason": f"not in the embeddings source {folder}"}
    ]
    assert record["num_failed"] == 1
    cvr = record["tasks"]["cvr"]
    needing = [qid for qid, ref in zip(plan.tasks[0].query_ids, plan.tasks[0].queries) if ref.visual == query_video]
    assert cvr["failed_queries"] == needing and cvr["num_failed"] == len(needing)
    with pytest.raises(EvaluationError, match=f"--strict: not in the embeddings source {folder}"):
        mixed(world, folder, tmp_path, strict=True)


def _stored_rows(src, units, pool=None):
    sources = StoredSources({"videos": str(src)}, allow_pickle=False, convert_dir=None, pool=pool)
    return sources.sources["videos"].embeddings(units, ONE, Progress(None))


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.tensor([1.0, float("nan"), 0.0]), "holds NaN or infinite values"),
        (torch.tensor([1.0, float("inf"), 0.0]), "holds NaN or infinite values"),
        (torch.zeros(3), "is all zeros"),
        (torch.tensor([1, 2, 3]), "dtype int64; embeddings must be float16, bfloat16, float32 or float64"),
        (torch.ones(4), "is 4-d but id '.*' is 3-d"),
        (torch.ones(12, 3), r"shape \(12, 3\), but one vector per id is expected; .* --embeddings-pool mean"),
        ("a string", "expected a tensor, got str"),
    ],
)
def test_bad_rows_are_refused_naming_the_file_and_id(world, tmp_path, bad, message):
    units = visual_units(world["plan"])[:3]
    rows = {units[0].name: torch.ones(3), units[1].name: torch.ones(3), units[2].name: bad}
    path = tmp_path / "embs.pth"
    torch.save(rows, path)
    with pytest.raises(EmbeddingSourceError, match=f"{path}: video id '{units[2].name}'.*{message}" if "is 4-d" not in message else message) as err:
        _stored_rows(path, units)
    assert str(path) in str(err.value) and units[2].name in str(err.value)


def test_per_frame_tensors_are_averaged_only_when_asked(world, tmp_path):
    units = visual_units(world["plan"])[:2]
    frames = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) + 1  # (T, Q, D), like BLIP-2 per-token
    torch.save({units[0].name: frames, units[1].name: torch.ones(1, 4, dtype=torch.bfloat16)}, tmp_path / "e.pth")
    rows = _stored_rows(tmp_path / "e.pth", units, pool="mean")
    np.testing.assert_allclose(rows[units[0].key], frames.mean(1).mean(0).numpy())
    np.testing.assert_array_equal(rows[units[1].key], np.ones(4, dtype=np.float32))  # (1, D) squeezed, bf16 read
    assert to_vector(np.ones((1, 1, 3), np.float16), "w").shape == (3,)


def test_ids_that_match_nothing_or_twice_are_refused(world, tmp_path):
    units = visual_units(world["plan"])
    torch.save({"somebody_else_01": torch.ones(3), "somebody_else_02": torch.ones(3)}, tmp_path / "other.pth")
    with pytest.raises(EmbeddingSourceError, match=r"other.pth: none of its 2 ids matches the \d+ video ids the run needs "
                       r"\(e.g. source \['somebody_else_01', 'somebody_else_02'\], dataset \['"):
        _stored_rows(tmp_path / "other.pth", units)
    name = units[0].name
    torch.save({name: torch.ones(3), f"{name}.mp4": torch.ones(3)}, tmp_path / "twice.pth")
    with pytest.raises(EmbeddingSourceError, match=f"ids '{name}' and '{name}.mp4' both name '{name}'"):
        _stored_rows(tmp_path / "twice.pth", units)
    torch.save({1: torch.ones(3)}, tmp_path / "ints.pth")
    with pytest.raises(EmbeddingSourceError, match=r"ints.pth: id 1 \(int\) is not a non-empty string"):
        _stored_rows(tmp_path / "ints.pth", units)


def test_sides_of_different_dimensions_are_refused(world, tmp_path):
    folder = write_pth_folder(tmp_path / "AIM", {k: torch.ones(8) for k in world["videos"]})
    with pytest.raises(ValueError, match=rf"texts embeddings from model .*tiny-clip are 16-d but videos embeddings from {folder} are 8-d"):
        mixed(world, folder, tmp_path)


def test_released_files_alone_texts_by_their_text_and_declared_frames(world, tmp_path):
    """No model at all: videos from a .pth folder, texts from a dict keyed by the texts themselves."""
    folder = write_pth_folder(tmp_path / "AIM", world["videos"])
    texts = {world["plan"].texts[key]: emb for key, emb in world["texts"].items()}
    torch.save(texts, tmp_path / "texts.pt")
    out = tmp_path / "r.json"
    base = ["evaluate", "--benchmark", "tf-covr", "--data", str(world["repo"]), "--no-cache", "--output", str(out)]
    # SRC alone means every side: a folder of video embeddings has no texts, and says so.
    with pytest.raises(SystemExit, match="holds no embedding of these texts: give texts from a model"):
        main([*base, "--embeddings", str(folder)])
    both = ["--embeddings", f"videos={folder}", "--embeddings", f"texts={tmp_path / 'texts.pt'}"]
    assert main([*base, *both]) == 0
    validate_file(out)
    assert json.loads(out.read_text())["settings"]["frames"] is None  # not known, and not made up
    assert main([*base, *both, "--frames", "12"]) == 0
    validate_file(out)
    record = json.loads(out.read_text())
    assert metrics_of(record) == metrics_of(world["record"])
    assert record["model"] == {"id": "embeddings:AIM", "revision": None, "adapter": "embeddings", "adapter_class": "StoredSource"}
    assert record["settings"]["frames"] == 12  # declared by the user for files that do not record it
    assert record["embeddings"]["texts"]["format"] == "torch-dict"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"embeddings": "videos=x", "model": None}, "no such file or folder"),
        ({"embeddings": "frames=SRC"}, "unknown side 'frames'"),
        ({"embeddings": ["videos=A", "videos=B"]}, "gives the videos side twice"),
        ({"embeddings": "videos="}, "no source given"),
        ({"embeddings": "{export}"}, "--model .*: --embeddings gives every side, so the model would embed nothing"),
        ({"embeddings": "videos={export}", "model": None}, r"--model is required.* \(to embed the texts; --embeddings gives only videos\)"),
        ({"embeddings": "{export}", "model": None, "pooling": "max"}, "--pooling: no model is loaded"),
        ({"embeddings": "{export}", "model": None, "embeddings_pool": "max"}, "--embeddings-pool must be one of mean"),
    ],
)
def test_settings_errors_name_the_argument(world, kwargs, message):
    export = str(world["root"] / "export")

    def fill(value):
        return [v.format(export=export) for v in value] if isinstance(value, list) else (value.format(export=export) if isinstance(value, str) else value)

    values = {"benchmark": "tf-covr", "data": str(world["repo"]), "model": str(world["model"]), **{k: fill(v) for k, v in kwargs.items()}}
    with pytest.raises(ValueError, match=message):
        EvalSettings(**values).check()


def test_parse_embedding_specs():
    assert parse_embedding_specs("x") == {"texts": "x", "videos": "x", "composed": "x"}
    assert parse_embedding_specs(["videos=a", "texts=b"]) == {"videos": "a", "texts": "b"}
    assert parse_embedding_specs(None) == {}


def test_an_export_on_the_hub(world, tmp_path, monkeypatch):
    import huggingface_hub.constants
    from hub_mock import AGENT_HARNESSES_PATH, mock_hub

    folder = world["root"] / "export"
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    commit = "c0ffee" + "0" * 34
    seen = []

    def handler(request):
        path = request.url.path
        if path == AGENT_HARNESSES_PATH:
            return httpx2.Response(404)
        seen.append((request.method, path))
        if path == "/api/datasets/org/emb/revision/v1.0.0" or path == f"/api/datasets/org/emb/revision/{commit}":
            return httpx2.Response(200, json={"id": "org/emb", "sha": commit, "siblings": [{"rfilename": f} for f in files]})
        if path == f"/api/datasets/org/emb/tree/{commit}":
            return httpx2.Response(200, json=[{"type": "file", "path": f, "size": len(b), "oid": "b" * 40} for f, b in files.items()])
        prefix = f"/datasets/org/emb/resolve/{commit}/"
        if path.startswith(prefix) and path[len(prefix):] in files:
            body = files[path[len(prefix):]]
            headers = {"X-Repo-Commit": commit, "ETag": f'"{hashlib.sha1(body).hexdigest()}"', "Content-Length": str(len(body))}
            return httpx2.Response(200, headers=headers, content=b"" if request.method == "HEAD" else body)
        return httpx2.Response(404)

    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with mock_hub(handler):
        record = evaluate(EvalSettings(benchmark="tf-covr", data=str(world["repo"]), embeddings="org/emb@v1.0.0", num_workers=0))
        with pytest.raises(EmbeddingSourceError, match="org/none@main': cannot read the Hub dataset"):
            evaluate(EvalSettings(benchmark="tf-covr", data=str(world["repo"]), embeddings="org/none@main", num_workers=0))
    assert metrics_of(record) == metrics_of(world["record"])
    origin = record["embeddings"]["videos"]
    assert (origin["source"], origin["repo"], origin["revision"], origin["commit"]) == ("hub", "org/emb", "v1.0.0", commit)
    assert origin["manifest_sha256"] == hashlib.sha256(files["manifest.json"]).hexdigest()
    assert ("GET", "/api/datasets/org/emb/revision/v1.0.0") in seen


@pytest.mark.slow
def test_two_processes_mixed_sources_match_one(world, tmp_path):
    """torchrun, 2 gloo processes: videos from files (read on the main process only), texts sharded."""
    import os
    import subprocess
    import sys

    from test_distributed import _free_port

    plan = world["plan"]
    missing = plan.tasks[0].queries[0].visual
    folder = write_pth_folder(tmp_path / "AIM", {k: v for k, v in world["videos"].items() if k != missing})
    one = mixed(world, folder, tmp_path)
    out = tmp_path / "two.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
         "-m", "vidret", "evaluate", "--benchmark", "tf-covr", "--data", str(world["repo"]), "--model", str(world["model"]),
         "--frames", "2", "--batch-size", "3", "--num-workers", "0", "--cache-dir", str(tmp_path / "cache"),
         "--embeddings", f"videos={folder}", "--output", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = json.loads(out.read_text())
    assert two["num_processes"] == 2
    assert two["tasks"] == one["tasks"] and two["failures"] == one["failures"]
    assert two["cache"]["misses"] == len(plan.texts)  # a fresh cache: every text embedded once, by either process


def test_export_of_a_mixed_run_holds_what_the_model_made(world, tmp_path):
    folder = write_pth_folder(tmp_path / "AIM", world["videos"])
    first = mixed(world, folder, tmp_path)
    report = export_embeddings(tmp_path / "r.json", tmp_path / "texts-export")
    assert report.num_rows == {"text": len(world["texts"])}  # the videos were never the model's
    meta = json.loads((tmp_path / "texts-export" / "embeddings.json").read_text())
    assert meta["not_included"]["videos"]["format"] == "pth-folder" and meta["not_included"]["videos"]["path"] == "<local>/AIM"
    assert "videos (not included)" in (tmp_path / "texts-export" / "README.md").read_text()
    again = evaluate(EvalSettings(benchmark="tf-covr", data=str(world["repo"]), num_workers=0,
                                  embeddings=[f"texts={tmp_path / 'texts-export'}", f"videos={folder}"]))
    assert again["tasks"] == first["tasks"]


def test_corrupt_sources_end_evaluate_in_one_line(world, tmp_path):
    """Each used to end `vidret evaluate` in a traceback (IndexError, RecursionError, UnpicklingError)."""
    import shutil

    tiny = tmp_path / "tiny.pth"
    tiny.write_bytes(b"\x80\x02Q.")
    folder = write_pth_folder(tmp_path / "AIM", world["videos"])
    victim = folder / f"{next(iter(world['videos']))}.pth"
    victim.unlink()
    victim.symlink_to("/etc/passwd")
    deep = tmp_path / "deep-export"
    shutil.copytree(world["root"] / "export", deep)
    (deep / "embeddings.json").write_text("[" * 100_000 + "]" * 100_000)
    pickled = tmp_path / "pickled-model"
    shutil.copytree(world["model"], pickled)
    for weights in pickled.glob("*.safetensors"):
        weights.unlink()
    torch.save({"x": _Payload(tmp_path / "PWNED")}, pickled / "pytorch_model.bin")
    base = ["evaluate", "--benchmark", "tf-covr", "--data", str(world["repo"]), "--frames", "2", "--num-workers", "0",
            "--cache-dir", str(world["cache"]), "--output", str(tmp_path / "r.json")]
    cases = [
        (["--model", str(world["model"]), "--embeddings", f"videos={tiny}"], f"{tiny}: not a readable torch file"),
        (["--model", str(world["model"]), "--embeddings", f"videos={folder}"], f"{victim}: a link to /etc/passwd, outside {folder}: refused"),
        (["--model", str(world["model"]), "--embeddings", f"videos={deep}"], f"{deep / 'embeddings.json'}: nested too deeply"),
        (["--model", str(pickled), "--no-cache"], f"{pickled}: its PyTorch weights (pytorch_model.bin) hold objects other than tensors"),
    ]
    for args, message in cases:
        with pytest.raises(SystemExit) as err:
            main([*base, *args])
        text = str(err.value.code)
        assert text.startswith("vidret evaluate: ") and message in text and "\n" not in text, text
    assert not (tmp_path / "PWNED").exists()

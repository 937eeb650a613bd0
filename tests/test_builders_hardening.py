"""Builder hardening (issue 15: 1, 2, 10, 11, 13; issue 14: 9b): hostile ids, archive links and bombs,
interrupted rebuilds, non-text caption cells, and a build pointed at the wrong folder."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from builders_helpers import edit_parquet, read_parquet, split_bytes, tree_bytes

from vidret.builders import BuildError, UnsafeArchiveError, build
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release


@pytest.fixture(scope="module")
def lovr(tmp_path_factory) -> Path:
    return make_lovr_release(tmp_path_factory.mktemp("lovr_h") / "raw", videos_per_split={"train": 1, "test": 2}, clips_per_video=(2, 2))


@pytest.fixture(scope="module")
def tfcovr(tmp_path_factory) -> Path:
    return make_tfcovr_release(tmp_path_factory.mktemp("tfcovr_h") / "raw", videos_per_label=1)


def _set_first(path: Path, column: str, value) -> None:
    def edit(rows):
        rows[0][column] = value
        return rows

    edit_parquet(path, edit)


# ---- 15.1: an id that becomes a path is one safe path component ---------------------------------
@pytest.mark.parametrize(
    "file, column, value, message",
    [
        ("video_test.parquet", "vid", "../../../x/evil", r"video_test.parquet, row 1: 'vid' '../../../x/evil' is not a safe file name"),
        ("clip_test.parquet", "vid", "..", r"clip_test.parquet, row 1: 'vid' '..' is not a safe file name"),
        ("clip_test.parquet", "path", "long_video_clip/v/..", r"clip_test.parquet, row 1: 'path' clip name '..' is not a safe file name"),
        ("clip_test.parquet", "path", "long_video_clip/v/a\x00b.mp4", r"clip_test.parquet, row 1: 'path' clip name 'a\\x00b' is not a safe file name"),
    ],
)
def test_lovr_ids_that_are_not_one_path_component_are_refused(lovr, tmp_path, file, column, value, message):
    copy = tmp_path / "a" / "b" / "raw"
    shutil.copytree(lovr, copy)
    _set_first(copy / "caption_data" / file, column, value)
    with pytest.raises(BuildError, match=message):
        build("lovr", copy, tmp_path / "a" / "b" / "out", videos="copy", allow_missing=True, progress=False)
    assert not (tmp_path / "x").exists() and not (tmp_path / "a" / "b" / "out").exists()
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["raw"]  # nothing written next to OUT either


def test_tfcovr_stem_that_is_a_path_is_refused(tfcovr, tmp_path):
    import csv

    copy = tmp_path / "raw"
    shutil.copytree(tfcovr, copy)
    with open(copy / "val_finegd.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["target_video"] = "../../evil"
    with open(copy / "val_finegd.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(BuildError, match=r"val_finegd.csv, row 1: 'target_video' value '../../evil' is not a safe file name"):
        build("tf-covr", copy, tmp_path / "out", videos="copy", allow_missing=True, progress=False)
    assert not (tmp_path / "evil.mp4").exists() and not (tmp_path / "out").exists()


# ---- 15.2: archive links are copied, never moved into OUT ------------------------------------------
def _archive_of(release: Path, replace: dict[str, str]) -> bytes:
    """The release's video_data/ as a tar.gz, with the members in `replace` turned into symlinks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted((release / "video_data").rglob("*.mp4")):
            name = path.relative_to(release / "video_data").as_posix()
            if name in replace:
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, replace[name]
                tar.addfile(info)
            else:
                tar.add(path, arcname=name)
    return buffer.getvalue()


def test_an_archive_symlink_never_lands_in_out_as_a_link(lovr, tmp_path):
    vid = read_parquet(lovr / "caption_data/video_test.parquet")[0]["vid"]
    raw = tmp_path / "raw"
    shutil.copytree(lovr / "caption_data", raw / "caption_data")
    # merged/<vid>.mp4 is a link to its first clip: inside the extraction folder, so extraction accepts it.
    data = _archive_of(lovr, {f"merged/{vid}.mp4": f"../long_video_clip/{vid}/{vid}-Scene-001.mp4"})
    split_bytes(data, raw / "video_data", 2)
    build("lovr", raw, tmp_path / "out", videos="copy", progress=False)
    placed = tmp_path / "out" / f"videos/{vid}.mp4"
    assert placed.is_file() and not placed.is_symlink()
    assert placed.read_bytes() == (lovr / f"video_data/long_video_clip/{vid}/{vid}-Scene-001.mp4").read_bytes()
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_symlink()]


def test_moving_a_link_into_out_is_refused(tmp_path):
    from vidret.builders.repo import place_video

    (tmp_path / "target.mp4").write_bytes(b"x")
    (tmp_path / "link.mp4").symlink_to(tmp_path / "target.mp4")
    with pytest.raises(UnsafeArchiveError, match="an extracted video is a link"):
        place_video(tmp_path / "link.mp4", tmp_path / "out/videos/a.mp4", "copy", move=True)
    assert not (tmp_path / "out/videos/a.mp4").exists()


# ---- 15.10: tar bombs --------------------------------------------------------------------------------
def test_only_referenced_archive_members_are_extracted_and_bombs_are_refused(lovr, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(lovr / "caption_data", raw / "caption_data")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted((lovr / "video_data").rglob("*.mp4")):
            tar.add(path, arcname=path.relative_to(lovr / "video_data").as_posix())
        for i in range(2000):  # a file-count bomb: members no annotation references
            info = tarfile.TarInfo(f"junk/{i:05d}")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    split_bytes(buffer.getvalue(), raw / "video_data", 2)
    seen: list[int] = []
    work = tmp_path / "work"

    def probe(path: Path) -> float:  # runs while the extraction folder exists
        from vidret.video import probe as real

        seen.append(sum(1 for p in work.rglob("*") if p.is_file()))
        return real(path).duration

    build("lovr", raw, tmp_path / "out", videos="copy", progress=False, work_dir=work, probe_duration=probe, num_workers=1)
    assert max(seen) == len(list((lovr / "video_data").rglob("*.mp4")))  # the 2,000 junk members were never written

    bomb = tmp_path / "bomb"
    shutil.copytree(lovr / "caption_data", bomb / "caption_data")
    vid = read_parquet(lovr / "caption_data/video_test.parquet")[0]["vid"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"merged/{vid}.mp4")  # a referenced name holding 48 MB of zeros (~50 KB compressed)
        info.size = 48 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    split_bytes(buffer.getvalue(), bomb / "video_data", 1)
    with pytest.raises(UnsafeArchiveError, match=r"expands more than 100:1 .*compression bomb"):
        build("lovr", bomb, tmp_path / "out2", videos="copy", progress=False, allow_missing=True)
    assert not (tmp_path / "out2").exists()


# ---- 15.11: an interrupted rebuild leaves the previous build intact ----------------------------------
def test_interrupted_rebuild_leaves_the_previous_build(lovr, tmp_path, monkeypatch):
    from vidret.builders import repo

    out = tmp_path / "out"
    build("lovr", lovr, out, videos="copy", progress=False)
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = tree_bytes(out)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:  # halfway through writing the new Parquet shards
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    real = repo.write_shards
    monkeypatch.setattr(repo, "write_shards", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build("lovr", lovr, out, videos="copy", version="2.0.0", progress=False)
    assert tree_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the staging folder is gone
    monkeypatch.setattr(repo, "write_shards", real)
    build("lovr", lovr, out, videos="none", version="2.0.0", progress=False)  # a finished rebuild replaces it
    assert json.loads((out / "manifest.json").read_text())["version"] == "2.0.0"
    assert not (out / "videos").exists() and (out / ".git" / "HEAD").is_file()


# ---- 19.10: a SIGKILLed build's staging folder is cleaned by the next build --------------------------
def _killed_build_stage(out: Path) -> Path:
    """The staging folder a build of `out` leaves when SIGKILLed: made by a process that is then killed."""
    import subprocess
    import sys

    code = (
        "import os, signal, sys; from pathlib import Path; from vidret.builders import repo; "
        "stage = repo.make_stage(Path(sys.argv[1])); (stage / 'out' / 'data').mkdir(parents=True); "
        "print(stage, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    return Path(done.stdout.strip())


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_builds_staging_folder_is_removed_by_the_next_build_and_a_live_one_kept(lovr, tmp_path, caplog):
    import os
    import socket
    import subprocess
    import sys

    from vidret.builders import repo

    out = tmp_path / "out"
    stale = _killed_build_stage(out)
    other_out = _killed_build_stage(tmp_path / "other")  # another OUT's: not this build's to remove
    assert stale.parent == tmp_path and stale.name.startswith(".vidret-build-") and (stale / "owner.json").is_file()
    live_process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        live = tmp_path / ".vidret-build-live"  # a concurrent build of the same OUT, still running
        (live / "out").mkdir(parents=True)
        owner = {"pid": live_process.pid, "host": socket.gethostname(), "out": os.path.realpath(out)}
        (live / "owner.json").write_text(json.dumps(owner))
        unmarked = tmp_path / ".vidret-build-old"  # no marker: whose it is cannot be told
        (unmarked / "out").mkdir(parents=True)
        with caplog.at_level("INFO", logger="vidret.builders.repo"):
            build("lovr", lovr, out, progress=False)
        assert not stale.exists()
        assert live.is_dir() and other_out.is_dir() and unmarked.is_dir()
        assert f"removed {stale}, left by build process" in caplog.text
        assert f"{unmarked}: a build folder without an owner marker" in caplog.text
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", live.name, other_out.name, unmarked.name])
    finally:
        live_process.kill()
        live_process.wait()
    assert repo.clean_stale_stages(out) == [live]  # its process has ended now


# ---- 15.13: caption cells that are not text ----------------------------------------------------------
@pytest.mark.parametrize(
    "file, column, value, kind",
    [
        ("clip_test.parquet", "cap", b"caf\xe9", "bytes"),
        ("clip_test.parquet", "cap", ["a", "list"], "list"),
        ("video_test.parquet", "cap", 42, "int"),
        ("clip_test.parquet", "theme_info", b"music", "bytes"),
    ],
)
def test_non_text_caption_cells_are_refused(lovr, tmp_path, file, column, value, kind):
    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = tmp_path / "raw"
    shutil.copytree(lovr / "caption_data", copy / "caption_data")
    rows = read_parquet(copy / "caption_data" / file)
    table = pa.Table.from_pylist(rows)
    # The whole column has the odd type (as a release would); only the first row's value is checked here.
    convert = {"bytes": (pa.binary(), str.encode), "list": (pa.list_(pa.string()), lambda x: [x]), "int": (pa.int64(), len)}
    arrow_type, like = convert[kind]
    cells = [value] + [like(r[column]) for r in rows[1:]]
    table = table.set_column(table.column_names.index(column), column, pa.array(cells, type=arrow_type))
    pq.write_table(table, copy / "caption_data" / file)
    with pytest.raises(BuildError, match=rf"{file}, row 1: '{column}' must be text, got {kind}"):
        build("lovr", copy, tmp_path / "out", progress=False)


# ---- 14.9b: pointed at the wrong folder -------------------------------------------------------------
def test_lovr_pointed_at_a_tfcovr_release_says_what_it_found_and_expected(tfcovr, tmp_path, capsys):
    from vidret.cli.main import main

    assert main(["build", "lovr", "--raw", str(tfcovr), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "not a LoVR release: expected caption_data/clip_train.parquet" in err
    assert "caption_data/all_clip.jsonl and all_video.jsonl (the official evaluation layout)" in err
    assert "Found: FineGD_videos/, test_finegd.csv, train_finegd.csv, val_finegd.csv." in err
    assert "This looks like a TF-CoVR release: use `vidret build tf-covr`." in err


def test_tfcovr_pointed_at_a_lovr_release_says_what_it_found_and_expected(lovr, tmp_path, capsys):
    from vidret.cli.main import main

    assert main(["build", "tf-covr", "--raw", str(lovr), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "not a TF-CoVR release: expected train_finegd.csv, val_finegd.csv and test_finegd.csv" in err
    assert "Found: caption_data/, video_data/." in err and "use `vidret build lovr`" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["build", "lovr", "--raw", str(empty), "--out", str(tmp_path / "out")]) == 1
    assert "Found: nothing (an empty folder)." in capsys.readouterr().err

"""`vidret --help` and `vidret sample` (on a generated video, as a demo, and on bad input)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vidret.cli.main import main
from vidret.cli.sample import contact_sheet, frame_labels
from vidret.testing.synthetic import decode_frame_index
from video_helpers import small_video, video_dir  # noqa: F401  (fixtures)


def test_vidret_help_lists_sample():
    result = subprocess.run([sys.executable, "-m", "vidret", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "sample" in result.stdout and "env" in result.stdout


def test_sample_help():
    with pytest.raises(SystemExit) as info:
        main(["sample", "--help"])
    assert info.value.code == 0


def test_sample_on_a_video_writes_a_contact_sheet(small_video, tmp_path, capsys):
    out = tmp_path / "sheets" / "sheet.png"
    code = main(["sample", str(small_video), "--frames", "6", "--start", "2", "--end", "8",
                 "--size", "64x64", "--columns", "3", "--out", str(out)])
    assert code == 0
    sheet = np.asarray(Image.open(out).convert("RGB"))
    gap = 4
    cell = (sheet.shape[1] - gap) // 3 - gap  # a cell is widened to fit its label, the tile centred in it
    band = (sheet.shape[0] - gap) // 2 - gap - 64  # the label under each tile
    assert cell >= 64 and band > 0 and sheet.shape == (2 * (64 + band + gap) + gap, 3 * (cell + gap) + gap, 3)
    left = (cell - 64) // 2
    tiles = [sheet[gap + r * (64 + band + gap) :][:64, gap + c * (cell + gap) + left :][:, :64] for r in range(2) for c in range(3)]
    assert [decode_frame_index(t) for t in tiles] == [75, 105, 135, 165, 195, 225]
    text = capsys.readouterr().out
    assert "64x48 h264" in text and "2.500" in text and "wrote" in text


def test_sample_without_video_runs_the_demo(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["sample", "--frames", "4", "--size", "64x64", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "demo: generated" in text
    lines = [line for line in text.splitlines() if "expected" in line]
    assert len(lines) == 4
    for line in lines:  # "t= ... s  frame N  (expected N)"
        got, expected = line.split("frame")[1].split("(expected")
        assert int(got) == int(expected.strip(" )"))
    times = [float(line.split("t=")[1].split("s")[0]) for line in lines]
    labels = frame_labels(times, 30.0, "exact", [int(line.split("frame")[1].split("(")[0]) for line in lines])
    assert Image.open(out).size == contact_sheet(np.zeros((4, 64, 64, 3), np.uint8), 4, labels=labels).size


def test_sample_keyframe_mode(small_video, tmp_path):
    out = tmp_path / "k.png"
    assert main(["sample", str(small_video), "--frames", "2", "--mode", "keyframe", "--out", str(out)]) == 0
    assert out.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "/nonexistent/video.mp4"], "no such file"),
        (["sample", "{video}", "--start", "5", "--end", "2"], "must be < end"),
    ],
)
def test_sample_bad_input_exits_with_a_message(small_video, tmp_path, argv, message):
    argv = [a.format(video=small_video) for a in argv] + ["--out", str(tmp_path / "x.png")]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert "vidret sample: error" in str(info.value.code) and message in str(info.value.code)


@pytest.mark.parametrize(
    "flag, value, message",
    [("--frames", "0", "expected an integer from 1 to 10,000"), ("--columns", "0", "expected an integer from 1 to 10,000")],
)
def test_sample_bad_numbers_are_refused_by_the_parser(small_video, tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as info:
        main(["sample", str(small_video), flag, value, "--out", str(tmp_path / "x.png")])
    assert info.value.code == 2 and f"vidret sample: error: argument {flag}: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["224", "0x10", "axb"])
def test_sample_rejects_bad_size(size, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sample", "--size", size])
    assert info.value.code == 2 and "--size" in capsys.readouterr().err


def test_contact_sheet_rejects_zero_columns():
    with pytest.raises(ValueError, match="columns"):
        contact_sheet(np.zeros((2, 8, 8, 3), np.uint8), columns=0)


def test_sample_of_a_stalled_url_stops_after_vidret_http_timeout(small_video, tmp_path, monkeypatch):
    import time

    from vidret.testing.rangeserver import serve_directory

    with serve_directory(small_video.parent) as server:
        server.stall_s = 30.0
        monkeypatch.setenv("VIDRET_HTTP_TIMEOUT", "0.5")
        started = time.monotonic()
        with pytest.raises(SystemExit) as info:
            main(["sample", server.url(small_video.name), "--out", str(tmp_path / "x.png")])
        assert time.monotonic() - started < 5
    assert "vidret sample: error: " in str(info.value.code)
    assert "timed out opening the video: no answer from the server within 0.5 s" in str(info.value.code)
    monkeypatch.setenv("VIDRET_HTTP_TIMEOUT", "-3")
    with pytest.raises(SystemExit, match="VIDRET_HTTP_TIMEOUT='-3' must be a positive number of seconds"):
        main(["sample", str(small_video), "--out", str(tmp_path / "x.png")])

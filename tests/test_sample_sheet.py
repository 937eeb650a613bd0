"""`vidret sample` contact sheets say which frame each tile is (number, time, frame index), and the
argument-less demo prints no path of the temporary video it deletes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidret.cli.main import main
from vidret.cli.sample import contact_sheet, frame_labels
from vidret.video import sample_frames, uniform_timestamps
from video_helpers import small_video, video_dir  # noqa: F401  (fixtures)

BACKGROUND = 32


def test_every_tile_is_labelled_with_its_number_time_and_frame(small_video, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert main(["sample", str(small_video), "--frames", "4", "--start", "2", "--end", "6", "--out", str(out)]) == 0
    times = uniform_timestamps(2.0, 6.0, 4)
    labels = frame_labels(times, 30.0, "exact")
    assert labels == ["#1  t=2.500 s\nframe ~75", "#2  t=3.500 s\nframe ~105", "#3  t=4.500 s\nframe ~135", "#4  t=5.500 s\nframe ~165"]
    # The CLI's sheet is exactly the frames with those labels drawn under them.
    expected = contact_sheet(sample_frames(small_video, 4, 2.0, 6.0), 4, labels=labels)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), np.asarray(expected))
    assert "frame index" in capsys.readouterr().out


def test_labels_are_drawn_in_a_band_under_each_tile():
    frames = np.full((3, 40, 50, 3), 200, np.uint8)
    plain = np.asarray(contact_sheet(frames, 3))
    assert plain.shape == (40 + 8, 3 * 54 + 4, 3)  # no labels: the sheet as before
    labelled = np.asarray(contact_sheet(frames, 3, labels=["#1\nframe 0", "#2\nframe 10", "#3\nframe 20"]))
    height = labelled.shape[0]
    assert height > plain.shape[0]
    cell = (labelled.shape[1] - 4) // 3 - 4
    bands = [labelled[4 + 40 : height - 4, 4 + c * (cell + 4) :][:, :cell] for c in range(3)]
    assert all((band > 150).any() for band in bands)  # text, light on the dark background
    assert not np.array_equal(bands[0], bands[1]) and not np.array_equal(bands[1], bands[2])
    with pytest.raises(ValueError, match="2 labels for 3 frames"):
        contact_sheet(frames, labels=["a", "b"])


def test_keyframe_labels_claim_no_index():
    assert frame_labels([1.0], 25.0, "keyframe") == ["#1  t=1.000 s\nkeyframe at or before"]
    assert frame_labels([1.0], 25.0, "exact", decoded=[24]) == ["#1  t=1.000 s\nframe 24"]


def test_demo_prints_no_path_it_deletes(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["sample", "--frames", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "deleted when the command ends" in printed and "demo video: 320x180" in printed
    paths = re.findall(r"(/[^\s,():]+)", printed)
    assert paths and all(Path(p).exists() for p in paths), paths  # only the sheet's path, which stays

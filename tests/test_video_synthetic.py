"""Synthetic index-coded videos: the code survives H.264 and resizing, and bad frames raise."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from vidret.testing.synthetic import (
    MAX_INDEX,
    PATCH_COLORS,
    decode_frame_index,
    encode_bits,
    make_audio_only,
    make_corrupt_video,
    make_not_a_video,
    make_test_video,
    read_reference_patches,
    truncate_video,
)
from video_helpers import small_video, video_dir  # noqa: F401  (fixtures)


def _decode_all(path, size=None):
    kwargs = {} if size is None else {"width": size[0], "height": size[1]}
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24", **kwargs) for f in container.decode(video=0)]


@pytest.mark.parametrize("size", [None, (64, 64), (224, 224), (97, 65)])
def test_every_frame_decodes_to_its_index(small_video, size):
    frames = _decode_all(small_video, size)
    assert len(frames) == 600
    assert [decode_frame_index(f) for f in frames] == list(range(600))


def test_first_index_offset_and_large_codes_at_other_sizes(tmp_path):
    first = MAX_INDEX - 59
    path = make_test_video(tmp_path / "hi.mp4", 2.0, size=(320, 180), gop=25, first_index=first)
    frames = _decode_all(path, (64, 64))
    assert [decode_frame_index(f) for f in frames] == list(range(first, first + 60))


def test_time_layout_and_keyframes(small_video):
    with av.open(str(small_video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        frames = list(container.decode(stream))
    assert [round(float(f.time) * 30) for f in frames] == list(range(600))
    keys = [i for i, f in enumerate(frames) if f.key_frame]
    assert keys == list(range(0, 600, 30))
    # faststart: the index (moov) precedes the media data
    data = small_video.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_reference_patches_are_rgb(small_video):
    frame = _decode_all(small_video, (64, 64))[0]
    patches = read_reference_patches(frame)
    for name, expected in PATCH_COLORS.items():
        assert np.abs(np.subtract(patches[name], expected)).max() < 40, (name, patches[name])
    swapped = read_reference_patches(frame[..., ::-1].copy())
    assert swapped["red"][2] > 200 and swapped["red"][0] < 40  # BGR shows red as blue
    with pytest.raises(ValueError, match="RGB order"):
        decode_frame_index(frame[..., ::-1].copy())


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((64, 64, 3), np.uint8),
        np.full((64, 64, 3), 255, np.uint8),
        np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8),
    ],
    ids=["black", "white", "noise"],
)
def test_frames_without_a_code_raise(frame):
    with pytest.raises(ValueError, match="not a vidret test frame"):
        decode_frame_index(frame)


def test_damaged_code_cells_raise(small_video):
    frame = _decode_all(small_video)[123]
    h, w = frame.shape[:2]
    # code cell 31 (last CRC bit) is row 4, column 7
    y0, y1, x0, x1 = 4 * h // 6, 5 * h // 6, 7 * w // 8, w
    gray = frame.copy()
    gray[y0:y1, x0:x1] = 128
    with pytest.raises(ValueError, match="neither black nor white"):
        decode_frame_index(gray)
    flipped = frame.copy()
    flipped[y0:y1, x0:x1] = 255 - flipped[y0:y1, x0:x1]
    with pytest.raises(ValueError, match="check failed"):
        decode_frame_index(flipped)


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8), "frame"])
def test_decode_rejects_wrong_shapes(bad):
    with pytest.raises(ValueError, match="expected an"):
        decode_frame_index(bad)
    with pytest.raises(ValueError, match="expected an"):
        read_reference_patches(bad)


def test_decode_rejects_tiny_frames():
    with pytest.raises(ValueError, match="too small"):
        decode_frame_index(np.zeros((12, 16, 3), np.uint8))


def test_encode_bits_range_and_check_bits():
    assert len(encode_bits(0)) == 32
    assert encode_bits(0)[24:] != [0] * 8  # an all-black code is invalid
    assert encode_bits(MAX_INDEX)[24:] != [1] * 8  # so is an all-white one
    for bad in (-1, MAX_INDEX + 1):
        with pytest.raises(ValueError, match="outside"):
            encode_bits(bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(duration_s=0), "must be > 0"),
        (dict(duration_s=1, fps=0), "must be > 0"),
        (dict(duration_s=1, size=(65, 48)), "even"),
        (dict(duration_s=1, size=(16, 12)), "at least"),
        (dict(duration_s=1, gop=0), "gop"),
        (dict(duration_s=1, first_index=MAX_INDEX), "do not fit"),
        (dict(duration_s=1, first_index=-5), "do not fit"),
    ],
)
def test_make_test_video_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_test_video(tmp_path / "x.mp4", **kwargs)


def test_fractional_rate(tmp_path):
    path = make_test_video(tmp_path / "ntsc.mp4", 1.0, fps=30000 / 1001, size=(64, 48))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == Fraction(30000, 1001)
        assert stream.frames == 30


def test_broken_variants(tmp_path, small_video):
    cut = truncate_video(small_video, tmp_path / "cut.mp4", 0.5)
    assert cut.stat().st_size == small_video.stat().st_size // 2
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match="keep_fraction"):
            truncate_video(small_video, tmp_path / "bad.mp4", bad)
    for make in (make_corrupt_video, make_not_a_video):
        with pytest.raises(av.error.FFmpegError):
            av.open(str(make(tmp_path / f"{make.__name__}.mp4"))).close()
    with av.open(str(make_audio_only(tmp_path / "audio.mp4"))) as container:
        assert not container.streams.video and len(container.streams.audio) == 1

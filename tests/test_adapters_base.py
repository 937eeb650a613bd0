"""The EmbeddingAdapter contract: a subclass implementing only encode_text/encode_video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_adapters_fixtures import assert_unit_rows, make_clip
from vidret.adapters import EmbeddingAdapter, aggregate_segments, check_clip, fuse


class MeanColour(EmbeddingAdapter):
    """Video = mean RGB (+1 bias dim); text = one-hot of its length, padded to 4 dims."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.video_calls = 0
        self.text_calls = 0

    def encode_video(self, clips):
        self.video_calls += 1
        rows = [np.append(c.reshape(-1, 3).mean(0), 1.0) for c in clips]
        return self.finalize(torch.tensor(np.stack(rows), dtype=torch.float64))

    def encode_text(self, texts):
        self.text_calls += 1
        out = torch.zeros(len(texts), 4)
        for i, t in enumerate(texts):
            out[i, len(t) % 4] = 1.0
        return self.finalize(out)


def test_abstract_methods_are_required():
    with pytest.raises(TypeError):
        EmbeddingAdapter()  # type: ignore[abstract]


def test_composed_uses_pure_fusion():
    a = MeanColour()
    clips, texts = [make_clip(2, 0), make_clip(3, 1)], ["ab", "abc"]
    out = a.encode_composed(clips, texts)
    assert_unit_rows(out, 2)
    torch.testing.assert_close(out, fuse(a.encode_video(clips), a.encode_text(texts), "avg"))
    torch.testing.assert_close(
        a.encode_composed(clips, texts, "weighted:0.2"),
        fuse(a.encode_video(clips), a.encode_text(texts), "weighted:0.2"),
    )


def test_single_modality_fusion_skips_the_other_tower():
    a = MeanColour()
    a.encode_composed([make_clip(2)], ["x"], fusion="text")
    assert (a.video_calls, a.text_calls) == (0, 1)
    a.encode_composed([make_clip(2)], ["x"], fusion="video")
    assert (a.video_calls, a.text_calls) == (1, 1)


def test_default_fusion_is_used_and_validated():
    a = MeanColour(default_fusion="video")
    torch.testing.assert_close(a.encode_composed([make_clip(2)], ["x"]), a.encode_video([make_clip(2)]))
    with pytest.raises(ValueError, match="unknown fusion"):
        MeanColour(default_fusion="mix")
    with pytest.raises(ValueError, match="unknown fusion"):
        a.encode_composed([make_clip(2)], ["x"], fusion="mix")


def test_composed_length_mismatch():
    with pytest.raises(ValueError, match="got 2 clips but 1 texts"):
        MeanColour().encode_composed([make_clip(1), make_clip(1)], ["x"])


def test_long_video_aggregates_segments():
    a = MeanColour(default_aggregation="max")
    segs = [make_clip(2, s) for s in range(3)]
    got = a.encode_long_video(segs)
    assert got.shape == (4,)
    torch.testing.assert_close(got, aggregate_segments(a.encode_video(segs), "max"))
    torch.testing.assert_close(a.encode_long_video(segs, "mean"), aggregate_segments(a.encode_video(segs), "mean"))
    with pytest.raises(ValueError, match="at least one segment"):
        a.encode_long_video([])


def test_constructor_validation_and_describe():
    with pytest.raises(ValueError, match="num_frames must be >= 1"):
        MeanColour(num_frames=0)
    with pytest.raises(ValueError, match="unknown segment aggregation"):
        MeanColour(default_aggregation="sum")
    d = MeanColour(num_frames=4, frame_size=(64, 48)).describe()
    assert d == {
        "adapter": "MeanColour",
        "frames": 4,
        "frame_size": [64, 48],
        "text_max_length": None,
        "fusion": "avg",
        "segment_aggregation": "mean",
    }


@pytest.mark.parametrize(
    "clip, message",
    [
        ([[1]], "expected a numpy array"),
        (np.zeros((2, 4, 4, 3), dtype=np.float32), "dtype float32"),
        (np.zeros((4, 4, 3), dtype=np.uint8), "shape (4, 4, 3)"),
        (np.zeros((2, 4, 4, 4), dtype=np.uint8), "shape (2, 4, 4, 4)"),
        (np.zeros((0, 4, 4, 3), dtype=np.uint8), "T >= 1"),
    ],
)
def test_check_clip_names_the_clip(clip, message):
    with pytest.raises(ValueError) as err:
        check_clip(clip, 7)
    assert "clip 7" in str(err.value) and message in str(err.value)

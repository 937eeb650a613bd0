"""Decoded frames are budgeted per batch (issue 19, item 6): a batch is cut short before its frames
pass the budget, and a video whose frames cannot fit alone fails alone, counted, naming the budget."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pytest
import torch

from runner_helpers import build_sample_repos, build_tiny_model, copy_repo, metrics_of, run
from vidret.adapters import EmbeddingAdapter
from vidret.cli.main import main
from vidret.evaluation.results.validation import validate_file
from vidret.evaluation.running.runner import EvalSettings, evaluate
from vidret.testing.synthetic import make_oversized_video

#: Decoded bytes of one clip of the TF-CoVR sample: 8 frames of 64x48 RGB.
SAMPLE_CLIP_BYTES = 8 * 64 * 48 * 3
GIB = 1024**3


class RecordingAdapter(EmbeddingAdapter):
    """Embeds a clip by its mean colour and frame count; remembers how many clips each call got."""

    def __init__(self) -> None:
        super().__init__(num_frames=8)
        self.batches: list[int] = []

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        rows = [np.bincount(np.frombuffer(t.encode() or b" ", np.uint8) % 7, minlength=7) + 1.0 for t in texts]
        return self.finalize(torch.tensor(np.array(rows, dtype=np.float32)).reshape(len(texts), 7))

    def encode_video(self, clips: Sequence[np.ndarray]) -> torch.Tensor:
        self.batches.append(len(clips))
        rows = [np.r_[c.reshape(-1, 3).mean(0), len(c), 1.0, 1.0, 1.0] for c in clips]
        return self.finalize(torch.tensor(np.array(rows, dtype=np.float32)).reshape(len(clips), 7))


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("batch_memory"))


def _recorded(repo, adapter: RecordingAdapter, **settings) -> dict:
    # model="oracle" only labels the run (no Hub lookup); the adapter given is what embeds.
    return evaluate(EvalSettings(benchmark="tf-covr", data=str(repo), model="oracle", num_workers=0, **settings), adapter=adapter)


def test_a_batch_is_cut_before_its_frames_pass_the_budget(repos):
    roomy, tight = RecordingAdapter(), RecordingAdapter()
    base = _recorded(repos["tf-covr"], roomy)
    budget = 3.5 * SAMPLE_CLIP_BYTES / GIB  # room for three sample clips, not four
    cut = _recorded(repos["tf-covr"], tight, batch_memory=budget)
    assert max(roomy.batches) > 3 and max(tight.batches) == 3
    assert sum(tight.batches) == sum(roomy.batches)  # every clip embedded, none failed
    assert cut["failures"] == [] and metrics_of(cut) == metrics_of(base)


@pytest.fixture(scope="module")
def oversized_repo(repos, tmp_path_factory):
    """The TF-CoVR sample with one video replaced by a 1 s 1280x720 one: 8 frames decode to 21 MiB."""
    repo = copy_repo(repos["tf-covr"], tmp_path_factory.mktemp("oversized") / "tf-covr")
    make_oversized_video(repo / "videos" / "FINADiving_TEST_36_0.mp4", (1280, 720), num_frames=30)
    return repo


@pytest.mark.parametrize("num_workers", [0, 1])
def test_a_video_that_cannot_fit_the_budget_fails_alone_and_counted(oversized_repo, tmp_path, capsys, num_workers):
    model = build_tiny_model("clip", tmp_path)
    out = tmp_path / "r.json"
    assert main(["evaluate", "--benchmark", "tf-covr", "--data", str(oversized_repo), "--model", str(model),
                 "--no-cache", "--num-workers", str(num_workers), "--batch-memory", "0.01", "--output", str(out)]) == 0
    capsys.readouterr()
    validate_file(out)
    record = json.loads(out.read_text())
    (failure,) = record["failures"]
    assert failure["item_id"] == "FINADiving_TEST_36_0" and failure["source"].endswith("FINADiving_TEST_36_0.mp4")
    assert failure["reason"].startswith("LimitError: ") and "FINADiving_TEST_36_0.mp4: 8 decoded frames of 1280x720" in failure["reason"]
    assert "more than the batch memory budget of 0.01 GiB: raise it with --batch-memory GIB" in failure["reason"]
    task = record["tasks"]["cvr"]
    assert record["num_failed"] == 1 and 0 < task["num_failed"] < task["num_queries"]  # the others are scored
    assert task["gallery_size"] == 9 and task["metrics"]["R@50"] > 0


def test_the_default_budget_embeds_the_same_video(oversized_repo, tmp_path):
    """21 MiB of frames fit the default budget: nothing fails, so the budget above was what refused it."""
    record = run("tf-covr", oversized_repo, build_tiny_model("clip", tmp_path))
    assert record["failures"] == [] and record["tasks"]["cvr"]["gallery_size"] == 10

"""A small MSR-VTT 1k-A release in the published layout, for tests and `vidret demo`.

vidret finds `make_release` by convention (``<package>.sample``) and calls it as
``get_benchmark("msrvtt1k").make_sample(directory, **options)``. The videos are tiny real MP4s made
with `vidret.testing.synthetic.make_test_video`: frame i of video V carries the code
``frame_index_offset(V) + i`` (`vidret.testing.samples`), and every caption names its video id,
which is what the oracle (`vidret_msrvtt.oracle`) reads.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
from pathlib import Path

from vidret.testing.samples import frame_index_offset, unique_block_ids
from vidret.testing.synthetic import make_test_video

_SUBJECTS = ("a man", "a woman", "a child", "a teenager", "a chef", "a cartoon character", "a band", "a reporter")
_ACTIONS = (
    "is cooking pasta in a kitchen",
    "is singing on a stage",
    "talks about a new car",
    "plays a video game",
    "runs along a beach",
    "explains how to fold paper",
    "dances in a living room",
    "is interviewed on the news",
)


def make_release(
    directory: str | os.PathLike,
    *,
    num_videos: int = 5,
    captions_per_video: int = 20,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
    videos: bool = True,
) -> Path:
    """Write a small MSR-VTT release: the 1k-A test list, the annotation file and the videos.

    Layout: ``MSRVTT_data.json`` (``videos`` and ``sentences`` lists; two extra training videos that
    the 1k-A list leaves out, as the real file holds all 10,000), ``MSRVTT_JSFUSION_test.csv``
    (``key, vid_key, video_id, sentence``; the sentence is one of the video's captions) and
    ``videos/all/<video_id>.mp4``.

    Oracle properties: ids ``video7010``, ``video7011``, ... (skipping any whose frame block another
    one uses, so every frame tells its video); every caption contains its video id verbatim.

    Args:
        directory: where to write (created).
        num_videos: test videos (the real split has 1,000).
        captions_per_video: captions per video (MSR-VTT has 20).
        fps: frame rate of the videos.
        size: (width, height) of the videos.
        seed: seed of the captions and durations.
        videos: write ``videos/all/`` (False: annotations only).

    Returns:
        The release folder.
    """
    if num_videos < 1 or captions_per_video < 1:
        raise ValueError(f"num_videos and captions_per_video must be >= 1, got {num_videos} and {captions_per_video}")
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    test_ids = unique_block_ids((f"video{n}" for n in itertools.count(7010)), num_videos, set())
    entries, sentences, jsfusion = [], [], []
    for number, vid in enumerate(["video0", "video1", *test_ids]):
        split = "test" if vid in test_ids else "train"
        url = f"https://www.youtube.com/watch?v=sample{number:05d}"
        entry = {"category": rng.randrange(20), "url": url, "video_id": vid, "start time": 10.0, "end time": 12.0}
        entries.append({**entry, "split": split, "id": number})
        captions = [f"{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)} in {vid}" for _ in range(captions_per_video)]
        sentences += [{"caption": c, "video_id": vid, "sen_id": len(sentences) + i} for i, c in enumerate(captions)]
        if vid in test_ids:
            jsfusion.append([f"ret{len(jsfusion)}", f"msr{vid[5:]}", vid, rng.choice(captions)])
            if videos:
                path, duration = root / "videos" / "all" / f"{vid}.mp4", rng.choice((1.0, 1.5, 2.0))
                make_test_video(path, duration, fps=fps, size=size, gop=fps, first_index=frame_index_offset(vid))
    data = {"info": {"contributor": "vidret sample", "year": "2016"}, "videos": entries, "sentences": sentences}
    (root / "MSRVTT_data.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    with open(root / "MSRVTT_JSFUSION_test.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["key", "vid_key", "video_id", "sentence"])
        writer.writerows(jsfusion)
    return root

"""Step 2: load a built repo with `datasets` (in memory and streaming) and decode frames lazily."""

from _paths import REPOS
from datasets import load_dataset

from vidret.datasets import with_frames

clips = load_dataset(str(REPOS / "lovr"), "clips", split="test")
print(clips)
print({k: clips[0][k] for k in ("clip_id", "video_id", "start", "end", "caption")})

framed = with_frames(clips, num_frames=4, size=(64, 64), video_root=str(REPOS / "lovr"))
print("frames of clip 0:", framed[0]["frames"].shape if hasattr(framed[0]["frames"], "shape") else len(framed[0]["frames"]))

streamed = load_dataset(str(REPOS / "tf-covr"), "triplets", split="test", streaming=True)
first = next(iter(streamed))
print({k: first[k] for k in ("query_id", "query_video", "modification", "target_videos")})

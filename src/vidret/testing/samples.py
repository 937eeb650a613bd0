"""What every sample release shares: frame-code blocks per video, distinct ids, split archives.

The sample releases themselves live in the benchmark packages (``vidret.benchmarks.<name>.sample``,
reached through ``get_benchmark(id).make_sample(directory, **options)``); they write tiny real MP4s
with `vidret.testing.synthetic.make_test_video`. Frame i of a sample video encodes
``frame_index_offset(video_id) + i``, so a decoded frame (read with
`vidret.testing.synthetic.decode_frame_index` at 64x64 or larger) tells which video and which time
it comes from. That is what lets the oracle adapter (`vidret.testing.oracle`) reach R@1 = 100 and
mAP = 100 on a sample.
"""

from __future__ import annotations

import gzip
import io
import string
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Frame codes of one video live in a block of this many frames.
FRAME_BLOCK = 100_000
#: Number of blocks that fit in the 24-bit frame code of `vidret.testing.synthetic`.
NUM_BLOCKS = (2**24 - 1) // FRAME_BLOCK  # 167
#: Characters of YouTube-style video ids.
ID_ALPHABET = string.ascii_letters + string.digits + "-_"


def frame_index_offset(video_id: str) -> int:
    """First frame code of a sample video: a deterministic block of FRAME_BLOCK codes per id.

    ``(crc32(video_id) % NUM_BLOCKS) * FRAME_BLOCK``. Two ids can share a block; the sample
    generators choose their ids so that none does within one sample.

    Args:
        video_id: the video's id in its benchmark (the file name's stem).

    Returns:
        An int in [0, 16,600,000], a multiple of FRAME_BLOCK.
    """
    return (zlib.crc32(video_id.encode("utf-8")) % NUM_BLOCKS) * FRAME_BLOCK


def video_id_for_frame(index: int, video_ids: Iterable[str]) -> tuple[str, int]:
    """Which of `video_ids` a decoded frame code belongs to, and the frame number in that video.

    Raises:
        KeyError: no id of `video_ids` owns that block.
    """
    block = index // FRAME_BLOCK
    for vid in video_ids:
        if frame_index_offset(vid) // FRAME_BLOCK == block:
            return vid, index - block * FRAME_BLOCK
    raise KeyError(f"frame code {index} belongs to none of the given videos")


def unique_block_ids(candidates: Iterable[str], count: int, taken: set[int]) -> list[str]:
    """The first `count` candidates whose frame block no earlier id uses.

    Args:
        candidates: ids to choose from, in order (an endless generator is fine).
        count: how many to choose.
        taken: blocks already used; the chosen ids' blocks are added to it.

    Raises:
        ValueError: the candidates ran out first.
    """
    chosen = []
    for candidate in candidates:
        block = frame_index_offset(candidate) // FRAME_BLOCK
        if block in taken:
            continue
        taken.add(block)
        chosen.append(candidate)
        if len(chosen) == count:
            return chosen
    raise ValueError(f"could not find {count} ids with distinct frame blocks")


def write_split_archive(files: Sequence[tuple[str, Path]], folder: Path, num_parts: int) -> list[Path]:
    """A deterministic tar.gz of `files` cut into parts ``part_aa, part_ab, ...`` (like ``split -n``).

    Args:
        files: (name in the archive, file on disk) pairs.
        folder: where the parts go (created).
        num_parts: how many parts to cut the archive into.

    Returns:
        The part files written (fewer than `num_parts` when the archive is tiny).

    Raises:
        ValueError: `num_parts` < 1.
    """
    if num_parts < 1:
        raise ValueError(f"num_parts must be >= 1, got {num_parts}")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, source in sorted(files):
                info = tarfile.TarInfo(name)
                info.size = source.stat().st_size
                info.mtime, info.mode = 0, 0o644
                with open(source, "rb") as f:
                    tar.addfile(info, f)
    data = buffer.getvalue()
    size = -(-len(data) // num_parts)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for i in range(num_parts):
        chunk = data[i * size : (i + 1) * size]
        if chunk:
            parts.append(folder / f"part_a{chr(ord('a') + i)}")
            parts[-1].write_bytes(chunk)
    return parts

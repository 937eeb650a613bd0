"""`EvalSettings`: everything `vidret evaluate` accepts, checked before any work starts.

`EvalSettings.check` names the bad argument and what is accepted; `settings_from_dict` builds the
settings from a dict (a saved run, a config file), rejecting unknown keys by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidret.benchmarks import VIDRET_PROTOCOL, get_benchmark
from vidret.evaluation.embeddings.model import DECODE_MODES
from vidret.evaluation.embeddings.stored import POOL_CHOICES, detect_format, parse_embedding_specs
from vidret.evaluation.planning.data_location import check_data_path
from vidret.evaluation.planning.tasks import parse_long_video, resolve_task_ids
from vidret.evaluation.running.limits import check_limits
from vidret.testing.oracle import is_oracle
from vidret.video.source import TIMEOUT_ENV, check_timeout


@dataclass
class EvalSettings:
    """Everything `vidret evaluate` accepts.

    Attributes:
        benchmark: a registered benchmark's id or alias (`vidret.benchmarks.get_benchmark`).
        data: built dataset repo: a local folder or a Hub dataset id.
        model: Hub id or local folder of the model, or "oracle" / "oracle-shuffled"; None when
            `embeddings` gives every side.
        revision: dataset revision (Hub tag/commit); recorded.
        split: dataset split.
        model_revision: model revision; recorded.
        tasks: task ids (comma-separated or list); None = the benchmark's default tasks.
        frames: frames per clip, uniformly spaced; None = the adapter preset's.
        fps: instead of `frames`: sample R frames per second of video (as the official LoVR scripts
            read every n-th frame); frame-count models resample the clip to their frame count.
        max_frames: with `fps` / `frame_stride`: at most M frames per clip (evenly thinned).
        frame_stride: instead of `frames`: every S-th frame of the clip.
        batch_size: clips / texts per forward pass.
        fusion: composed-query fusion (TF-CoVR): a late fusion, or "native" for models that embed the
            query video and the text together (MLLM embedders); None = the adapter's default.
        cache_dir: embedding cache folder; None = no cache.
        output: results JSON path; None = don't write (the record is still returned).
        limit: LoVR: first N videos and their clips; TF-CoVR: first N triplets (smoke tests;
            the numbers are not comparable to full runs).
        strict: a video that fails to decode stops the run instead of counting as a miss.
        num_workers: DataLoader worker processes decoding videos (0 = decode in the main loop).
        trust_remote_code: allow models whose code lives on the Hub.
        long_video: how LoVR full videos are embedded: "clips" (each clip embedded, then
            aggregated), "window:<seconds>" (windows of the file, aggregated) or "concat" (all its
            clips' frames as one input, the frame grid running on across clips: the official
            scripts' construction). Recorded; "concat" units have cache ids of their own.
        aggregate: "mean" or "max" over a full video's segment embeddings (not with "concat").
        preset: adapter preset name; None = found from the model id / config.
        video_root: folder holding the videos of an annotations-only dataset repo.
        decode_mode: "exact" or "keyframe" frame sampling.
        device: torch device for the model; None = this process's accelerate device.
        random_weights: the model is a locally built random-weight model (recorded, labelled).
        resolution: square model input in pixels; None = the preset's / checkpoint's.
        pooling: "mean" or "max" over a clip's frames (frame-pooling models); None = the preset's.
        text_max_length: tokens kept per text (<= the model's maximum); None = the preset's.
        dtype: "fp32", "bf16" or "fp16"; None = bf16 on CUDA, fp32 elsewhere.
        embeddings: stored embeddings to score instead of embedding: ``SRC`` (every side) or
            ``<side>=SRC`` values, side one of texts / videos / composed (see
            `vidret.evaluation.embeddings.stored` for the formats and how ids match). The sides not given
            are embedded by `model`.
        allow_pickle: let `embeddings` read a pickle stream (it runs code; converted once into
            a .safetensors file kept under `cache_dir`).
        embeddings_pool: "mean" to average stored per-frame / per-token tensors into one vector;
            None = such rows are an error.
        allow_external_videos: read videos the dataset names outside its repo / `video_root`
            (other URLs, absolute paths); off by default (`vidret.video.containment`).
        http_timeout: seconds allowed per remote video (connect, each read, and in total);
            None = ``$VIDRET_HTTP_TIMEOUT``, else `vidret.video.source.DEFAULT_TIMEOUT_S`. Recorded.
        protocol: "vidret" (ours, the default) or "official" (what the paper's code computes);
            see `vidret.benchmarks`. Recorded as ``settings.protocol``.
        batch_memory: GiB the video frames of one batch may take, decoded plus model input; None =
            `vidret.evaluation.running.limits.DEFAULT_BATCH_MEMORY_GIB` (see that module).
    """

    benchmark: str
    data: str
    model: str | None = None
    revision: str | None = None
    split: str = "test"
    model_revision: str | None = None
    tasks: str | list[str] | None = None
    frames: int | None = None
    fps: float | None = None
    max_frames: int | None = None
    frame_stride: int | None = None
    batch_size: int = 16
    fusion: str | None = None
    cache_dir: str | None = None
    output: str | None = None
    limit: int | None = None
    strict: bool = False
    num_workers: int = 0
    trust_remote_code: bool = False
    long_video: str = "clips"
    aggregate: str = "mean"
    preset: str | None = None
    video_root: str | None = None
    decode_mode: str = "exact"
    device: str | None = None
    random_weights: bool = False
    resolution: int | None = None
    pooling: str | None = None
    text_max_length: int | None = None
    dtype: str | None = None
    embeddings: str | list[str] | None = None
    allow_pickle: bool = False
    embeddings_pool: str | None = None
    allow_external_videos: bool = False
    http_timeout: float | None = None
    protocol: str = VIDRET_PROTOCOL
    batch_memory: float | None = None

    def stored_sides(self) -> dict[str, str]:
        """Side → SRC of `embeddings` (see `vidret.evaluation.embeddings.stored.parse_embedding_specs`)."""
        return parse_embedding_specs(self.embeddings)

    def model_sides(self) -> list[str]:
        """The sides the model embeds: texts and videos not taken from `embeddings`."""
        stored = self.stored_sides()
        return [side for side in ("texts", "videos") if side not in stored]

    def check(self) -> None:
        """Validate the settings before any work starts.

        Raises:
            ValueError: naming the bad argument and what is accepted.
        """
        get_benchmark(self.benchmark).protocol(self.protocol)  # names the known protocols
        if not self.data:
            raise ValueError("--data is required: a built dataset folder or a Hub dataset repo id")
        check_data_path(self.data)  # a path that does not exist fails here, before any Hub request
        stored = self.stored_sides()
        for src in dict.fromkeys(stored.values()):
            detect_format(src, self.allow_pickle)  # names the path, and refuses a pickle without --allow-pickle
        if self.embeddings_pool is not None and self.embeddings_pool not in POOL_CHOICES:
            raise ValueError(f"--embeddings-pool must be one of {'|'.join(POOL_CHOICES)}, got {self.embeddings_pool!r}")
        if self.model_sides() and not self.model:
            missing = " and ".join(self.model_sides())
            raise ValueError(
                "--model is required: a Hub model id, a local model folder, or 'oracle'"
                + (f" (to embed the {missing}; --embeddings gives only {', '.join(stored)})" if stored else "")
            )
        if self.model and not self.model_sides():
            raise ValueError(
                f"--model {self.model}: --embeddings gives every side, so the model would embed nothing; drop --model, "
                "or take one side from it (e.g. --embeddings videos=SRC --model ID)"
            )
        if self.frames is not None and int(self.frames) < 1:
            raise ValueError(f"--frames must be >= 1, got {self.frames}")
        self._check_sampling()
        if int(self.batch_size) < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.limit is not None and int(self.limit) < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")
        if int(self.num_workers) < 0:
            raise ValueError(f"--num-workers must be >= 0, got {self.num_workers}")
        if self.decode_mode not in DECODE_MODES:
            raise ValueError(f"--decode-mode must be one of {DECODE_MODES}, got {self.decode_mode!r}")
        if self.fusion is not None:
            from vidret.adapters.fusion import parse_fusion

            parse_fusion(self.fusion)
        parse_long_video(self.long_video, self.aggregate)
        resolve_task_ids(get_benchmark(self.benchmark), self.tasks)
        if self.video_root is not None and not Path(self.video_root).is_dir():
            raise ValueError(f"--video-root {self.video_root!r} is not a folder")
        try:
            check_timeout(self.http_timeout)
        except ValueError as err:
            raise ValueError(f"http_timeout ({TIMEOUT_ENV}): {err}") from None
        self._check_model_overrides()
        check_limits(self)  # every number in range; a batch's model input within the memory budget

    def _check_sampling(self) -> None:
        """--frames, --fps and --frame-stride are three ways to pick frames: at most one."""
        given = {"--frames": self.frames, "--fps": self.fps, "--frame-stride": self.frame_stride}
        chosen = [f"{flag} {value}" for flag, value in given.items() if value is not None]
        if len(chosen) > 1:
            raise ValueError(
                f"{' and '.join(chosen)}: pass exactly one of --frames N (N uniform frames per clip), --fps R "
                "(R frames per second) and --frame-stride S (every S-th frame)"
            )
        if self.fps is not None and not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"--fps must be a positive number of frames per second, got {self.fps}")
        if self.frame_stride is not None and int(self.frame_stride) < 1:
            raise ValueError(f"--frame-stride must be >= 1, got {self.frame_stride}")
        if self.max_frames is not None:
            if int(self.max_frames) < 1:
                raise ValueError(f"--max-frames must be >= 1, got {self.max_frames}")
            if self.fps is None and self.frame_stride is None:
                raise ValueError("--max-frames caps --fps or --frame-stride sampling; with --frames N, N is the count")

    def frame_sampling(self) -> dict[str, Any]:
        """The rate-sampling arguments of `vidret.video.sample_segments` ({} = uniform `frames`)."""
        given = {"fps": self.fps, "frame_stride": self.frame_stride}
        out: dict[str, Any] = {k: (float(v) if k == "fps" else int(v)) for k, v in given.items() if v is not None}
        if out and self.max_frames is not None:
            out["max_frames"] = int(self.max_frames)
        return out

    def _check_model_overrides(self) -> None:
        """The settings passed on to `load_adapter` (its own checks need the loaded model)."""
        from vidret.adapters.frame_pooling import POOLING_CHOICES
        from vidret.adapters.transformers_base import dtype_name

        if self.resolution is not None and int(self.resolution) < 1:
            raise ValueError(f"--resolution must be a positive number of pixels (square model input), got {self.resolution}")
        if self.pooling is not None and self.pooling not in POOLING_CHOICES:
            raise ValueError(f"--pooling must be one of {'|'.join(POOLING_CHOICES)}, got {self.pooling!r}")
        if self.text_max_length is not None and int(self.text_max_length) < 2:
            raise ValueError(f"--text-max-length must be >= 2 (room for the special tokens), got {self.text_max_length}")
        if self.dtype is not None:
            dtype_name(self.dtype)  # its error names --dtype and the choices
        given = [flag for flag, value in self.model_overrides().items() if value is not None]
        if given and (not self.model or is_oracle(self.model)):
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            if not self.model:
                raise ValueError(f"{flags}: no model is loaded (--embeddings gives every side); drop them")
            raise ValueError(f"{flags}: the oracle has no model to configure; drop them or evaluate a real --model")

    def model_overrides(self) -> dict[str, Any]:
        """The `load_adapter` overrides of the preset: resolution, pooling, text_max_length, dtype."""
        return {
            "resolution": self.resolution,
            "pooling": self.pooling,
            "text_max_length": self.text_max_length,
            "dtype": self.dtype,
        }


def settings_from_dict(values: dict[str, Any]) -> EvalSettings:
    """`EvalSettings` from a dict, rejecting unknown keys by name.

    Raises:
        ValueError: an unknown setting.
    """
    known = set(EvalSettings.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown evaluation setting(s) {unknown}; known: {sorted(known)}")
    return EvalSettings(**values)

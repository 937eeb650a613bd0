"""Step 3: score two models on both sample benchmarks and write results JSON.

- "oracle": reads the sample videos' frame codes, so it must reach R@1 = 100 and mAP@K = 100.
- a tiny CLIP with random weights, built locally (no Hub access needed); labelled random_weights.
With a real model: `vidret evaluate --benchmark lovr --data vidret/lovr --revision v1.0.0
--model openai/clip-vit-base-patch32 --output lovr.json` (or under `accelerate launch -m vidret`).
"""

from _paths import BENCHMARKS, MODELS, REPOS, RESULTS

from vidret.testing.tiny import build_tiny_clip
from vidret.evaluation.running.runner import EvalSettings, evaluate

tiny_clip = build_tiny_clip(MODELS / "tiny-clip")
for name, model, random_weights in (("oracle", "oracle", False), ("tiny-clip", str(tiny_clip), True)):
    for benchmark in BENCHMARKS:
        output = RESULTS / name / f"{benchmark}.json"
        settings = EvalSettings(
            benchmark=benchmark, data=str(REPOS / benchmark), model=model, frames=4,
            output=str(output), random_weights=random_weights,
        )
        record = evaluate(settings)
        scores = {task: round(t["metrics"][t["main_score"]], 2) for task, t in record["tasks"].items()}
        print(f"{name} on {benchmark}: {scores} -> {output}")

"""Write the golden results that pin vidret's scores (run from the repo root).

    python tests/golden/regenerate.py            # rewrite tests/golden/*.json
    python tests/golden/regenerate.py --check    # compare instead of writing (what the test does)

Golden results are the oracle and a tiny random-weight CLIP on both sample benchmarks under both
protocols (every LoVR task, the theme tasks included): every metric, every per-query value, the
query/gallery/failure counts and the intervals. They were first written by main at bb3c64e
(before the benchmark-package reshape) and must only change when a change means to change a
number: say which numbers and why in that commit.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent
#: (benchmark, tasks) scored in every golden run.
BENCHMARK_TASKS = (("lovr", "t2v,v2t,t2c,c2t,theme2c,c2theme"), ("tf-covr", None))
PROTOCOLS = ("vidret", "official")
MODELS = ("oracle", "tiny-clip")
#: The per-task fields pinned (everything a score depends on; no times, versions or paths).
TASK_FIELDS = (
    "metrics", "main_score", "num_queries", "gallery_size", "num_failed_queries",
    "num_truncated_texts", "ci_low", "ci_high", "per_query",
)


def golden_name(benchmark: str, model: str, protocol: str) -> str:
    return f"{benchmark}-{model}-{protocol}.json"


def pinned(record: dict) -> dict:
    """The parts of a results record that the golden files pin."""
    tasks = {}
    for task_id, task in sorted(record["tasks"].items()):
        tasks[task_id] = {key: task[key] for key in TASK_FIELDS if key in task}
    return {
        "benchmark": record["benchmark"],
        "split": record.get("split"),
        "protocol": (record.get("settings") or {}).get("protocol"),
        "num_failed": record.get("num_failed"),
        "tasks": tasks,
    }


def produce(work: Path) -> dict[str, dict]:
    """Build the samples, run every golden evaluation, return file name -> pinned record."""
    from golden_api import build_samples, evaluate_one  # tests/golden/golden_api.py: the only import site

    repos, tiny = build_samples(work)
    produced = {}
    for benchmark, tasks in BENCHMARK_TASKS:
        for model in MODELS:
            for protocol in PROTOCOLS:
                record = evaluate_one(
                    benchmark=benchmark, data=repos[benchmark], model="oracle" if model == "oracle" else tiny,
                    tasks=tasks, protocol=protocol, cache_dir=work / "cache",
                )
                produced[golden_name(benchmark, model, protocol)] = pinned(record)
    return produced


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    sys.path.insert(0, str(GOLDEN_DIR))
    with tempfile.TemporaryDirectory() as tmp:
        produced = produce(Path(tmp))
    bad = 0
    for name, data in produced.items():
        path = GOLDEN_DIR / name
        if args.check:
            if json.loads(path.read_text()) != json.loads(json.dumps(data)):
                print(f"differs: {name}")
                bad += 1
        else:
            path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
            print(f"wrote {path}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

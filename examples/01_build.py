"""Step 1: write the sample raw releases of LoVR and TF-CoVR (each benchmark's `make_sample`) and
build a Hub dataset repo from each.

CLI equivalent: `vidret build lovr --raw RAW --out OUT` (and `tf-covr`); `vidret demo --setup-only`
does both for every registered benchmark.
"""

from _paths import BENCHMARKS, RAW, REPOS

from vidret.benchmarks import get_benchmark
from vidret.builders import build

for benchmark in BENCHMARKS:
    raw = get_benchmark(benchmark).make_sample(RAW / benchmark)
    # The sample videos are ours to copy; for the real releases keep the default (annotations only).
    report = build(benchmark, raw, REPOS / benchmark, version="1.0.0", videos="copy")
    print(f"{benchmark}: built {REPOS / benchmark}")
    print(f"  files: {sorted(p.name for p in (REPOS / benchmark).iterdir())}")
    print(f"  report: {report}")

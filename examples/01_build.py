"""Step 1: write the sample raw releases of LoVR and TF-CoVR and build a Hub dataset repo from each.

CLI equivalent: `vidret build lovr --raw RAW --out OUT` (and `tf-covr`).
"""

from _paths import RAW, REPOS

from vidret.builders import build
from vidret.testing.samples import make_lovr_release, make_tfcovr_release

for benchmark, make_release in (("lovr", make_lovr_release), ("tf-covr", make_tfcovr_release)):
    raw = make_release(RAW / benchmark)
    # The sample videos are ours to copy; for the real releases keep the default (annotations only).
    report = build(benchmark, raw, REPOS / benchmark, version="1.0.0", videos="copy")
    print(f"{benchmark}: built {REPOS / benchmark}")
    print(f"  files: {sorted(p.name for p in (REPOS / benchmark).iterdir())}")
    print(f"  report: {report}")

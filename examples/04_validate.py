"""Step 4: check every results file (schema, metrics per task, ranges, counts).

CLI equivalent: `vidret validate out/examples/results/*/*.json`.
"""

import sys

from _paths import RESULTS

from vidret.evaluation.results.validation import ResultsValidationError, summarize, validate_file

ok = True
for path in sorted(RESULTS.glob("*/*.json")):
    try:
        print("OK", path.relative_to(RESULTS), "-", summarize(validate_file(path)))
    except ResultsValidationError as err:
        ok = False
        print(err)
sys.exit(0 if ok else 1)

"""Results: the record of a run, its checks, its tables and its uncertainty.

- `record`: `build_record`, `write_results` — the results record of one run.
- `validation`: schema + consistency checks of a results file.
- `confidence`: per-query data, intervals, paired comparisons of two runs.
- `report`: plain-text tables.
- `provenance`: Hub commits and local fingerprints recorded in results.
"""

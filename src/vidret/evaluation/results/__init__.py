"""Results: the record of a run, its checks, its tables and its uncertainty.

- `record`: `build_record`, `write_results` — the results record of one run, as written.
- `model`: `ResultsRecord` — a results file parsed once into a typed record (protocol resolved).
- `schema`: the JSON Schema (its enums from the benchmark registry), `Problem`, the JSON reader.
- `validation`: `load_record(path)`, `check_results`, `validate_results` — parsing + consistency.
- `consistency`: the checks a schema cannot make (declared metrics, bounds, counts).
- `confidence`: per-query data, intervals, paired comparisons of two runs.
- `report`: plain-text tables.
- `provenance`: Hub commits and local fingerprints recorded in results.
"""

"""MSR-VTT 1k-A (text <-> video retrieval) as a vidret benchmark plug-in: a worked example.

One module per part vidret asks a benchmark for:

- `benchmark`: the `Benchmark` the entry point names (tasks, protocols, licence, where the rest is);
- `columns`: the built configs' `datasets.Features` (what the builder writes, the planner requires);
- `builder`: the raw release (``MSRVTT_data.json``, ``MSRVTT_JSFUSION_test.csv``, ``videos/all/``)
  -> a dataset repo of Parquet configs;
- `planner`: built rows -> the tasks to score (`vidret.evaluation.planning.tasks.TaskPlan`);
- `sample`: a small release in the published layout (``make_release``), for tests and `vidret demo`;
- `oracle`: what vidret's oracle model reads, so that it scores 100 on the sample;
- ``README.md.jinja``: the dataset card.

MSR-VTT: Xu et al., "MSR-VTT: A Large Video Description Dataset for Bridging Video and Language",
CVPR 2016 (10,000 YouTube clips, 20 captions each). The 1k-A test split (1,000 of its videos) is the
one JSFusion (Yu et al., ECCV 2018) introduced and most text-video retrieval papers report.
"""

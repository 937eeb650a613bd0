"""The demo and test kit: what vidret's tests, examples and `vidret demo` build offline.

- `synthetic`: real H.264 test videos whose frames carry their index (`make_test_video`, bad inputs).
- `rangeserver`: a local HTTP server honouring Range requests (remote-video tests).
- `tiny`: complete random-weight checkpoints of real architectures (`build_tiny_clip`, ...).
- `oracle`: the oracle adapter (perfect embeddings read from the samples' frame codes and ids); what it
  reads for each benchmark is that benchmark package's ``oracle`` module (`OracleReader`).
- `samples`: what every sample release shares (frame-code blocks per video); each benchmark's sample
  release is its package's ``sample.make_release`` (`Benchmark.make_sample`).
- `demo`: `run_demo`, the end-to-end demo behind `vidret demo`.

Nothing in the library proper imports this package except the runner, for ``--model oracle``, and
the benchmark packages' ``sample`` and ``oracle`` modules (imported only when used).
"""

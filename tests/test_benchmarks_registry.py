"""The benchmark registry: built-ins, aliases, entry-point plug-ins (found, contained when broken,
never shadowing a built-in), the column contract, and the `vidret benchmarks` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from vidret.benchmarks import Benchmark, ColumnContract, get_benchmark, registered, registry

TOY_PACKAGE = '''
"""A toy benchmark plug-in: one text-to-video task, declared only."""
from vidret.benchmarks import RETRIEVAL_METRICS, VIDRET_PROTOCOL, Benchmark, Licence, ProtocolSpec, TaskSpec

TASKS = {{"t2v": TaskSpec("t2v", "text-to-video", "videos", "text", "video", RETRIEVAL_METRICS, "R@1")}}
BENCHMARK = Benchmark(
    benchmark={benchmark_id!r},
    title="Toy: a plug-in benchmark",
    default_repo="toy",
    upstream_repo="someone/toy",
    tasks=TASKS,
    protocols={{VIDRET_PROTOCOL: ProtocolSpec(VIDRET_PROTOCOL, "ours", TASKS)}},
    package=__name__,
    aliases={aliases!r},
    licence=Licence(videos="Toy's videos are drawn by the test"),
    builder="vidret_toy_benchmark.nothing:Builder",
)
'''
TOY_SAMPLE = '''
from pathlib import Path


def make_release(directory, *, rows=2):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "captions.txt").write_text("".join(f"caption {i}\\n" for i in range(rows)))
    return directory
'''


def install_toy_plugin(site: Path, *, benchmark_id: str = "toy", aliases: tuple[str, ...] = (), extra: str = "") -> Path:
    """Write a distribution (package + .dist-info whose entry point registers its BENCHMARK) into `site`.

    Args:
        site: a folder to put on sys.path.
        benchmark_id: the id the toy declares.
        aliases: the aliases it declares.
        extra: more lines of the entry_points.txt group (other entry points of the same distribution).
    """
    package = site / "vidret_toy_benchmark"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(TOY_PACKAGE.format(benchmark_id=benchmark_id, aliases=aliases), encoding="utf-8")
    (package / "sample.py").write_text(TOY_SAMPLE, encoding="utf-8")
    (site / "vidret_toy_exits.py").write_text("raise SystemExit('a plug-in that exits on import')\n", encoding="utf-8")
    info = site / "vidret_toy_benchmark-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vidret-toy-benchmark\nVersion: 0.1\n", encoding="utf-8")
    points = "[vidret.benchmarks]\ntoy = vidret_toy_benchmark:BENCHMARK\n" + extra
    (info / "entry_points.txt").write_text(points, encoding="utf-8")
    return site


@pytest.fixture
def plugins(monkeypatch, tmp_path):
    """Install toy plug-ins with `plugins(**options)`; the registry is read afresh before and after."""

    def install(**options) -> Path:
        site = install_toy_plugin(tmp_path / "site", **options)
        monkeypatch.syspath_prepend(str(site))
        registry.reload()
        return site

    registry.reload()
    yield install
    monkeypatch.undo()
    for name in [m for m in sys.modules if m.startswith(("vidret_toy_benchmark", "vidret_toy_exits"))]:
        del sys.modules[name]
    registry.reload()


# ---------------------------------------------------------------- built-ins and names


def test_registry_lists_both_built_ins_in_order():
    found = registered()
    assert list(found)[:2] == ["lovr", "tf-covr"]
    for benchmark_id, benchmark in found.items():
        assert isinstance(benchmark, Benchmark) and benchmark.benchmark == benchmark_id
    lovr, tfcovr = found["lovr"], found["tf-covr"]
    assert lovr.provider == tfcovr.provider == "vidret"
    assert lovr.title == "LoVR: long-video text retrieval" and lovr.short_title == "LoVR"
    assert lovr.package == "vidret.benchmarks.lovr" and tfcovr.package == "vidret.benchmarks.tf_covr"
    assert lovr.default_tasks() == ["t2v", "v2t", "t2c", "c2t"] and list(tfcovr.tasks) == ["cvr"]
    assert lovr.builder_class().__name__ == "LoVRBuilder" and tfcovr.builder_class().BENCHMARK == "tf-covr"


@pytest.mark.parametrize("name", ["tf-covr", "tf_covr", "tfcovr", "TF-CoVR", "TFCoVR", " tf_covr "])
def test_an_alias_resolves(name):
    assert get_benchmark(name) is registered()["tf-covr"]


def test_an_unknown_benchmark_names_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown benchmark 'msrvtt'; choose one of \['lovr', 'tf-covr'\]"):
        get_benchmark("msrvtt")


def test_no_code_outside_the_benchmark_packages_names_a_benchmark():
    """Outside vidret/benchmarks/<name>/ only docstrings may name a built-in benchmark (the registry
    lists the built-in packages by module path)."""
    import ast
    import re

    import vidret

    pattern = re.compile(r"lovr|tf.?covr", re.IGNORECASE)
    root = Path(vidret.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("benchmarks/lovr/", "benchmarks/tf_covr/")) or relative == "benchmarks/registry.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }
        found += [
            f"{relative}:{node.lineno}: {node.value[:60]!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and pattern.search(node.value)
        ]
    assert not found, found


def test_licence_and_provenance_have_one_home():
    from vidret.hub.publish import video_provenance

    for benchmark in registered().values():
        assert video_provenance(benchmark.benchmark) == benchmark.licence.videos
        assert benchmark.licence.videos.startswith(f"{benchmark.short_title}'s videos")
    assert video_provenance("no-such-benchmark") == video_provenance(None) == "this benchmark's videos may not be re-hosted"


# ---------------------------------------------------------------- the column contract


@pytest.mark.parametrize("benchmark_id", ["lovr", "tf-covr"])
def test_the_builder_writes_the_columns_the_planner_requires(benchmark_id):
    benchmark = get_benchmark(benchmark_id)
    contract = benchmark.column_contract()
    schemas = benchmark.builder_class().schemas()
    assert list(schemas) == list(contract.features)
    for config, features in contract.features.items():
        assert schemas[config].names == list(features)
        assert set(contract.required[config]) <= set(features)
    assert benchmark.plan_configs() == [c for c in contract.features if c not in benchmark.query_configs]


def test_a_contract_refuses_required_columns_it_does_not_declare():
    from datasets import Features, Value

    with pytest.raises(ValueError, match=r"config 'videos' requires undeclared column\(s\) \['caption'\]"):
        ColumnContract({"videos": Features({"video_id": Value("string")})}, {"videos": ("video_id", "caption")})
    contract = ColumnContract({"videos": Features({"video_id": Value("string")})}, {"videos": ("video_id",)})
    with pytest.raises(ValueError, match=r"Toy videos/test: missing column\(s\) \['video_id'\]; found \['id'\]"):
        contract.require([{"id": "a"}], "videos", "Toy videos/test")
    with pytest.raises(ValueError, match="Toy videos/test: no rows"):
        contract.require([], "videos", "Toy videos/test")


# ---------------------------------------------------------------- plug-ins


def test_an_entry_point_plugin_registers(plugins, tmp_path, capsys):
    plugins(aliases=("toy_bench",))
    toy = get_benchmark("Toy-Bench")
    assert toy.benchmark == "toy" and toy.provider == "vidret-toy-benchmark" and toy.package == "vidret_toy_benchmark"
    assert list(registered()) == ["lovr", "tf-covr", "toy"] and registry.PLUGIN_ERRORS == []
    # The benchmark's sample release is found by convention in its package.
    assert (toy.make_sample(tmp_path / "raw", rows=3) / "captions.txt").read_text().count("caption") == 3
    with pytest.raises(ValueError, match="benchmark 'toy': cannot import 'vidret_toy_benchmark.oracle'"):
        toy.oracle_reader()
    with pytest.raises(ValueError, match="benchmark 'toy' builder: cannot import 'vidret_toy_benchmark.nothing'"):
        toy.builder_class()
    with pytest.raises(ValueError, match=r"benchmark 'toy' \(vidret-toy-benchmark\) declares no planner"):
        toy.plan({}, None)


def test_a_plugin_that_exits_on_import_is_contained_with_one_warning(plugins, caplog):
    with caplog.at_level("WARNING", logger="vidret.benchmarks.registry"):
        plugins(extra="exits = vidret_toy_exits:BENCHMARK\nmissing = vidret_no_such_module:BENCHMARK\n")
        found = registered()
        registered()  # discovery runs once: no second warning
        get_benchmark("toy")
    assert list(found) == ["lovr", "tf-covr", "toy"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings
    assert "entry point exits (vidret-toy-benchmark): SystemExit: a plug-in that exits on import" in warnings[0]
    assert "entry point missing (vidret-toy-benchmark): ModuleNotFoundError" in warnings[1]
    assert len(registry.PLUGIN_ERRORS) == 2


@pytest.mark.parametrize(("benchmark_id", "aliases", "taken"), [("lovr", (), "lovr"), ("toy", ("TF_CoVR",), "TF_CoVR")])
def test_a_plugin_cannot_shadow_a_built_in(plugins, caplog, benchmark_id, aliases, taken):
    with caplog.at_level("WARNING", logger="vidret.benchmarks.registry"):
        plugins(benchmark_id=benchmark_id, aliases=aliases)
        found = registered()
    assert list(found) == ["lovr", "tf-covr"] and found["lovr"].provider == "vidret"
    assert get_benchmark("tf_covr").provider == "vidret"
    owner = "lovr" if benchmark_id == "lovr" else "tf-covr"
    (warning,) = [r.getMessage() for r in caplog.records]
    assert f"entry point toy (vidret-toy-benchmark): its name {taken!r} is taken by benchmark {owner!r} (vidret)" in warning


def test_a_plugin_object_must_be_a_benchmark(plugins):
    plugins(extra="wrong = vidret_toy_benchmark:TASKS\n")
    registered()
    assert registry.PLUGIN_ERRORS == [
        "entry point wrong (vidret-toy-benchmark): its object is a dict, not a vidret.benchmarks.Benchmark"
    ]


# ---------------------------------------------------------------- the command line


def test_vidret_benchmarks_lists_every_registered_benchmark(plugins, capsys):
    from vidret.cli.main import main

    plugins()
    assert main(["benchmarks"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("lovr: LoVR: long-video text retrieval\n  provided by: vidret (vidret.benchmarks.lovr)\n")
    assert "  tasks: t2v, v2t, t2c, c2t, theme2c (optional), c2theme (optional)\n" in out
    assert "tf-covr: TF-CoVR: temporally fine-grained composed video retrieval (also: tf_covr, tfcovr)\n" in out
    assert "    official: what TF-CoVR's evaluation code computes" in out
    assert "toy: Toy: a plug-in benchmark\n  provided by: vidret-toy-benchmark (vidret_toy_benchmark)\n" in out
    assert "  videos: Toy's videos are drawn by the test\n" in out

    assert main(["benchmarks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [b["id"] for b in listed] == ["lovr", "tf-covr", "toy"]
    assert listed[1]["aliases"] == ["tf_covr", "tfcovr"] and [p["name"] for p in listed[1]["protocols"]] == ["vidret", "official"]
    assert [(t["id"], t["optional"]) for t in listed[0]["tasks"]][-1] == ("c2theme", True)


def test_build_choices_come_from_the_registry(plugins, tmp_path, capsys):
    from vidret.cli.main import build_parser, main

    def build_choices() -> list[str]:
        build = build_parser()._subparsers._group_actions[0].choices["build"]
        return next(a for a in build._actions if a.dest == "benchmark").choices

    assert build_choices() == ["lovr", "tf-covr"]
    plugins()
    assert build_choices() == ["lovr", "tf-covr", "toy"]
    # The plug-in's id is accepted; its builder (absent here) is what fails, with a clear message.
    assert main(["build", "toy", "--raw", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert "vidret build: benchmark 'toy' builder: cannot import 'vidret_toy_benchmark.nothing'" in capsys.readouterr().err


def test_plugin_text_is_printed_escaped(plugins, capsys, tmp_path):
    from vidret.cli.main import main

    site = plugins()
    init = site / "vidret_toy_benchmark" / "__init__.py"
    init.write_text(init.read_text().replace('"Toy: a plug-in benchmark"', '"Toy\\x1b[2J"'), encoding="utf-8")
    registry.reload()
    assert main(["benchmarks"]) == 0
    assert "toy: Toy\\x1b[2J\n" in capsys.readouterr().out


def test_dataset_repo_entry_points_read_the_registry(capsys):
    """`python -m vidret.dataset_repos.<folder>.build` builds the benchmark registered under the folder's name."""
    from vidret.dataset_repos.tf_covr.build import main as tfcovr_main

    with pytest.raises(SystemExit):
        tfcovr_main(["--help"])
    assert "usage: python -m vidret.dataset_repos.tf_covr.build" in capsys.readouterr().out

"""What the plugin adds to ``pytest --collect-only`` of a project that never uses it.

pytest loads pytest-ecr through its ``pytest11`` entry point (``ecr``) in every run, including the
runs of projects that have nothing to do with ECR. This benchmark builds such a project in a
temporary directory (200 trivial tests in 20 files) and runs
``python -m pytest --collect-only -q -p no:cacheprovider`` in it as a subprocess, alternately with
the plugin (the default) and without it (``-p no:ecr``), timing each run's wall time with
``time.perf_counter``. The figures are the medians and their difference, and the median of the
differences within each pair of runs.

A probe plugin, in two runs apart (they also warm the file system and the bytecode caches), records
at ``pytest_collection_finish`` whether the plugin was registered and which of pytest-ecr's
modules, ``botocore`` and ``boto3`` had been imported by then: the plugin is designed not to import
botocore until a fake starts. As a whole run's noise is larger than a few milliseconds, the import
of ``pytest_ecr.plugin`` alone is also timed, in fresh interpreters that have imported pytest.

Run: ``python bench/collection.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common

FILES = 20
TESTS_PER_FILE = 10
#: per mode: measured pairs of runs, plugin-import timings
SETTINGS = {"normal": (30, 9), "quick": (5, 3)}
COMMAND = ("-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider")
WATCHED = ("pytest_ecr", "pytest_ecr.plugin", "pytest_ecr.fake", "botocore", "botocore.handlers", "boto3")
PROBE = f'''"""Records what a collection imported (written by bench/collection.py)."""

import json
import os
import sys

WATCHED = {WATCHED!r}


def pytest_collection_finish(session):
    with open(os.environ["BENCH_PROBE_OUTPUT"], "w") as out:
        json.dump(
            {{
                "collected": len(session.items),
                "plugin_registered": session.config.pluginmanager.has_plugin("ecr"),
                "imported": {{name: name in sys.modules for name in WATCHED}},
            }},
            out,
        )
'''
IMPORT_TIMER = (
    "import time, pytest; start = time.perf_counter(); import pytest_ecr.plugin; "
    "print(time.perf_counter() - start)"
)


def make_project(root: Path) -> None:
    # Its own ini file makes the directory the rootdir, so no outer configuration applies.
    (root / "pytest.ini").write_text("[pytest]\n")
    for f in range(FILES):
        tests = [f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n" for i in range(TESTS_PER_FILE)]
        (root / f"test_module_{f:02d}.py").write_text("\n\n".join(tests))
    probe = root / "probe"
    probe.mkdir()
    (probe / "bench_probe.py").write_text(PROBE)


def environment(root: Path, extra_path: str | None = None) -> dict[str, str]:
    """This process's environment without pytest settings that would change what runs.

    Bytecode caching is on, as on most machines, whatever ``PYTHONDONTWRITEBYTECODE`` says here;
    the caches go to a directory in ``root`` (``PYTHONPYCACHEPREFIX``), never next to the sources.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
    return env


def collect(root: Path, plugin: bool, extra: Sequence[str] = (), env: dict[str, str] | None = None) -> float:
    """Wall seconds of one ``pytest --collect-only`` run in ``root``, checked to collect every test."""
    args = [sys.executable, *COMMAND, *([] if plugin else ["-p", "no:ecr"]), *extra]
    start = time.perf_counter()
    done = subprocess.run(args, cwd=root, env=env or environment(root), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    expected = f"{FILES * TESTS_PER_FILE} tests collected"
    if done.returncode != 0 or expected not in done.stdout:
        raise _common.BenchError(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return elapsed


def probe(root: Path, plugin: bool) -> dict[str, Any]:
    output = root / "probe" / f"output-{plugin}.json"
    env = environment(root, str(root / "probe"))
    env["BENCH_PROBE_OUTPUT"] = str(output)
    collect(root, plugin, ["-p", "bench_probe"], env)
    found: dict[str, Any] = json.loads(output.read_text())
    if found["plugin_registered"] != plugin or found["imported"]["pytest_ecr.plugin"] != plugin:
        raise _common.BenchError(f"the plugin was {'not ' if plugin else ''}expected in this run: {found}")
    return found


def plugin_import_seconds(root: Path, times: int) -> list[float]:
    """Seconds to import ``pytest_ecr.plugin`` in fresh interpreters that have imported pytest."""
    out = []
    for _ in range(times + 1):  # the first warms the caches
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_TIMER],
            env=environment(root),
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(float(done.stdout))
    return out[1:]


def run(quick: bool = False) -> dict[str, Any]:
    pairs, imports = SETTINGS["quick" if quick else "normal"]
    with tempfile.TemporaryDirectory(prefix="pytest-ecr-bench-") as tmp:
        root = Path(tmp)
        make_project(root)
        probes = {"with": probe(root, plugin=True), "without": probe(root, plugin=False)}
        with_plugin: list[float] = []
        without: list[float] = []
        for i in range(pairs):
            # Alternate, and alternate which goes first, so that noise falls on both.
            for plugin in (True, False) if i % 2 == 0 else (False, True):
                (with_plugin if plugin else without).append(collect(root, plugin))
        import_seconds = plugin_import_seconds(root, imports)
    differences = [w - o for w, o in zip(with_plugin, without, strict=True)]
    return {
        "benchmark": "collection",
        "quick": quick,
        "pairs": pairs,
        "tests": FILES * TESTS_PER_FILE,
        "files": FILES,
        "target": 0.030,
        "with": _common.summary(with_plugin),
        "without": _common.summary(without),
        "difference": _common.median(with_plugin) - _common.median(without),
        "paired_difference": _common.summary(differences),
        "plugin_import": _common.summary(import_seconds),
        "probes": probes,
    }


def render(results: dict[str, Any]) -> str:
    def row(label: str, stats: dict[str, Any]) -> list[str]:
        return [
            label,
            _common.ms(stats["median"], 1),
            f"{_common.ms(stats['p25'], 1)}-{_common.ms(stats['p75'], 1)}",
        ]

    paired = results["paired_difference"]
    rows = [
        row("with pytest-ecr (default)", results["with"]),
        row("without (-p no:ecr)", results["without"]),
        [
            "difference of the medians",
            _common.ms(results["difference"], 1),
            "",
        ],
        row("median of paired differences", paired),
    ]
    verdict = "met" if results["difference"] <= results["target"] else "NOT met"
    lines = [
        "pytest --collect-only -q -p no:cacheprovider, "
        f"{results['tests']} tests in {results['files']} files: "
        f"{results['pairs']} runs each, alternating{' (--quick)' if results['quick'] else ''}",
        "",
        _common.table(["collection run", "wall ms", "p25-p75"], rows),
        "",
        f"target: the plugin adds at most {_common.ms(results['target'], 0)} ms -- "
        f"{_common.ms(results['difference'], 1)} ms, {verdict}",
        f"import of pytest_ecr.plugin after pytest: {_common.ms(results['plugin_import']['median'], 2)} ms "
        f"(median of {results['plugin_import']['n']} fresh interpreters)",
        "",
    ]
    for label, found in results["probes"].items():
        imported = ", ".join(f"{name}: {'yes' if seen else 'no'}" for name, seen in found["imported"].items())
        lines.append(f"imported by the end of collection, {label} the plugin: {imported}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()

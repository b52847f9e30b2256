"""Run the eight benchmarks and write ``docs/performance.rst`` from their figures.

Each benchmark runs in its own interpreter (``bench/per_call.py``, ``bench/per_test.py``,
``bench/collection.py``, ``bench/layer_upload.py``, ``bench/waiter.py``, ``bench/scale.py``, ``bench/registry.py``,
``bench/small_requests.py``, one after the other, their
tables printed as they go) and hands its figures back as JSON; this script then renders the page.
``--quick`` is passed through.

Run: ``python bench/report.py`` (``--quick`` for a short run, ``--output`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common

BENCHMARKS = (
    "per_call",
    "per_test",
    "collection",
    "layer_upload",
    "waiter",
    "scale",
    "registry",
    "small_requests",
)
DEFAULT_OUTPUT = _common.PROJECT_DIR / "docs" / "performance.rst"


def run_benchmark(name: str, quick: bool, workdir: Path) -> dict[str, Any]:
    """Run ``bench/<name>.py`` in a fresh interpreter; its figures, and how long it took."""
    output = workdir / f"{name}.json"
    args = [sys.executable, str(_common.BENCH_DIR / f"{name}.py"), "--json", str(output)]
    if quick:
        args.append("--quick")
    print(f"== {name}: {' '.join(args[1:])}", flush=True)
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=_common.PROJECT_DIR)
    elapsed = time.perf_counter() - start
    print(f"== {name}: {elapsed:.1f} s\n", flush=True)
    results: dict[str, Any] = json.loads(output.read_text())
    results["seconds"] = elapsed
    return results


# -- reStructuredText -------------------------------------------------------------------------------


def list_table(
    headers: Sequence[str] | None, rows: Sequence[Sequence[str]], widths: Sequence[int]
) -> list[str]:
    lines = [".. list-table::", f"   :header-rows: {1 if headers else 0}"]
    lines += [f"   :widths: {' '.join(map(str, widths))}", ""]
    for row in [*([headers] if headers else []), *rows]:
        cells = [cell_text(cell) for cell in row]
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return [*lines, ""]


def cell_text(cell: str) -> str:
    """A table cell as reStructuredText: a cell such as ``-`` would be read as a bullet list."""
    return "\\" + cell if re.match(r"[-+*](\s|$)", cell) else cell


def section(title: str) -> list[str]:
    return [title, "-" * len(title), ""]


def paragraph(*sentences: str) -> list[str]:
    text = " ".join(sentences)
    return [*textwrap.wrap(text, width=100, break_long_words=False, break_on_hyphens=False), ""]


def spread(stats: dict[str, Any], digits: int) -> str:
    return f"{_common.ms(stats['p25'], digits)} - {_common.ms(stats['p75'], digits)}"


def within(ok: bool) -> str:
    return "met" if ok else "**not met**"


MIB = 1024 * 1024


def layers(multiple: float, size: int, words: bool = False) -> str:
    """``2.001 (2 layers + 116 KiB)``, or in words ``2.001 layers, 2 layers and 116 KiB``: a multiple
    of the layer size, as whole layers and the rest."""
    whole = int(multiple)
    rest = (multiple - whole) * size
    rest_text = f"{rest / 1024:.0f} KiB" if rest < MIB else f"{rest / MIB:.1f} MiB"
    whole_text = f"{whole} layer{'s' if whole != 1 else ''}"
    if words:
        return f"{multiple:.3f} layers, that is {whole_text} and {rest_text}"
    return f"{multiple:.3f} ({whole_text} + {rest_text})"


def machine_part(machine: dict[str, Any], results: dict[str, dict[str, Any]], quick: bool) -> list[str]:
    versions = machine["versions"]
    load = machine.get("load_average")
    rows = [
        ["Date", machine["date"]],
        ["Python", f"{machine['python']} ({machine['implementation']})"],
        ["Platform", f"``{machine['platform']}``"],
        ["CPUs (``os.cpu_count()``)", str(machine["cpu_count"])],
        ["Load average at the start", ", ".join(f"{x:.2f}" for x in load) if load else "unknown"],
        *[[name, versions[name]] for name in ("pytest-ecr", "botocore", "boto3", "moto", "pytest")],
        ["Run", "short (``--quick``)" if quick else "full"],
        *[
            [f"``bench/{name}.py`` took", f"{results[name]['seconds']:.0f} s"]
            for name in BENCHMARKS
            if name in results
        ],
    ]
    return [
        *paragraph("The figures on this page were taken in one run, on this machine:"),
        *list_table(None, rows, [40, 60]),
    ]


def per_call_part(results: dict[str, Any]) -> list[str]:
    lines = [
        *section("Per-call cost"),
        *paragraph(
            "**What it measures.** The time one boto3 ECR call takes, from the client method to the",
            "parsed result, when the answer comes from pytest-ecr, from moto's ``mock_aws``, or from",
            "a floor. Two workloads: ``DescribeRepositories`` of a registry holding one repository, and",
            "a ``PutImage`` of a new manifest whose blobs are already in the repository followed by a",
            "``BatchGetImage`` of it (one pair). Every round gives each backend a fresh state (one",
            "repository holding one image) and times a batch of calls; the backends take turns in a",
            "rotating order; the first round is a warm-up.",
            f"Figures are medians of {results['rounds']} rounds.",
        ),
        *paragraph(
            "**Anchor: the floor.** The same client with a ``before-send`` handler that returns a canned",
            "response (status 200, the JSON body pytest-ecr gives for the same call): botocore",
            "still serializes, signs and parses, but nothing answers. No fake that answers at botocore's",
            "send step, as both fakes here do, can be cheaper.",
            "All three clients carry the same handlers (pytest-ecr's dispatcher and moto's stubber, each",
            "doing nothing while its fake is inactive), and every batch is checked to have been answered",
            "by the backend it was meant for.",
        ),
        *paragraph(f"**Target.** pytest-ecr within {results['target']}x the floor."),
    ]
    verdicts = []
    for workload in results["workloads"]:
        rows = [
            [
                b["label"],
                _common.ms(b["median"]),
                spread(b, 3),
                f"{b['ratio']:.2f}x",
            ]
            for b in workload["backends"]
        ]
        lines += [
            f"**{workload['name']}** ({workload['per_round']} per round):",
            "",
            *list_table(
                ["Backend", workload["unit"].replace("ms/", "ms per "), "25th - 75th percentile", "x floor"],
                rows,
                [40, 20, 25, 15],
            ),
        ]
        ours = next(b for b in workload["backends"] if b["label"] == "pytest-ecr")
        verdicts.append(f"{workload['name']}: {ours['ratio']:.2f}x the floor")
    ok = all(
        next(b for b in w["backends"] if b["label"] == "pytest-ecr")["ratio"] <= results["target"]
        for w in results["workloads"]
    )
    lines += paragraph(
        f"**Result.** {'; '.join(verdicts)}. Target {within(ok)}.",
        "How either fake's cost grows with the number of images is not measured here (the scale",
        "benchmark below measures pytest-ecr alone).",
    )
    return lines


def per_test_part(results: dict[str, Any]) -> list[str]:
    fresh_ecr, fresh_moto, reused_ecr, reused_moto = results["variants"]
    ratio, reused = results["ratio"], results["ratio_reused_client"]
    headers = ["Per test", "ms", "25th - 75th percentile", "Full gc after, ms", "Objects freed"]
    widths = [44, 12, 20, 12, 12]

    def row(v: dict[str, Any]) -> list[str]:
        return [v["label"], _common.ms(v["median"], 2), spread(v, 2), _common.ms(v["gc"], 2), str(v["freed"])]

    # What a new client costs each test: its time with one made per test, less with one reused.
    ecr_client_ms = _common.ms(fresh_ecr["median"] - reused_ecr["median"], 2)
    moto_client_ms = _common.ms(fresh_moto["median"] - reused_moto["median"], 2)
    client_phase = next(p for p in results["phases"] if p["phase"] == "fake.client()")
    share = client_phase["median"] / fresh_ecr["median"] * 100
    phase_rows = [
        [f"``{p['phase']}``", _common.ms(p["median"], 3), f"{p['median'] / fresh_ecr['median'] * 100:.0f} %"]
        for p in results["phases"]
    ]
    return [
        *section("Per-test cost"),
        *paragraph(
            "**What it measures.** What a test pays before its first assertion when every test gets a",
            "fresh fake, a client and one repository: for pytest-ecr, ``FakeECR()`` and ``start()``,",
            "``fake.client()``, one ``CreateRepository`` call through that client and ``stop()`` (what",
            "the ``ecr`` and ``ecr_client`` fixtures do); for moto, ``with mock_aws():",
            'boto3.client("ecr").create_repository(...)``. Both make a new boto3 client in every test,',
            "so the two are also measured with one client made beforehand and reused: what is left is",
            "the fakes' own share. The two of a comparison",
            "alternate, one test each, after a warm-up;",
            f"figures are medians of {results['tests']} tests each.",
        ),
        *paragraph(
            "A test leaves objects in reference cycles (the objects freed column below), which the",
            "garbage collector reclaims, not reference counting; in a test session that cost lands on",
            "whichever later test triggers a collection. So the heap is frozen after the warm-up",
            "(``gc.freeze()``) and, after each test, a timed ``gc.collect()`` reclaims what that test",
            "left; it is shown apart.",
        ),
        *paragraph(
            "**Anchor: moto**, measured in the same run.",
            f"**Target.** pytest-ecr at least {results['target']:.0f}x cheaper than moto per test.",
        ),
        "With a new client in every test:",
        "",
        *list_table(headers, [row(fresh_ecr), row(fresh_moto)], widths),
        "With one client made beforehand and reused by every test:",
        "",
        *list_table(headers, [row(reused_ecr), row(reused_moto)], widths),
        "Where pytest-ecr's time goes, with a new client in every test (medians):",
        "",
        *list_table(["Phase", "ms", "Of the total"], phase_rows, [50, 25, 25]),
        *paragraph(
            f"**Result.** With a new client in every test, moto takes {ratio['median']:.2f}x pytest-ecr's",
            f"time (target: {results['target']:.0f}x; {within(ratio['median'] >= results['target'])}).",
            f"``fake.client()`` is {share:.0f} % of pytest-ecr's time: botocore builds a new client",
            "(its class, endpoint resolution, handlers), from one boto3 session the fake's own",
            "clients share while the fake's isolation leaves a session nothing to read; moto's test",
            "makes a session too (``mock_aws`` resets boto3's default session, as pytest-ecr does for",
            "``boto3.client(...)``). The difference of the medians with and without a new client is",
            f"{ecr_client_ms} ms in pytest-ecr's test and {moto_client_ms} ms in moto's. With the client",
            f"reused, moto takes {reused['median']:.2f}x pytest-ecr's time.",
        ),
    ]


def snapshot_part(results: dict[str, Any]) -> list[str]:
    """The snapshot figures of ``bench/per_test.py`` (a restoring test against a bare one and the floor)."""
    import per_test

    snap = results["snapshot"]
    floor, bare, _, _ = snap["variants"]
    rows = [
        [
            v["label"],
            _common.ms(v["median"], 2),
            spread(v, 2),
            _common.ms(v["gc"], 2),
            f"{v['median'] / bare['median']:.2f}x",
            f"{v['median'] / floor['median']:.2f}x",
        ]
        for v in snap["variants"]
    ]
    restore = snap["restore"]["median"] * 1000
    pending = snap["restore_pending"]["median"] * 1000
    most_restored, most_bare, most_ms = (
        per_test.TARGET_RESTORED,
        per_test.TARGET_BARE,
        per_test.TARGET_RESTORE_MS,
    )
    return [
        *section("Per-test cost with a snapshot"),
        *paragraph(
            "**What it measures.** What a test pays when it starts from a snapshot (:doc:`snapshots`):",
            f"a snapshot of {snap['images']:,} images in one repository is seeded and taken once",
            f"({snap['seeding']:.2f} s and {snap['taking'] * 1000:.0f} ms in this run), then four variants",
            "take turns, one test each, as above: botocore's floor (a fresh client from one shared",
            "session, one ``CreateRepository`` answered by a canned ``before-send`` handler with the",
            "body pytest-ecr gives); a bare pytest-ecr test (the test above); the same test after",
            "``fake.restore(snapshot)``, its call creating another repository; and a test whose call",
            f"is a ``DescribeImages`` of the {snap['images']:,}-image repository, which makes the restored fake copy",
            f"that repository. Medians of {results['tests']} tests each; ``restore()`` is also timed alone.",
        ),
        *paragraph(
            "**Anchors: the bare test and the floor**, measured in the same run. **Targets.** A restoring",
            f"test at most {most_restored:g}x a bare test, a bare test at most {most_bare:g}x the floor,",
            f"``restore()`` at most {most_ms:g} ms.",
        ),
        *list_table(
            ["Per test", "ms", "25th - 75th percentile", "Full gc after, ms", "x bare", "x floor"],
            rows,
            [40, 10, 18, 12, 10, 10],
        ),
        *paragraph(
            f"**Result.** ``restore()`` alone takes {restore:.3f} ms (target {most_ms:g} ms;",
            f"{within(restore <= most_ms)}); of a snapshot whose {snap['images']:,} images are all being",
            f"scanned (as many pending jobs), {pending:.3f} ms ({within(pending <= most_ms)}).",
            f"A restoring test costs {snap['restored_to_bare']:.2f}x a bare test",
            f"(paired {snap['paired_restored_to_bare']:.2f}x; target {most_restored:g}x;",
            f"{within(snap['restored_to_bare'] <= most_restored)}). A bare test costs",
            f"{snap['bare_to_floor']:.2f}x the floor (paired {snap['paired_bare_to_floor']:.2f}x;",
            f"target {most_bare:g}x; {within(snap['bare_to_floor'] <= most_bare)}). A test that reads the",
            f"restored {snap['images']:,}-image repository pays for copying it: {snap['touched_to_bare']:.2f}x a bare test, and",
            "its garbage is collected after it (no target).",
        ),
    ]


def collection_part(results: dict[str, Any]) -> list[str]:
    paired = results["paired_difference"]
    rows = [
        [
            "With pytest-ecr (the default)",
            _common.ms(results["with"]["median"], 1),
            spread(results["with"], 1),
        ],
        [
            "Without it (``-p no:ecr``)",
            _common.ms(results["without"]["median"], 1),
            spread(results["without"], 1),
        ],
        ["Difference of the medians", _common.ms(results["difference"], 1), "n/a"],
        ["Median of the differences within pairs", _common.ms(paired["median"], 1), spread(paired, 1)],
    ]
    probes = results["probes"]
    module_rows = [
        [f"``{name}``", "yes" if probes["with"]["imported"][name] else "no", "yes" if seen else "no"]
        for name, seen in probes["without"]["imported"].items()
    ]
    botocore_free = not any(probes["with"]["imported"][name] for name in ("botocore", "boto3"))
    return [
        *section("Collection overhead"),
        *paragraph(
            "**What it measures.** What the plugin, which pytest loads through its ``pytest11`` entry",
            "point in every run, adds to a project that never uses it. A temporary project holds",
            f"{results['tests']} trivial tests in {results['files']} files;",
            "``python -m pytest --collect-only -q -p no:cacheprovider`` runs in it as a subprocess,",
            f"{results['pairs']} times with the plugin and {results['pairs']} times without, alternately;",
            "each run's wall time is measured. Bytecode caching is on (in a temporary directory). As the",
            f"differences within pairs spread over {spread(paired, 1)} ms (25th - 75th percentile), the",
            "import of ``pytest_ecr.plugin`` alone is also timed, in fresh interpreters that have",
            "imported pytest.",
        ),
        *paragraph(
            "**Anchor:** the same collection with ``-p no:ecr``.",
            f"**Target.** The plugin adds at most {_common.ms(results['target'], 0)} ms.",
        ),
        *list_table(["Collection run", "Wall ms", "25th - 75th percentile"], rows, [50, 20, 30]),
        *paragraph(
            "Import of ``pytest_ecr.plugin`` after pytest:",
            f"{_common.ms(results['plugin_import']['median'], 2)} ms",
            f"(median of {results['plugin_import']['n']} interpreters).",
        ),
        *paragraph(
            "Modules imported by the end of collection (recorded by a probe plugin at",
            "``pytest_collection_finish``, in two runs apart):",
        ),
        *list_table(["Module", "With the plugin", "Without it"], module_rows, [40, 30, 30]),
        *paragraph(
            f"**Result.** The plugin adds {_common.ms(results['difference'], 1)} ms (target:",
            f"{_common.ms(results['target'], 0)} ms; {within(results['difference'] <= results['target'])}).",
            "boto3 and botocore are"
            + (" not imported, as designed." if botocore_free else " imported, against the design."),
        ),
    ]


def layer_upload_part(results: dict[str, Any]) -> list[str]:
    times, ratios, mem, met = results["times"], results["ratios"], results["memory"], results["met"]
    size = results["layer_bytes"]
    layer = f"{size / MIB:.0f} MiB"
    part = f"{results['part_bytes'] / MIB:.0f} MiB"
    rows = [
        [label, _common.ms(times[key]["median"], 1), spread(times[key], 1), f"{ratios[key]:.2f}x"]
        for label, key in (
            ("Anchor: ``sha256`` + one copy, in-process", "anchor"),
            ("Floor: botocore, canned answers", "floor"),
            ("pytest-ecr", "pytest-ecr"),
        )
    ]
    memory_rows = [
        [label, layers(mem[key], size)]
        for label, key in (
            ("Peak over the whole upload (with botocore's request buffers)", "peak_whole_upload"),
            ("Peak while ``CompleteLayerUpload`` joins the parts", "peak_complete"),
            ("Held after the upload (the blob, and the call log)", "held_after"),
            ("Held after the upload, the call log cleared (the blob)", "held_by_store"),
        )
    ]
    floor_above = ratios["floor"] > results["target_ratio"]
    return [
        *section("Layer upload"),
        *paragraph(
            f"**What it measures.** The time to push a {layer} layer of random bytes in",
            f"{results['parts']} parts of {part}, as AWS's own clients do: ``InitiateLayerUpload``,",
            "``UploadLayerPart`` for each part, ``CompleteLayerUpload`` with the layer's digest, through",
            "a boto3 client. Three variants take turns, in a rotating order, after a warm-up round, with a",
            "full garbage collection before each timing;",
            f"figures are medians of {results['runs']} uploads each, and ratios to the anchor's median.",
        ),
        *paragraph(
            "**Anchor:** ``hashlib.sha256`` over the layer plus one copy of it",
            "(``bytes(bytearray(data))``), in-process: the least work any fake that verifies and keeps a",
            "layer must do. **botocore's floor:** the same calls on a client whose ``before-send``",
            "handler answers with canned bodies (those pytest-ecr gives), so that botocore still",
            "base64- and JSON-encodes every part, signs every request (SigV4 hashes the body) and parses",
            "the answers, but nothing serves them.",
        ),
        *paragraph(
            f"**Targets.** pytest-ecr within {results['target_ratio']:g}x the anchor; the fake never holds",
            f"more than {results['target_copies']} copies of a layer.",
        ),
        *list_table(["Upload", "ms", "25th - 75th percentile", "x anchor"], rows, [45, 15, 25, 15]),
        *paragraph(
            f"**Result.** pytest-ecr takes {ratios['pytest-ecr']:.2f}x the anchor (target:",
            f"{results['target_ratio']:g}x; {within(met['time'])}).",
            *(
                [
                    f"botocore's floor alone takes {ratios['floor']:.2f}x the anchor, so no fake answering at",
                    "botocore's send step can meet this target;",
                ]
                if floor_above
                else []
            ),
            f"pytest-ecr's own share, its time beyond the floor, is {results['own_ratio']:.2f}x the anchor.",
        ),
        *paragraph(
            "**Memory.** A separate upload runs under ``tracemalloc``; the figures are the bytes",
            "allocated above what the test data itself takes, in multiples of the layer size. tracemalloc",
            "sees the whole process: the first row counts botocore's request buffers for every part too;",
            "the target is judged on the peak while the parts are joined and on what is held after.",
        ),
        *list_table(["During or after the upload", "Layers"], memory_rows, [60, 40]),
        *paragraph(
            "**Result.** At its worst, joining the parts or after the upload, the fake holds",
            f"{layers(results['fake_copies'], size, words=True)} (target: at most",
            f"{results['target_copies']} copies; {within(met['memory'])}). Until the call log is cleared,",
            f"it holds {mem['held_after'] - mem['held_by_store']:.3f} layers more.",
        ),
    ]


def waiter_part(results: dict[str, Any]) -> list[str]:
    polls = results["expected_polls"]
    delay, scan = results["delay"], results["scan_seconds"]
    real_ecr = results["real_ecr_seconds"]
    rows = [
        [
            v["label"].replace("floor:", "Floor:").replace("fake.clock.freeze()", "``fake.clock.freeze()``"),
            _common.ms(v["median"], 2),
            spread(v, 2),
            _common.ms(v["max"], 2),
            ", ".join(map(str, v["polls"])),
            "n/a" if "met" not in v else " - ".join(f"{x:.3f}" for x in sorted(set(v["virtual"]))),
            f"{v['ratio']:.2f}x",
        ]
        for v in results["variants"]
    ]
    rows.append(
        [
            "Real ECR (the sleeps alone)",
            f"{real_ecr * 1000:.0f}",
            "n/a",
            "n/a",
            str(polls),
            f"{real_ecr:.3f}",
            "n/a",
        ]
    )
    ours = [v for v in results["variants"] if "met" in v]
    verdicts = []
    for v in ours:
        how = v["how"].replace("fake.clock.freeze()", "``fake.clock.freeze()``")
        verdicts.append(
            f"with the {how}: {', '.join(map(str, v['polls']))} polls in {_common.ms(v['median'], 2)} ms"
            f" ({v['ratio']:.2f}x the floor; {real_ecr / v['median']:.0f}x less than the sleeps alone of"
            " a wait on real ECR)"
        )
    verdict = "; ".join(verdicts)
    return [
        *section("Waiting for a scan"),
        *paragraph(
            f'**What it measures.** ``client.get_waiter("{results["waiter"]}").wait(...)`` on an image',
            f"scan that takes {scan:.0f} s: ``FakeECR(scan_seconds={scan:.0f})``, one repository, one image,",
            "``start_image_scan``, then the wait, timed on a new ``fake.client()``. The waiter polls",
            f"``DescribeImageScanFindings`` every {delay:.0f} s until the scan is ``COMPLETE``, so it",
            f"should poll {polls} times (at {', '.join(f'{k * delay:.0f}' for k in range(polls))} s);",
            "while a fake is active, botocore's waiter sleeps advance the fake's clock instead of",
            "sleeping. Two variants: with the fake's clock running, and frozen by",
            "``fake.clock.freeze()`` (freezegun) before the repository is made. Real time is read with",
            "``freezegun.api.real_perf_counter``, as freezegun replaces ``time.perf_counter`` during a",
            "freeze. The polls are counted in the fake's call log, and the virtual time that passed is",
            "read from the fake's clock. The variants take turns, after a warm-up round;",
            f"figures are medians of {results['runs']} runs each.",
        ),
        *paragraph(
            "**Anchor: botocore's floor.** The same waiter on a plain client whose ``before-send``",
            f"handler answers with the bodies pytest-ecr gave ({polls - 1} times ``IN_PROGRESS``, then",
            "``COMPLETE``), with the waiter's sleeps taken out (for that wait only,",
            "``botocore.waiter.time`` is swapped for a stand-in whose ``sleep`` returns at once).",
            f"For scale, the same wait against real ECR sleeps {polls - 1} times {delay:.0f} s.",
        ),
        *paragraph(
            f"**Target.** {polls} polls in under {_common.ms(results['target_seconds'], 0)} ms of real time.",
        ),
        *list_table(
            ["Wait", "ms", "25th - 75th percentile", "Max ms", "Polls", "Virtual s", "x floor"],
            rows,
            [34, 10, 16, 10, 8, 12, 10],
        ),
        *paragraph(
            f"**Result.** {verdict[:1].upper()}{verdict[1:]}.",
            f"Target {within(all(v['met'] for v in ours))}.",
            f"The floor costs {_common.ms(results['floor_per_poll'])} ms per poll.",
        ),
    ]


def scale_part(results: dict[str, Any]) -> list[str]:
    import scale

    seed, count = results["seed"], results["images"]
    walk_rows = scale.walk_rows(results)
    batch_rows = scale.batch_rows(results)
    verdicts = scale.verdicts(results)
    return [
        *section("A repository of many images"),
        *paragraph(
            f"**What it measures.** ``FakeECR.push_images`` seeds {count} synthetic images (valid",
            "manifests, a unique config blob each, one shared filler layer) into one repository; the",
            "seconds it takes and the process's peak RSS are reported. Then ListImages and",
            "DescribeImages are walked with boto3 paginators (the service's page size, 100): the first",
            "page against the last one (the same call, resumed from the walk's last token), and the",
            "whole walk against a floor. Last, BatchGetImage and BatchDeleteImage of",
            f"{results['batch']} image ids in that repository against the same calls in a repository of",
            f"{results['small_images']} images. Finally a three-rule lifecycle policy over the",
            f"{results['lifecycle']['images']} images left: the first GetLifecyclePolicyPreview after the",
            "preview completes (it plans over every image) and ``FakeECR.run_lifecycle`` (planning, then",
            "expiring all but the newest tenth through BatchDeleteImage).",
        ),
        *paragraph(
            "**Anchors.** The first page for the last one; for a walk, the same client with a",
            "``before-send`` handler answering with the bodies pytest-ecr gave; the small repository",
            "for the batch calls. Seeding and lifecycle evaluation have fixed budgets.",
        ),
        *paragraph(
            f"Seeding: {seed['seconds']:.2f} s, peak RSS {seed['peak_rss_mb']:.0f} MB",
            f"({seed['rss_before_mb']:.0f} MB before seeding). Lifecycle: preview",
            f"{results['lifecycle']['preview_seconds']:.2f} s, run {results['lifecycle']['run_seconds']:.2f} s",
            f"({results['lifecycle']['expired']} images expired).",
        ),
        *list_table(
            ["Walk", "Pages", "First ms", "Last ms", "Last / first", "Walk ms", "Floor ms", "x floor"],
            walk_rows,
            [16, 8, 10, 10, 10, 10, 10, 10],
        ),
        *list_table(
            [
                f"{results['batch']} ids",
                f"{count} images ms",
                f"{results['small_images']} images ms",
                "Ratio",
            ],
            batch_rows,
            [24, 20, 20, 12],
        ),
        *paragraph(
            "**Result.** "
            + "; ".join(f"{what}: {figure} ({within(ok)})" for what, figure, ok in verdicts)
            + ".",
        ),
    ]


def registry_part(results: dict[str, Any]) -> list[str]:
    import registry

    mib = results["bytes"] // registry.MIB
    head = [
        *section("The registry endpoint"),
        *paragraph(
            f"**What it measures.** skopeo pushes one {mib} MiB image (an OCI layout with one",
            "uncompressed layer of incompressible bytes, new bytes every round) into a fresh repository,",
            "then pulls it back into a fresh directory, against pytest-ecr's server mode and against",
            "Debian's ``docker-registry`` (CNCF distribution), in the same run, docker-registry's",
            "rounds first, then pytest-ecr's; throughput is the image's size over the median of",
            f"{results['rounds']} rounds, after one warm-up round each. pytest-ecr's pulls follow its",
            "307 redirect to the blob host, as real ECR's go to S3.",
        ),
        *paragraph(
            "**Anchor.** docker-registry's throughput; the target is at least half of it.",
        ),
    ]
    if "skipped" in results:
        return [
            *head,
            *paragraph(f"**Result.** Not measured here, so the target is not judged: {results['skipped']}."),
        ]
    verdicts = [
        f"{direction} {results[f'{direction}_ratio']:.2f}x ({within(results[f'{direction}_ratio'] >= registry.TARGET)})"
        for direction in ("push", "pull")
    ]
    return [
        *head,
        *list_table(registry.HEADERS, registry.rows(results), [16, 18, 22, 10, 16]),
        *paragraph(
            f"**Result.** Against docker-registry's throughput (target: at least {registry.TARGET:g}x):",
            f"{'; '.join(verdicts)}.",
            f"{results['skopeo version']}; {results['docker-registry version']}.",
        ),
    ]


def small_requests_part(results: dict[str, Any]) -> list[str]:
    import small_requests as bench

    connections = ", ".join(str(n) for n in bench.CONNECTIONS)
    if "distribution" in results:
        manifest = f"{results['docker-registry version']}."
    else:
        manifest = (
            f"Manifest GETs: not compared, so that target is not judged ({results['distribution_skipped']})."
        )
    return [
        *section("Small requests over the server"),
        *paragraph(
            "**What it measures.** Requests per second on keep-alive connections to ``pytest-ecr serve``",
            f"(its own process), on {connections} connections at once: a signed DescribeRepositories of a",
            "registry holding one repository, and a GET of one small OCI manifest, which Debian's",
            "``docker-registry`` serves too in the same run, after pytest-ecr's measurements. The load",
            "generator is a minimal HTTP/1.1",
            "client, one thread per connection, sending the same prepared request over and over and",
            f"checking every status; {results['requests']:,} requests per measurement, the median of",
            f"{results['rounds']} rounds. And the cost of one boto3 DescribeRepositories through the",
            "server against the same call answered in-process, one call at a time.",
        ),
        *paragraph(
            "**Anchors and targets.** Manifest GETs: docker-registry's rate; the target is at least",
            f"{bench.MANIFEST_TARGET:g}x it. API calls: the in-process call; the target is at most",
            f"{bench.API_TARGET:g}x its cost, the two taking turns, one call at a time. Before",
            "TCP_NODELAY, every reply with a body waited on the client's delayed ACK: issue #16 measured",
            "22.7 requests/s per connection then (this benchmark does not measure it).",
        ),
        *list_table(bench.HEADERS, bench.rows(results), [12, 22, 16, 22, 8, 12]),
        *paragraph(f"**Result.** {bench.api_sentence(results)}. {manifest}"),
    ]


def reproduce_part(quick: bool) -> list[str]:
    return [
        *section("Reproducing"),
        *paragraph(
            "From the project's directory, in an environment with pytest-ecr and moto installed",
            "(``pip install -e '.[test]'``):",
        ),
        "::",
        "",
        "    python bench/report.py             # every benchmark below, then rewrites this page",
        "    python bench/report.py --quick     # the short run CI makes",
        f"    python bench/{BENCHMARKS[0]}.py           # one benchmark alone (each takes --quick too)",
        *(f"    python bench/{name}.py" for name in BENCHMARKS[1:]),
        "",
        *paragraph(
            "Absolute times differ from machine to machine; compare the ratios, and expect some",
            "spread between runs on a busy machine.",
            *(
                ["This page was written by a short run: its figures are rougher than a full run's."]
                if quick
                else []
            ),
        ),
    ]


def render(results: dict[str, dict[str, Any]], quick: bool) -> str:
    machine = results["per_call"]["machine"]
    lines = [
        "Performance",
        "===========",
        "",
        ".. This page is written by ``python bench/report.py``; change the benchmarks, not the page.",
        "",
        *paragraph(
            "The scripts in ``bench/`` that this page reports measure pytest-ecr's speed",
            "(``bench/state_writes.py``, what ``serve --state`` costs, is reported in :doc:`server`).",
            "Each compares figures taken in one run, on one machine, with an anchor measured in the same",
            "run: absolute times depend on the machine, ratios much less. Every time is a median of",
            "repeated measurements taken with ``time.perf_counter`` after a warm-up; the variants take",
            "turns so that the machine's noise falls on all of them, except where a section says the",
            "two servers it compares ran one after the other. The figures are printed, never asserted;",
            "CI runs the benchmarks in their short form.",
        ),
        *machine_part(machine, results, quick),
        *per_call_part(results["per_call"]),
        *per_test_part(results["per_test"]),
        *snapshot_part(results["per_test"]),
        *collection_part(results["collection"]),
        *layer_upload_part(results["layer_upload"]),
        *waiter_part(results["waiter"]),
        *scale_part(results["scale"]),
        *registry_part(results["registry"]),
        *small_requests_part(results["small_requests"]),
        *reproduce_part(quick),
    ]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs of every benchmark (CI)")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"the page to write (default: {DEFAULT_OUTPUT})"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pytest-ecr-report-") as tmp:
        results = {name: run_benchmark(name, args.quick, Path(tmp)) for name in BENCHMARKS}
    args.output.write_text(render(results, args.quick), encoding="utf-8")
    print(f"wrote {args.output} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()

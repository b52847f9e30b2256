"""Per-test cost of "a fresh fake, a client, one repository": pytest-ecr against moto.

What a test pays before its first assertion, when each test gets a fresh fake:

* pytest-ecr: ``FakeECR()`` and ``start()``, ``fake.client()``, one ``CreateRepository`` call
  through that client, ``stop()``; what the ``ecr`` + ``ecr_client`` fixtures do for a test.
* moto: ``with mock_aws(): boto3.client("ecr", ...).create_repository(...)``.

Both make a new boto3 client in every test, which costs the same whichever fake answers it. So the
same two are also measured with one client made beforehand and reused by every test: what is left
is the fakes' own share (activation, one call, deactivation).

The two of a comparison take turns, one test each, alternating which goes first, after a warm-up;
each test is timed on its own with ``time.perf_counter``; figures are medians. A fresh boto3
client leaves tens of thousands of objects in reference cycles, which only a full collection of the
garbage collector reclaims, and a full collection comes every few tests; that cost is real but
lands on whichever test triggers it. So, after the warm-up, the process's heap is frozen
(``gc.freeze()``), and after each test a timed ``gc.collect()`` reclaims what that test left; it is
printed apart (in a real session it is paid later, over a larger heap). pytest-ecr's time is also
broken down by phase. Each test is checked to have been answered by the backend it is meant for.

Snapshots (issue #18 item 4) are measured in the same way, four variants taking turns:

* the floor: botocore alone, a fresh client from one shared session (as ``fake.client()`` makes
  them) and one ``CreateRepository`` answered by a canned ``before-send`` handler (the body
  pytest-ecr gives);
* a bare test: the pytest-ecr test above;
* the same test after ``fake.restore(snapshot)`` of a snapshot holding 10,000 images in one
  repository (seeded and taken once, before the runs); the test's call creates another repository,
  so the seeded one is never copied;
* the same with a ``DescribeImages`` (``maxResults=1``) of the seeded repository as its call: the
  first look-up of a repository after a restore copies it (images, tags, blobs), and this test pays
  that copy.

Targets: a restoring test at most 2x a bare test, a bare test at most 1.15x the floor, the restore
itself at most 5 ms.

Run: ``python bench/per_test.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

import _common
import boto3
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.ecr.models import ecr_backends

from pytest_ecr import FakeECR, Snapshot, _hook
from pytest_ecr.sessions import fresh_boto3_session

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOSITORY = "app"
#: per mode: warm-up tests and measured tests, for each variant
SETTINGS = {"normal": (5, 100), "quick": (3, 20)}
PHASES = ("FakeECR() + start()", "fake.client()", "CreateRepository call", "stop()")
FRESH_ECR = "pytest-ecr: FakeECR start, client(), CreateRepository, stop"
FRESH_MOTO = "moto: mock_aws(), boto3.client(), CreateRepository"
REUSED_ECR = "pytest-ecr: FakeECR start, CreateRepository, stop"
REUSED_MOTO = "moto: mock_aws(), CreateRepository"
#: the snapshot's size and its repository
SNAPSHOT_IMAGES = 10_000
SEEDED = "seeded"
FLOOR = "floor: client from the shared session, one canned call"
BARE = "pytest-ecr: bare test (as above)"
RESTORED = "pytest-ecr: restore 10,000 images, then the same"
RESTORED_TOUCH = "pytest-ecr: restore, DescribeImages of the 10,000"
TARGET_RESTORED, TARGET_BARE, TARGET_RESTORE_MS = 2.0, 1.15, 5.0


def _check_ecr(fake: FakeECR, created: Any) -> None:
    _common.check(
        [c.operation for c in fake.calls] == ["CreateRepository"],
        f"pytest-ecr did not answer the call: {fake.calls!r}",
    )
    _common.check(created["repository"]["repositoryName"] == REPOSITORY, f"pytest-ecr: {created}")


def _check_moto(stored: Any, created: Any) -> None:
    _common.check(stored is not None, "moto did not store the repository")
    headers = created["ResponseMetadata"]["HTTPHeaders"]
    # moto's responses carry this header; pytest-ecr's do not.
    _common.check(headers.get("server") == "amazon.com", f"moto did not answer the call ({headers})")


def ecr_fresh() -> list[float]:
    """One test's worth of pytest-ecr; seconds spent in each of :data:`PHASES`."""
    t0 = time.perf_counter()
    fake = FakeECR(ACCOUNT, REGION)
    fake.start()
    t1 = time.perf_counter()
    client = fake.client()
    t2 = time.perf_counter()
    created = client.create_repository(repositoryName=REPOSITORY)
    t3 = time.perf_counter()
    fake.stop()
    t4 = time.perf_counter()
    _check_ecr(fake, created)
    return [t1 - t0, t2 - t1, t3 - t2, t4 - t3]


def moto_fresh() -> float:
    _common.check(not _hook.ACTIVE, "a FakeECR is active: it would answer instead of moto")
    start = time.perf_counter()
    with mock_aws():
        created = boto3.client("ecr", region_name=REGION).create_repository(repositoryName=REPOSITORY)
        stored = ecr_backends[ACCOUNT][REGION].repositories.get(REPOSITORY)  # a dict look-up: ~1 us
    # Timed to the end of the block: moto's reset on exit is part of a test's cost.
    elapsed = time.perf_counter() - start
    _check_moto(stored, created)
    return elapsed


def ecr_reused(client: Any) -> float:
    start = time.perf_counter()
    fake = FakeECR(ACCOUNT, REGION)
    fake.start()
    created = client.create_repository(repositoryName=REPOSITORY)
    fake.stop()
    elapsed = time.perf_counter() - start
    _check_ecr(fake, created)
    return elapsed


def moto_reused(client: Any) -> float:
    _common.check(not _hook.ACTIVE, "a FakeECR is active: it would answer instead of moto")
    start = time.perf_counter()
    with mock_aws():
        created = client.create_repository(repositoryName=REPOSITORY)
        stored = ecr_backends[ACCOUNT][REGION].repositories.get(REPOSITORY)
    elapsed = time.perf_counter() - start
    _check_moto(stored, created)
    return elapsed


class Floor:
    """botocore alone: what a test's client and call cost with nothing behind them."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.answered = 0
        # one session for every test, as the fake's clients share one (pytest_ecr.sessions)
        self.session = fresh_boto3_session()

    def answer(self, request: Any, **_: Any) -> AWSResponse:
        self.answered += 1
        headers: Any = {"Content-Type": "application/x-amz-json-1.1", "Content-Length": str(len(self.body))}
        return AWSResponse(request.url, 200, headers, _common.Body(self.body))

    def test(self) -> float:
        _common.check(not _hook.ACTIVE, "a FakeECR is active: it would answer instead of the floor")
        answered = self.answered
        start = time.perf_counter()
        client = _common.make_client(REGION, self.session)
        client.meta.events.register_first("before-send.ecr", self.answer)
        created = client.create_repository(repositoryName=REPOSITORY)
        elapsed = time.perf_counter() - start
        _common.check(self.answered == answered + 1, "the floor's canned handler did not answer")
        _common.check(created["repository"]["repositoryName"] == REPOSITORY, f"floor: {created}")
        return elapsed


def seeded_snapshot() -> tuple[Snapshot, float, float]:
    """A snapshot of :data:`SNAPSHOT_IMAGES` images in repository :data:`SEEDED`; seconds spent
    seeding and taking it."""
    fake = FakeECR(ACCOUNT, REGION)
    start = time.perf_counter()
    fake.create_repository(SEEDED)
    fake.push_images(SEEDED, SNAPSHOT_IMAGES, tag="v{n}")
    seeded = time.perf_counter()
    snapshot = fake.snapshot()
    taken = time.perf_counter()
    _common.check(snapshot.images == SNAPSHOT_IMAGES, f"the snapshot holds {snapshot.images} images")
    return snapshot, seeded - start, taken - seeded


def pending_restores(count: int) -> dict[str, Any]:
    """``restore()`` alone of a snapshot whose :data:`SNAPSHOT_IMAGES` images were pushed to a
    scan-on-push repository and are all still being scanned: as many pending jobs as images."""
    fake = FakeECR(ACCOUNT, REGION)
    fake.options.scan_seconds = 86400.0
    fake.create_repository(SEEDED, imageScanningConfiguration={"scanOnPush": True})
    fake.push_images(SEEDED, SNAPSHOT_IMAGES, tag="v{n}")
    snapshot = fake.snapshot()
    _common.check(len(snapshot.jobs) == SNAPSHOT_IMAGES, f"{len(snapshot.jobs)} pending jobs")
    target, times = FakeECR(ACCOUNT, REGION), []
    for _ in range(count):
        start = time.perf_counter()
        target.restore(snapshot)
        times.append(time.perf_counter() - start)
    _common.check(len(target.store.agenda) == SNAPSHOT_IMAGES, "the restore lost pending scans")
    return _common.summary(times)


def ecr_restored(snapshot: Snapshot, restores: list[float], touch: bool) -> float:
    """A bare test that restores ``snapshot`` first; its call creates a repository, or (``touch``)
    describes the seeded one. The restore's own time goes to ``restores``."""
    start = time.perf_counter()
    fake = FakeECR(ACCOUNT, REGION)
    fake.start()
    before = time.perf_counter()
    fake.restore(snapshot)
    restored = time.perf_counter()
    client = fake.client()
    answer: Any
    if touch:
        answer = client.describe_images(repositoryName=SEEDED, maxResults=1)
    else:
        answer = client.create_repository(repositoryName=REPOSITORY)
    fake.stop()
    elapsed = time.perf_counter() - start
    restores.append(restored - before)
    if touch:
        _common.check(len(answer["imageDetails"]) == 1 and "nextToken" in answer, f"restored: {answer}")
        _common.check(len(fake.repository(SEEDED).images) == SNAPSHOT_IMAGES, "the restore lost images")
    else:
        _check_ecr(fake, answer)
        _common.check(len(fake.store.registry(ACCOUNT, REGION).repositories) == 2, "the restore lost state")
    return elapsed


def snapshot_costs(warmup: int, count: int) -> dict[str, Any]:
    """The four snapshot variants, taking turns; the restores' own times; seeding and taking."""
    snapshot, seeding, taking = seeded_snapshot()
    body = _canned_create_repository()
    floor = Floor(body)
    restores: list[float] = []
    samples = measure(
        {
            FLOOR: floor.test,
            BARE: lambda: sum(ecr_fresh()),
            RESTORED: lambda: ecr_restored(snapshot, restores, touch=False),
            RESTORED_TOUCH: lambda: ecr_restored(snapshot, [], touch=True),
        },
        warmup,
        count,
    )
    return {
        "samples": samples,
        "restore": _common.summary(restores[warmup:]),
        "restore_pending": pending_restores(count),
        "seeding": seeding,
        "taking": taking,
    }


def _canned_create_repository() -> bytes:
    """The body pytest-ecr answers ``CreateRepository`` with (what the floor returns)."""
    fake = FakeECR(ACCOUNT, REGION)
    with fake:
        fake.client().create_repository(repositoryName=REPOSITORY)
    body: bytes = fake.calls[0].body
    return body


Samples = dict[str, dict[str, list[float]]]


def measure(variants: dict[str, Callable[[], float]], warmup: int, count: int) -> Samples:
    """Per variant: seconds per test, seconds to collect its garbage, objects collected."""
    names = list(variants)
    samples: Samples = {name: {"time": [], "gc": [], "freed": []} for name in names}
    for i in range(warmup + count):
        if i == warmup:
            # From here on a collection visits only what the tests made, not the process's heap.
            gc.collect()
            gc.freeze()
        for name in names[i % len(names) :] + names[: i % len(names)]:
            elapsed = variants[name]()
            # What the test left is reclaimed now, timed apart, so that no test pays for another's.
            start = time.perf_counter()
            objects = gc.collect()
            collected = time.perf_counter() - start
            if i >= warmup:
                samples[name]["time"].append(elapsed)
                samples[name]["gc"].append(collected)
                samples[name]["freed"].append(objects)
    gc.unfreeze()
    return samples


def _with_gc(sample: dict[str, list[float]]) -> list[float]:
    return [t + g for t, g in zip(sample["time"], sample["gc"], strict=True)]


def _stats(sample: dict[str, list[float]]) -> dict[str, Any]:
    return {
        **_common.summary(sample["time"]),
        "gc": _common.median(sample["gc"]),
        "with_gc": _common.median(_with_gc(sample)),
        "freed": int(_common.median(sample["freed"])),
    }


def _ratios(ours: dict[str, list[float]], theirs: dict[str, list[float]]) -> dict[str, float]:
    """How many times pytest-ecr is cheaper than moto (``theirs`` / ``ours``)."""
    return {
        "median": _common.median(theirs["time"]) / _common.median(ours["time"]),
        "paired": _common.median(t / o for t, o in zip(theirs["time"], ours["time"], strict=True)),
        "with_gc": _common.median(_with_gc(theirs)) / _common.median(_with_gc(ours)),
    }


def _paired(ours: dict[str, list[float]], anchor: dict[str, list[float]]) -> float:
    return _common.median(o / a for o, a in zip(ours["time"], anchor["time"], strict=True))


def run(quick: bool = False) -> dict[str, Any]:
    _common.isolate_environment()
    warmup, count = SETTINGS["quick" if quick else "normal"]
    phases: list[list[float]] = []

    def ecr_fresh_total() -> float:
        split = ecr_fresh()
        phases.append(split)
        return sum(split)

    fresh = measure({FRESH_ECR: ecr_fresh_total, FRESH_MOTO: moto_fresh}, warmup, count)
    del phases[:warmup]
    client = _common.make_client(REGION)
    reused = measure(
        {REUSED_ECR: lambda: ecr_reused(client), REUSED_MOTO: lambda: moto_reused(client)}, warmup, count
    )
    snapshots = snapshot_costs(warmup, count)
    snap = {name: _common.median(sample["time"]) for name, sample in snapshots["samples"].items()}
    return {
        "snapshot": {
            "variants": [{"label": name, **_stats(sample)} for name, sample in snapshots["samples"].items()],
            "images": SNAPSHOT_IMAGES,
            "restore": snapshots["restore"],
            "restore_pending": snapshots["restore_pending"],
            "seeding": snapshots["seeding"],
            "taking": snapshots["taking"],
            "restored_to_bare": snap[RESTORED] / snap[BARE],
            "touched_to_bare": snap[RESTORED_TOUCH] / snap[BARE],
            "bare_to_floor": snap[BARE] / snap[FLOOR],
            "paired_restored_to_bare": _paired(snapshots["samples"][RESTORED], snapshots["samples"][BARE]),
            "paired_bare_to_floor": _paired(snapshots["samples"][BARE], snapshots["samples"][FLOOR]),
        },
        "benchmark": "per_test",
        "quick": quick,
        "tests": count,
        "target": 50.0,
        "variants": [{"label": name, **_stats(sample)} for name, sample in (*fresh.items(), *reused.items())],
        "ratio": _ratios(fresh[FRESH_ECR], fresh[FRESH_MOTO]),
        "ratio_reused_client": _ratios(reused[REUSED_ECR], reused[REUSED_MOTO]),
        "phases": [
            {"phase": name, **_common.summary([p[i] for p in phases])} for i, name in enumerate(PHASES)
        ],
    }


def render(results: dict[str, Any]) -> str:
    def row(variant: dict[str, Any], anchor: dict[str, Any]) -> list[str]:
        return [
            variant["label"],
            _common.ms(variant["median"], 2),
            f"{_common.ms(variant['p25'], 2)}-{_common.ms(variant['p75'], 2)}",
            _common.ms(variant["gc"], 2),
            str(variant["freed"]),
            _common.ms(variant["with_gc"], 2),
            f"{variant['median'] / anchor['median']:.2f}x",
        ]

    fresh_ecr, fresh_moto, reused_ecr, reused_moto = results["variants"]
    headers = [
        "per test",
        "ms",
        "p25-p75",
        "full gc after, ms",
        "objects freed",
        "ms with gc",
        "x pytest-ecr",
    ]
    ratio, reused = results["ratio"], results["ratio_reused_client"]
    verdict = "met" if ratio["median"] >= results["target"] else "NOT met"
    phase_rows = [
        [p["phase"], _common.ms(p["median"], 3), f"{p['median'] / fresh_ecr['median'] * 100:.0f}%"]
        for p in results["phases"]
    ]
    return "\n".join(
        [
            f"Per-test cost: {results['tests']} tests of each variant"
            f"{' (--quick)' if results['quick'] else ''}; x pytest-ecr = ratio of medians",
            "",
            _common.table(headers, [row(fresh_ecr, fresh_ecr), row(fresh_moto, fresh_ecr)]),
            "",
            f"moto / pytest-ecr: {ratio['median']:.2f}x (paired {ratio['paired']:.2f}x, with gc "
            f"{ratio['with_gc']:.2f}x); "
            f"target: pytest-ecr at least {results['target']:.0f}x cheaper -- {verdict}",
            "",
            "The same with one client made beforehand and reused by every test (the fakes' own share):",
            _common.table(headers, [row(reused_ecr, reused_ecr), row(reused_moto, reused_ecr)]),
            "",
            f"moto / pytest-ecr: {reused['median']:.2f}x (paired {reused['paired']:.2f}x, with gc "
            f"{reused['with_gc']:.2f}x)",
            "",
            "pytest-ecr with a fresh client, by phase (medians; they need not add up to the total's median)",
            _common.table(["phase", "median ms", "of total"], phase_rows),
            "",
            *render_snapshot(results["snapshot"]),
        ]
    )


def _verdict(value: float, target: float) -> str:
    return f"target at most {target:g}{'x' if target < 3 else ' ms'} -- {'met' if value <= target else 'NOT met'}"


def render_snapshot(snap: dict[str, Any]) -> list[str]:
    floor, bare, restored, touched = snap["variants"]
    rows = [
        [
            v["label"],
            _common.ms(v["median"], 2),
            f"{_common.ms(v['p25'], 2)}-{_common.ms(v['p75'], 2)}",
            _common.ms(v["gc"], 2),
            _common.ms(v["with_gc"], 2),
            f"{v['median'] / bare['median']:.2f}x",
            f"{v['median'] / floor['median']:.2f}x",
        ]
        for v in (floor, bare, restored, touched)
    ]
    restore_ms = snap["restore"]["median"] * 1000
    return [
        f"Snapshots: a snapshot of {snap['images']:,} images in one repository (seeded in "
        f"{snap['seeding']:.2f} s, taken in {snap['taking'] * 1000:.0f} ms, once), restored by each test",
        _common.table(
            ["per test", "ms", "p25-p75", "full gc after, ms", "ms with gc", "x bare", "x floor"], rows
        ),
        "",
        f"restore() alone: median {restore_ms:.3f} ms (p25-p75 {snap['restore']['p25'] * 1000:.3f}-"
        f"{snap['restore']['p75'] * 1000:.3f}); {_verdict(restore_ms, TARGET_RESTORE_MS)}",
        f"restore() alone of {snap['images']:,} images all being scanned ({snap['images']:,} pending jobs): "
        f"median {snap['restore_pending']['median'] * 1000:.3f} ms; "
        f"{_verdict(snap['restore_pending']['median'] * 1000, TARGET_RESTORE_MS)}",
        f"restoring test / bare test: {snap['restored_to_bare']:.2f}x (paired "
        f"{snap['paired_restored_to_bare']:.2f}x); {_verdict(snap['restored_to_bare'], TARGET_RESTORED)}",
        f"bare test / floor: {snap['bare_to_floor']:.2f}x (paired {snap['paired_bare_to_floor']:.2f}x); "
        f"{_verdict(snap['bare_to_floor'], TARGET_BARE)}",
        f"a test that reads the restored 10,000-image repository pays its copy: "
        f"{snap['touched_to_bare']:.2f}x a bare test (no target)",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()

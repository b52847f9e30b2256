"""boto3's ``image_scan_complete`` waiter on a 30-second scan: how many polls, how much real time.

The waiter polls ``DescribeImageScanFindings`` every 5 s (botocore's waiter model) until the scan is
``COMPLETE``. Against real ECR, a scan that takes 30 s keeps it waiting 30 s: 7 polls, at 0, 5, ...,
30 s, with six sleeps of 5 s between them. While a fake is active, botocore's waiter sleeps advance
the fake's clock instead, so the waiter should make the same 7 polls and return at once. One run:

    fake = FakeECR(scan_seconds=30).start()
    fake.create_repository("app"); fake.push_image("app", "v1")
    client = fake.client()
    client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    client.get_waiter("image_scan_complete").wait(...)   # timed
    fake.stop()

in two variants: with the fake's clock running (it follows ``time.time()``), and frozen with
``fake.clock.freeze()`` (freezegun) before the repository is made. The anchor, measured in the same
run, is botocore's floor: the same waiter on a plain client whose ``before-send`` handler answers
with canned bodies (those pytest-ecr gave: six times ``IN_PROGRESS``, then ``COMPLETE``), and with the
waiter's sleeps taken out (``botocore.waiter.time`` swapped, for the floor's wait only, for a stand-in
whose ``sleep`` returns at once: even ``time.sleep(0)`` is a system call that costs tens of
microseconds on a busy machine). Each timing covers
``client.get_waiter(...).wait(...)`` on a new client.

freezegun replaces ``time.perf_counter`` (and every module attribute bound to it) while a freeze is
active, so real time is read with the original function freezegun keeps,
``freezegun.api.real_perf_counter``. The variants take turns, in a rotating order, after a warm-up
round, with a full garbage collection before each timing. Figures are medians over runs, and ratios
to the floor's median. Every run is checked: the number of polls the fake logged, the status the
waiter stopped on, and that the floor's handler answered every poll.

Run: ``python bench/waiter.py`` (``--quick`` for a short run; ``--json PATH`` also writes the
figures as JSON).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import _common
import boto3
import botocore.waiter
from botocore.awsrequest import AWSResponse
from freezegun import api as freezegun_api

from pytest_ecr import FakeECR, _hook

REGION = "us-east-1"
REPOSITORY = "app"
IMAGE = {"imageTag": "v1"}
WAITER = "image_scan_complete"
SCAN_SECONDS = 30.0
CONTENT_TYPE = "application/x-amz-json-1.1"
#: per mode: timed runs of each variant, after one warm-up round
SETTINGS = {"normal": 30, "quick": 5}
TARGET_SECONDS = 0.1
UNFROZEN = "pytest-ecr, clock running"
FROZEN = "pytest-ecr, clock frozen (fake.clock.freeze())"
FLOOR = "floor: botocore, canned answers, no sleeps"


def real_clock() -> float:
    """``time.perf_counter`` as it is outside any freeze (looked up on freezegun's module, which
    freezegun never patches)."""
    return float(freezegun_api.real_perf_counter())


def poll_delay() -> float:
    """The waiter's delay between polls, from botocore's waiter model (5 s)."""
    client = boto3.session.Session().client(
        "ecr", region_name=REGION, aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x"
    )
    return float(client.get_waiter(WAITER).config.delay)


class Run:
    """One timed wait: its real seconds, the polls made, the virtual seconds that passed."""

    def __init__(self, seconds: float, polls: int, virtual: float) -> None:
        self.seconds, self.polls, self.virtual = seconds, polls, virtual


def fake_run(frozen: bool) -> tuple[Run, list[bytes]]:
    """Wait for a scan on a fresh FakeECR; the run and the response bodies of the polls."""
    _common.check(not _hook.ACTIVE, "another FakeECR is active")
    fake = FakeECR(scan_seconds=SCAN_SECONDS).start()
    try:
        if frozen:
            fake.clock.freeze()
        fake.create_repository(REPOSITORY)
        fake.push_image(REPOSITORY, IMAGE["imageTag"])
        client = fake.client()
        client.start_image_scan(repositoryName=REPOSITORY, imageId=IMAGE)
        gc.collect()
        virtual_start = fake.clock.now()
        start = real_clock()
        client.get_waiter(WAITER).wait(repositoryName=REPOSITORY, imageId=IMAGE)
        elapsed = real_clock() - start
        virtual = fake.clock.now() - virtual_start
        _common.check(fake.clock.frozen == frozen, f"the fake's clock is {'not ' * frozen}frozen")
        polls = fake.calls.filter("DescribeImageScanFindings")
        _common.check(bool(polls), "the waiter made no DescribeImageScanFindings call to the fake")
        status = polls[-1].response.get("imageScanStatus", {}).get("status")
        _common.check(status == "COMPLETE", f"the waiter stopped on status {status}")
        _common.check(not fake.problems(), f"pytest-ecr could not answer faithfully: {fake.problems()[:1]}")
        return Run(elapsed, len(polls), virtual), [call.body for call in polls]
    finally:
        fake.stop()


class _NoSleep:
    """Stands in for the ``time`` module inside ``botocore.waiter``: ``sleep`` does nothing."""

    def sleep(self, seconds: float) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def no_waiter_sleeps() -> Iterator[None]:
    saved = botocore.waiter.time
    botocore.waiter.time = _NoSleep()  # type: ignore[assignment]
    try:
        yield
    finally:
        botocore.waiter.time = saved


class Floor:
    """The same waiter on a plain client, answered by a canned ``before-send`` handler."""

    def __init__(self, bodies: Sequence[bytes]) -> None:
        self.bodies = list(bodies)
        self.answered = 0
        # One session for every client: it keeps botocore's data loaded, as pytest-ecr's clients
        # share one loader, so that each new client finds the waiter model already parsed.
        self.session = boto3.session.Session()

    def answer(self, request: Any, **_: Any) -> AWSResponse:
        body = self.bodies[min(self.answered, len(self.bodies) - 1)]
        self.answered += 1
        headers: Any = {"Content-Type": CONTENT_TYPE, "Content-Length": str(len(body))}
        return AWSResponse(request.url, 200, headers, _common.Body(body))

    def run(self) -> Run:
        _common.check(not _hook.ACTIVE, "a FakeECR is active during the floor's run: it would answer")
        client = self.session.client(
            "ecr",
            region_name=REGION,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="bench-secret-access-key",
        )
        # First in the chain of this client; pytest-ecr's dispatcher (inactive here) may come before
        # it, but it answers nothing while no FakeECR is active.
        client.meta.events.register_first("before-send.ecr.DescribeImageScanFindings", self.answer)
        self.answered = 0
        gc.collect()
        with no_waiter_sleeps():
            start = real_clock()
            client.get_waiter(WAITER).wait(repositoryName=REPOSITORY, imageId=IMAGE)
            elapsed = real_clock() - start
        _common.check(
            self.answered == len(self.bodies),
            f"floor: the canned handler answered {self.answered} polls, not {len(self.bodies)}",
        )
        return Run(elapsed, self.answered, 0.0)


def run(quick: bool = False) -> dict[str, Any]:
    _common.isolate_environment()
    runs = SETTINGS["quick" if quick else "normal"]
    delay = poll_delay()
    expected_polls = int(SCAN_SECONDS // delay) + 1
    _, bodies = fake_run(frozen=False)  # the floor answers with the bodies pytest-ecr gave
    floor = Floor(bodies)
    variants: list[tuple[str, Callable[[], Run]]] = [
        (FLOOR, floor.run),
        (UNFROZEN, lambda: fake_run(frozen=False)[0]),
        (FROZEN, lambda: fake_run(frozen=True)[0]),
    ]
    # samples[label][i] and samples[FLOOR][i] come from the same round: their ratio is paired
    samples: dict[str, list[Run]] = {label: [] for label, _ in variants}
    for round_ in range(runs + 1):  # round 0 warms up
        shift = round_ % len(variants)
        for label, timed in [*variants[shift:], *variants[:shift]]:
            sample = timed()
            if round_:
                samples[label].append(sample)
    floor_median = _common.median(r.seconds for r in samples[FLOOR])
    rows = []
    for label, _ in variants:
        mine = samples[label]
        stats = _common.summary([r.seconds for r in mine])
        stats.update(
            label=label,
            max=max(r.seconds for r in mine),
            ratio=stats["median"] / floor_median,
            paired_ratio=_common.median(
                r.seconds / f.seconds for r, f in zip(mine, samples[FLOOR], strict=True)
            ),
            polls=sorted({r.polls for r in mine}),
            virtual=[min(r.virtual for r in mine), max(r.virtual for r in mine)],
        )
        if label != FLOOR:
            stats["how"] = label.split(", ", 1)[1]  # "clock running", "clock frozen (...)"
            stats["met"] = stats["polls"] == [expected_polls] and stats["median"] < TARGET_SECONDS
        rows.append(stats)
    return {
        "benchmark": "waiter",
        "quick": quick,
        "waiter": WAITER,
        "runs": runs,
        "scan_seconds": SCAN_SECONDS,
        "delay": delay,
        "expected_polls": expected_polls,
        # what the same wait costs against real ECR: the sleeps alone, before any round trip
        "real_ecr_seconds": (expected_polls - 1) * delay,
        "target_seconds": TARGET_SECONDS,
        "floor_per_poll": floor_median / expected_polls,
        "variants": rows,
    }


def render(results: dict[str, Any]) -> str:
    headers = ["", "ms", "p25-p75", "max ms", "polls", "virtual s", "x floor", "paired x floor"]
    rows = [
        [
            v["label"],
            _common.ms(v["median"], 2),
            f"{_common.ms(v['p25'], 2)}-{_common.ms(v['p75'], 2)}",
            _common.ms(v["max"], 2),
            "/".join(map(str, v["polls"])),
            "-" if v["label"] == FLOOR else "-".join(f"{x:.3f}" for x in sorted(set(v["virtual"]))),
            f"{v['ratio']:.2f}x",
            f"{v['paired_ratio']:.2f}x",
        ]
        for v in results["variants"]
    ]
    real_ecr = results["real_ecr_seconds"]
    polls = str(results["expected_polls"])
    rows.append(
        [
            "real ECR (the sleeps alone)",
            f"{real_ecr * 1000:.0f}",
            "-",
            "-",
            polls,
            f"{real_ecr:.3f}",
            "-",
            "-",
        ]
    )
    lines = [
        f"Waiter {results['waiter']} on a {results['scan_seconds']:.0f} s "
        f"scan (a poll every {results['delay']:.0f} s), median over {results['runs']} runs"
        f"{' (--quick)' if results['quick'] else ''}; x floor = ratio to the floor's median",
        "",
        _common.table(headers, rows),
        "",
        f"floor per poll: {_common.ms(results['floor_per_poll'])} ms",
    ]
    for v in results["variants"]:
        if v["label"] == FLOOR:
            continue
        lines.append(
            f"target: {results['expected_polls']} polls in under {_common.ms(results['target_seconds'], 0)} ms "
            f"of real time -- {v['label']}: {'/'.join(map(str, v['polls']))} polls, "
            f"{_common.ms(v['median'], 2)} ms ({real_ecr / v['median']:.0f}x faster than real ECR), "
            f"{'met' if v['met'] else 'NOT met'}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()

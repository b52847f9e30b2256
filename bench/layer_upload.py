"""Pushing a layer through boto3 to pytest-ecr, against hashing and copying it in-process.

One upload is what AWS's own clients do: InitiateLayerUpload, UploadLayerPart in 10 MiB parts,
CompleteLayerUpload, through a real boto3 client that pytest-ecr answers. Three figures per run:

* the anchor: ``hashlib.sha256`` over the layer plus one copy of it (``bytes(bytearray(data))``),
  the least work any fake that verifies and keeps a layer must do;
* the floor: the same boto3 calls answered by a canned ``before-send`` handler, i.e. what botocore
  itself costs (base64 and JSON encoding, and SigV4, which hashes every request body);
* pytest-ecr: the upload answered by a ``FakeECR`` (a fresh one for every upload).

The three take turns, in a rotating order, after a warm-up round, with a full garbage collection
before each timed upload; each upload is checked to have been answered by the backend it is meant
for. Times are medians over runs; ratios are to the anchor's median. Memory is measured in a separate
run under ``tracemalloc`` and given in multiples of the layer size, above what the test data itself
takes: the peak over the whole upload (this includes botocore's per-request buffers), the peak
while CompleteLayerUpload joins the parts, and what stays held afterwards (the stored blob, and the
call log, which keeps each part's size, not its bytes). Figures only, nothing is asserted.

Run: ``python bench/layer_upload.py`` (``--quick``: a 20 MiB layer, fewer runs; ``--json PATH``
also writes the figures as JSON).
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import _common
from botocore.awsrequest import AWSResponse

from pytest_ecr import FakeECR, _hook

ACCOUNT = "123456789012"
REGION = "us-east-1"
MIB = 1024 * 1024
#: mode -> (layer size, timed runs after one warm-up)
SETTINGS = {"normal": (100 * MIB, 7), "quick": (20 * MIB, 3)}
CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_RATIO = 2.0
TARGET_COPIES = 2
#: what the fake may hold beyond whole copies of the layer (dicts, the call log), in layers
BOOKKEEPING = 0.01


def upload(
    client: Any, repository: str, data: bytes, digest: str, before_complete: Callable[[], None] = lambda: None
) -> str:
    """One layer upload as AWS's containerd resolver makes it (the client knows the digest from the
    layer's descriptor); returns the digest the service computed."""
    started = client.initiate_layer_upload(repositoryName=repository)
    upload_id, part_size = started["uploadId"], started["partSize"]
    for begin in range(0, len(data), part_size):
        chunk = data[begin : begin + part_size]
        client.upload_layer_part(
            repositoryName=repository,
            uploadId=upload_id,
            partFirstByte=begin,
            partLastByte=begin + len(chunk) - 1,
            layerPartBlob=chunk,
        )
        del chunk
    before_complete()
    done = client.complete_layer_upload(repositoryName=repository, uploadId=upload_id, layerDigests=[digest])
    return str(done["layerDigest"])


def anchor(data: bytes) -> float:
    gc.collect()
    start = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    copy = bytes(bytearray(data))
    elapsed = time.perf_counter() - start
    del copy
    return elapsed


class Floor:
    """botocore's own cost: the same calls, answered with canned bodies before they are sent."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.answered = 0
        self.client = _common.make_client(REGION)
        # First in the chain of this client; pytest-ecr's dispatcher (inactive here) may come before
        # it, but it answers nothing while no FakeECR is active.
        self.client.meta.events.register_first("before-send.ecr", self.answer)

    def answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        self.answered += 1
        body = self.bodies[event_name.rsplit(".", 1)[-1]]
        headers: Any = {"Content-Type": CONTENT_TYPE, "Content-Length": str(len(body))}
        return AWSResponse(request.url, 200, headers, _common.Body(body))

    def timed_upload(self, data: bytes, digest: str, part_size: int) -> float:
        _common.check(not _hook.ACTIVE, "a FakeECR is active during the floor's upload: it would answer")
        self.answered = 0
        gc.collect()
        start = time.perf_counter()
        upload(self.client, "bench", data, digest)
        elapsed = time.perf_counter() - start
        calls = 2 + -(-len(data) // part_size)  # initiate, the parts, complete
        _common.check(
            self.answered == calls, f"floor: the canned handler answered {self.answered} of {calls} calls"
        )
        return elapsed


def timed_fake_upload(client: Any, data: bytes, digest: str) -> float:
    """One upload to a fresh FakeECR (the blob goes with it)."""
    _common.check(not _hook.ACTIVE, "another FakeECR is active")
    with FakeECR(ACCOUNT, REGION) as fake:
        fake.create_repository("bench")
        gc.collect()
        start = time.perf_counter()
        got = upload(client, "bench", data, digest)
        elapsed = time.perf_counter() - start
        _common.check(got == digest, f"pytest-ecr stored {got}, expected {digest}")
        operations = [c.operation for c in fake.calls]
        _common.check(
            operations[0] == "InitiateLayerUpload" and operations[-1] == "CompleteLayerUpload",
            f"pytest-ecr did not answer the upload: {operations}",
        )
        _common.check(not fake.problems(), f"pytest-ecr could not answer faithfully: {fake.problems()[:1]}")
    return elapsed


def canned_responses(client: Any, data: bytes, digest: str) -> tuple[dict[str, bytes], int]:
    """The bodies pytest-ecr answers an upload with, for the floor; and the part size it asks for."""
    with FakeECR(ACCOUNT, REGION) as fake:
        fake.create_repository("bench")
        upload(client, "bench", data, digest)
        _common.check(not fake.problems(), f"pytest-ecr could not answer faithfully: {fake.problems()[:1]}")
        bodies = {call.operation: call.body for call in fake.calls}
        part_size = int(fake.calls.filter("InitiateLayerUpload")[0].response["partSize"])
    return bodies, part_size


def memory(size: int) -> dict[str, float]:
    """Bytes above the test data, in multiples of the layer size."""
    gc.collect()
    tracemalloc.start()
    data = os.urandom(size)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with FakeECR(ACCOUNT, REGION) as fake:
        client = _common.make_client(REGION)
        fake.create_repository("bench")
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        marks: dict[str, int] = {}

        def before_complete() -> None:
            marks["upload_peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()

        upload(client, "bench", data, digest, before_complete)
        held_with_log, complete_peak = tracemalloc.get_traced_memory()
        fake.calls.clear()
        gc.collect()
        held_by_store = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "peak_whole_upload": (max(marks["upload_peak"], complete_peak) - baseline) / size,
        "peak_complete": (complete_peak - baseline) / size,
        "held_after": (held_with_log - baseline) / size,
        "held_by_store": (held_by_store - baseline) / size,
    }


def measure(size: int, runs: int) -> tuple[dict[str, list[float]], int]:
    """Seconds per upload of a ``size``-byte layer, per variant (warm-up excluded); the part size."""
    data = os.urandom(size)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client = _common.make_client(REGION)  # pytest-ecr's: its dispatcher answers it while a FakeECR is active
    bodies, part_size = canned_responses(client, data, digest)  # also the first warm-up
    floor = Floor(bodies)  # the floor answers with exactly the bodies pytest-ecr gave
    variants: list[tuple[str, Callable[[], float]]] = [
        ("anchor", lambda: anchor(data)),
        ("floor", lambda: floor.timed_upload(data, digest, part_size)),
        ("pytest-ecr", lambda: timed_fake_upload(client, data, digest)),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _ in variants}
    for round_ in range(runs + 1):  # round 0 warms up
        shift = round_ % len(variants)
        for name, timed in [*variants[shift:], *variants[:shift]]:
            elapsed = timed()
            if round_:
                samples[name].append(elapsed)
    return samples, part_size


def run(quick: bool = False) -> dict[str, Any]:
    _common.isolate_environment()
    size, runs = SETTINGS["quick" if quick else "normal"]
    samples, part_size = measure(size, runs)
    times = {name: _common.summary(values) for name, values in samples.items()}
    mem = memory(size)
    anchor_median = times["anchor"]["median"]
    ratios = {name: stats["median"] / anchor_median for name, stats in times.items()}
    # Layer-sized buffers the fake holds at its worst, joining the parts or after the upload; what
    # goes beyond whole layers is bookkeeping (dicts, the call log), allowed up to 1 % of a layer.
    fake_copies = max(mem["peak_complete"], mem["held_after"])
    return {
        "benchmark": "layer_upload",
        "quick": quick,
        "layer_bytes": size,
        "part_bytes": part_size,
        "parts": -(-size // part_size),
        "runs": runs,
        "target_ratio": TARGET_RATIO,
        "target_copies": TARGET_COPIES,
        "times": times,
        "ratios": ratios,
        # pytest-ecr's own share: its time beyond botocore's floor, in anchors
        "own_ratio": (times["pytest-ecr"]["median"] - times["floor"]["median"]) / anchor_median,
        "memory": mem,
        "fake_copies": fake_copies,
        "met": {
            "time": ratios["pytest-ecr"] <= TARGET_RATIO,
            "memory": fake_copies <= TARGET_COPIES + BOOKKEEPING,
        },
    }


def copies(multiple: float, size: int) -> str:
    """``2.001x (2 layers + 116 KiB)``: a multiple of the layer size, as whole layers and the rest."""
    whole = int(multiple)
    rest = (multiple - whole) * size
    rest_text = f"{rest / 1024:.0f} KiB" if rest < MIB else f"{rest / MIB:.1f} MiB"
    return f"{multiple:.3f}x ({whole} layer{'s' if whole != 1 else ''} + {rest_text})"


def render(results: dict[str, Any]) -> str:
    times, mem, ratios, met = results["times"], results["memory"], results["ratios"], results["met"]
    rows = [
        [
            name,
            _common.ms(times[key]["median"], 1),
            f"{_common.ms(times[key]['p25'], 1)}-{_common.ms(times[key]['p75'], 1)}",
            f"{ratios[key]:.2f}x",
        ]
        for name, key in (
            ("anchor: sha256 + one copy", "anchor"),
            ("floor: botocore, canned answers", "floor"),
            ("pytest-ecr", "pytest-ecr"),
        )
    ]
    size = results["layer_bytes"]
    layer_mib = size // MIB
    lines = [
        f"Layer upload: {layer_mib} MiB in {results['parts']} parts of {results['part_bytes'] // MIB} MiB "
        f"through boto3, median over {results['runs']} runs{' (--quick)' if results['quick'] else ''}",
        "",
        _common.table(["", "ms", "p25-p75", "x anchor"], rows),
        "",
        f"pytest-ecr beyond botocore's own cost: {results['own_ratio']:.2f}x anchor",
        f"target: pytest-ecr within {results['target_ratio']}x the anchor -- {ratios['pytest-ecr']:.2f}x, "
        f"{'within' if met['time'] else 'NOT within'} target"
        + (
            f" (botocore's floor alone is {ratios['floor']:.2f}x)"
            if ratios["floor"] > results["target_ratio"]
            else ""
        ),
        "",
        f"Memory above the test data, in layers of {layer_mib} MiB:",
        f"  peak over the whole upload (with botocore's request buffers): {copies(mem['peak_whole_upload'], size)}",
        f"  peak while CompleteLayerUpload joins the parts:              {copies(mem['peak_complete'], size)}",
        f"  held after the upload (the blob, and the call log):          {copies(mem['held_after'], size)}",
        f"  held after the upload, call log cleared (the blob):          {copies(mem['held_by_store'], size)}",
        f"target: the fake never holds more than {results['target_copies']} copies -- "
        f"{'met' if met['memory'] else 'NOT met'} (its worst, joining or after the upload: "
        f"{copies(results['fake_copies'], size)})",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()

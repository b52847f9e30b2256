"""Pushing a layer through boto3 to pytest-ecr, against hashing and copying it in-process.

One upload is what AWS's own clients do: InitiateLayerUpload, UploadLayerPart in 10 MiB parts,
CompleteLayerUpload, through a real boto3 client that pytest-ecr answers. Three figures per run:

* the anchor: ``hashlib.sha256`` over the layer plus one copy of it (``bytes(bytearray(data))``),
  the least work any fake that verifies and keeps a layer must do;
* the floor: the same boto3 calls answered by a canned ``before-send`` handler, i.e. what botocore
  itself costs (base64 and JSON encoding, and SigV4, which hashes every request body);
* pytest-ecr: the upload answered by a ``FakeECR``.

Times are medians over runs; ratios are to the anchor's median. Memory is measured in a separate
run under ``tracemalloc`` and given in multiples of the layer size, above what the test data itself
takes: the peak over the whole upload (this includes botocore's per-request buffers, about four
part-sized strings, which outweigh a small layer), the peak while CompleteLayerUpload joins the
parts, and what stays held afterwards (the stored blob, plus the parts the call log keeps, which are
the very objects the upload session held, not copies). Figures only, nothing is asserted.

Run: ``python bench/layer_upload.py`` (``--quick``: a 20 MiB layer, fewer runs).
"""

from __future__ import annotations

import gc
import hashlib
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import _common
import boto3
from botocore.awsrequest import AWSResponse

from pytest_ecr import FakeECR

ACCOUNT = "123456789012"
REGION = "us-east-1"
MIB = 1024 * 1024
#: mode -> (layer size, timed runs after one warm-up)
SETTINGS = {"normal": (100 * MIB, 5), "quick": (20 * MIB, 3)}
CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_RATIO = 2.0
TARGET_COPIES = 2


def make_client() -> Any:
    return boto3.client(
        "ecr",
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="bench-secret-access-key",
    )


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
    start = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    copy = bytes(bytearray(data))
    elapsed = time.perf_counter() - start
    del copy
    return elapsed


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Floor:
    """botocore's own cost: the same calls, answered with canned bodies before they are sent."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.client = make_client()
        self.client.meta.events.register_first("before-send.ecr", self.answer)

    def answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        body = self.bodies[event_name.rsplit(".", 1)[-1]]
        headers: Any = {"Content-Type": CONTENT_TYPE, "Content-Length": str(len(body))}
        return AWSResponse(request.url, 200, headers, _Body(body))


def timed_fake_upload(fake: FakeECR, client: Any, data: bytes, digest: str) -> float:
    fake.create_repository("bench")
    start = time.perf_counter()
    got = upload(client, "bench", data, digest)
    elapsed = time.perf_counter() - start
    if got != digest:
        raise RuntimeError(f"pytest-ecr stored {got}, expected {digest}")
    if fake.problems():
        raise RuntimeError(f"pytest-ecr could not answer faithfully: {fake.problems()[:1]}")
    fake.store.registry(ACCOUNT, REGION).repositories.clear()  # frees the blob for the next run
    fake.calls.clear()
    return elapsed


def timed_floor_upload(floor: Floor, data: bytes, digest: str) -> float:
    start = time.perf_counter()
    upload(floor.client, "bench", data, digest)
    return time.perf_counter() - start


def memory(size: int) -> dict[str, float]:
    """Bytes above the test data, in multiples of the layer size."""
    gc.collect()
    tracemalloc.start()
    data = os.urandom(size)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with FakeECR(ACCOUNT, REGION) as fake:
        client = make_client()
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


def run(quick: bool = False) -> dict[str, Any]:
    _common.isolate_environment()
    size, runs = SETTINGS["quick" if quick else "normal"]
    data = os.urandom(size)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()

    fake = FakeECR(ACCOUNT, REGION).start()
    try:
        client = make_client()
        fake.create_repository("bench")
        upload(client, "bench", data, digest)
        # The floor answers with exactly the bodies pytest-ecr gave.
        bodies = {call.operation: call.body for call in fake.calls}
        fake.store.registry(ACCOUNT, REGION).repositories.clear()
        fake.calls.clear()
        samples: dict[str, list[float]] = {"anchor": [], "floor": [], "pytest-ecr": []}
        floor: Floor | None = None
        for round_ in range(runs + 1):  # round 0 warms up
            fake_time = timed_fake_upload(fake, client, data, digest)
            fake.stop()
            floor = floor or Floor(bodies)
            floor_time = timed_floor_upload(floor, data, digest)
            fake.start()
            anchor_time = anchor(data)
            if round_:
                samples["pytest-ecr"].append(fake_time)
                samples["floor"].append(floor_time)
                samples["anchor"].append(anchor_time)
    finally:
        fake.stop()
    del data
    return {
        "benchmark": "layer_upload",
        "quick": quick,
        "layer_bytes": size,
        "part_bytes": 10 * MIB,
        "runs": runs,
        "target_ratio": TARGET_RATIO,
        "target_copies": TARGET_COPIES,
        "times": {name: _common.summary(values) for name, values in samples.items()},
        "memory": memory(size),
    }


def copies(multiple: float, size: int) -> str:
    """``2.001x (2 layers + 116 KiB)``: a multiple of the layer size, as whole layers and the rest."""
    whole = int(multiple)
    rest = (multiple - whole) * size
    rest_text = f"{rest / 1024:.0f} KiB" if rest < MIB else f"{rest / MIB:.1f} MiB"
    return f"{multiple:.3f}x ({whole} layer{'s' if whole != 1 else ''} + {rest_text})"


def render(results: dict[str, Any]) -> str:
    times, mem = results["times"], results["memory"]
    anchor_median = times["anchor"]["median"]
    rows = [
        [
            name,
            _common.ms(times[key]["median"], 1),
            f"{_common.ms(times[key]['p25'], 1)}-{_common.ms(times[key]['p75'], 1)}",
            _common.ratio(times[key]["median"], anchor_median),
        ]
        for name, key in (
            ("anchor: sha256 + one copy", "anchor"),
            ("floor: botocore, canned answers", "floor"),
            ("pytest-ecr", "pytest-ecr"),
        )
    ]
    ratio = times["pytest-ecr"]["median"] / anchor_median
    own = (times["pytest-ecr"]["median"] - times["floor"]["median"]) / anchor_median
    size = results["layer_bytes"]
    layer_mib = size // MIB
    # Whole layer-sized buffers the fake keeps; what is left over is bookkeeping (dicts, the call log).
    fake_copies = int(max(mem["peak_complete"], mem["held_after"]))
    lines = [
        f"Layer upload: {layer_mib} MiB in {results['part_bytes'] // MIB} MiB parts through boto3, "
        f"median over {results['runs']} runs{' (--quick)' if results['quick'] else ''}",
        "",
        _common.table(["", "ms", "p25-p75", "x anchor"], rows),
        "",
        f"pytest-ecr beyond botocore's own cost: {own:.2f}x anchor",
        f"target: pytest-ecr within {results['target_ratio']}x the anchor -- {ratio:.2f}x, "
        f"{'within' if ratio <= results['target_ratio'] else 'NOT within'} target",
        "",
        f"Memory above the test data, in layers of {layer_mib} MiB:",
        f"  peak over the whole upload (with botocore's request buffers): {copies(mem['peak_whole_upload'], size)}",
        f"  peak while CompleteLayerUpload joins the parts:              {copies(mem['peak_complete'], size)}",
        f"  held after the upload (blob + the call log's parts):         {copies(mem['held_after'], size)}",
        f"  held after the upload, call log cleared (the blob):          {copies(mem['held_by_store'], size)}",
        f"target: the fake never holds more than {TARGET_COPIES} copies -- "
        f"{'met' if fake_copies <= TARGET_COPIES else 'NOT met'} (peak while joining and held after: "
        f"{fake_copies} copies)",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = _common.parse_args(__doc__.splitlines()[0], argv)
    results = run(args.quick)
    results["machine"] = _common.machine()
    print(render(results))
    _common.write_json(args.json, results)


if __name__ == "__main__":
    sys.exit(main())

"""What ``serve --state`` costs a request: the same requests with and without a state file.

Two servers in this process, one plain (:class:`EcrServer`, the anchor) and one that saves the
state after every request that changed it (:class:`PersistentServer` on a file in a temporary
directory: encode, compare, and when changed write a temporary file, fsync, rename, fsync the
directory). A boto3 client on each makes the same requests, taking turns:

* a mutating request, ``PutImageTagMutability`` flipping a repository's setting (a write each
  time), and
* a read, ``DescribeRepositories`` (encoded and compared, never written),

with the store holding 0, 100 and 1,000 images (synthetic, seeded with ``push_images``), since
the whole state is encoded after each request. Figures are medians of the per-request times,
and the ratio to the plain server in the same round.

Run: ``python bench/state_writes.py`` (``--quick`` for a short run; ``--json PATH`` also writes
the figures as JSON).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import _common

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer
from pytest_ecr.server.persistent import PersistentServer
from pytest_ecr.server.state import StateFile

SIZES = (0, 100, 1000)
#: per mode: requests of each kind per server and size
SETTINGS = {"normal": 200, "quick": 30}


def fake(images: int) -> FakeECR:
    ecr = FakeECR()
    ecr.create_repository("bench")
    if images:
        ecr.push_images("bench", images)
    return ecr


def run(quick: bool) -> dict[str, Any]:
    _common.isolate_environment()
    count = SETTINGS["quick" if quick else "normal"]
    results: dict[str, Any] = {"requests": count, "sizes": {}}
    with tempfile.TemporaryDirectory() as directory:
        for size in SIZES:
            plain_fake, kept_fake = fake(size), fake(size)
            state = StateFile(kept_fake, Path(directory) / f"state-{size}.json")
            with EcrServer(plain_fake) as plain, PersistentServer(kept_fake, state) as kept:
                clients = {"plain": plain.client(), "state": kept.client()}  # real HTTP, not in-process
                times: dict[str, dict[str, list[float]]] = {k: {"write": [], "read": []} for k in clients}
                for n in range(count + 5):  # five warm-up rounds
                    setting = "IMMUTABLE" if n % 2 else "MUTABLE"
                    for name, ecr_client in clients.items():
                        started = time.perf_counter()
                        ecr_client.put_image_tag_mutability(
                            repositoryName="bench", imageTagMutability=setting
                        )
                        wrote = time.perf_counter() - started
                        started = time.perf_counter()
                        ecr_client.describe_repositories()
                        read = time.perf_counter() - started
                        if n >= 5:
                            times[name]["write"].append(wrote)
                            times[name]["read"].append(read)
                writes_before = state.writes
                clients["state"].describe_repositories()
                _common.check(state.writes == writes_before, "a read request rewrote the state file")
                _common.check(state.writes >= count, "the state file was not written after each change")
                file_size = state.path.stat().st_size
            results["sizes"][str(size)] = {
                "file_bytes": file_size,
                **{
                    f"{name}_{kind}": _common.median(v)
                    for name, kinds in times.items()
                    for kind, v in kinds.items()
                },
            }
    return results


def render(results: dict[str, Any]) -> str:
    rows = []
    for size, figures in results["sizes"].items():
        for kind in ("write", "read"):
            plain, state = figures[f"plain_{kind}"], figures[f"state_{kind}"]
            rows.append(
                [
                    size,
                    str(figures["file_bytes"]),
                    "PutImageTagMutability" if kind == "write" else "DescribeRepositories",
                    _common.ms(plain),
                    _common.ms(state),
                    _common.ms(state - plain),
                    _common.ratio(state, plain),
                ]
            )
    headers = ["images", "file bytes", "request", "plain ms", "--state ms", "cost ms", "ratio"]
    return f"median per request, {results['requests']} requests each\n" + _common.table(headers, rows)


if __name__ == "__main__":
    _common.main(__doc__, run, render)

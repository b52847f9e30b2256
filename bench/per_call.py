"""Per-call cost of a boto3 ECR call answered by pytest-ecr, by moto, and by nothing but botocore.

Three backends answer the same boto3 ECR client calls, in one process:

* the floor: a ``before-send`` handler on the client that returns a canned response (status 200,
  the JSON body pytest-ecr gives for the same call). What remains is botocore's own cost:
  serializing, signing, the event chain, parsing. No in-process fake can be cheaper.
* pytest-ecr: a ``FakeECR`` is active; its dispatcher answers.
* moto: ``mock_aws`` is active and no ``FakeECR`` is, so pytest-ecr's dispatcher does nothing and
  moto answers.

Two workloads: ``DescribeRepositories`` (one repository), and ``PutImage`` of a new manifest whose
blobs already exist followed by ``BatchGetImage`` of it (one pair). Each round gives every backend
a fresh state (one repository holding one image) and times a batch of calls with
``time.perf_counter``; the backends take turns, in a rotating order, so that the machine's noise
falls on all of them. The first round is a warm-up. Figures are medians over rounds, and ratios to
the floor. Every batch is checked to have been answered by the backend it is meant for.

Run: ``python bench/per_call.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import _common
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.ecr.models import ecr_backends

# Whatever the import order, pytest-ecr's dispatcher reaches every botocore session made after this
# import (the clients below are all made later); _hook.ACTIVE tells whether a FakeECR is active.
from pytest_ecr import FakeECR, _hook

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOSITORY = "bench"
IMAGE_SIZE = 4096
CONTENT_TYPE = "application/x-amz-json-1.1"
CANNED_REQUEST_ID = "7f0c3c2e-0000-4000-8000-000000000000"
#: per mode: rounds, DescribeRepositories calls per round, PutImage+BatchGetImage pairs per round
SETTINGS = {"normal": (25, 200, 100), "quick": (3, 200, 100)}

Workload = Callable[[Any, int, Sequence[str], str], Any]


def derived_manifests(base: str, count: int) -> list[str]:
    """``count`` new manifests with the blobs of ``base``: same layers, one annotation each."""
    doc = json.loads(base)
    out = []
    for i in range(count):
        doc["annotations"] = {"n": str(i)}
        out.append(json.dumps(doc, indent=3))
    return out


# -- workloads --------------------------------------------------------------------------------------


def describe(client: Any, count: int, manifests: Sequence[str], media_type: str) -> Any:
    last = None
    for _ in range(count):
        last = client.describe_repositories()
    return last


def put_get(client: Any, count: int, manifests: Sequence[str], media_type: str) -> Any:
    last = None
    for i in range(count):
        put = client.put_image(
            repositoryName=REPOSITORY,
            imageManifest=manifests[i],
            imageManifestMediaType=media_type,
            imageTag=f"t{i}",
        )
        last = client.batch_get_image(
            repositoryName=REPOSITORY, imageIds=[{"imageDigest": put["image"]["imageId"]["imageDigest"]}]
        )
    return last


#: name, workload, botocore operations per iteration, label of one iteration
WORKLOADS: tuple[tuple[str, Workload, int, str], ...] = (
    ("DescribeRepositories", describe, 1, "ms/call"),
    ("PutImage + BatchGetImage", put_get, 2, "ms/pair"),
)


# -- backends ---------------------------------------------------------------------------------------


class Backend(Protocol):
    label: str
    client: Any

    def begin(self, count: int) -> list[str]:
        """Activate with a fresh state; return ``count`` manifests to PutImage."""

    def end(self, operations: int, last: Any) -> None:
        """Deactivate; check that all ``operations`` were answered by this backend."""


class Floor:
    """A canned ``before-send`` answer: what botocore costs with no fake behind it."""

    label = "floor (canned before-send)"

    def __init__(self, canned: dict[str, bytes], base_manifest: str) -> None:
        self.canned = canned
        self.base_manifest = base_manifest
        self.answered = 0
        self.client = _common.make_client(REGION)
        # First in the chain of this client; pytest-ecr's dispatcher (inactive here) may come before
        # it, as REGISTER_FIRST builtins do, but it answers nothing while no FakeECR is active.
        self.client.meta.events.register_first("before-send.ecr", self.answer)

    def answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        self.answered += 1
        body = self.canned[event_name.rsplit(".", 1)[-1]]
        headers: Any = {
            "Content-Type": CONTENT_TYPE,
            "Content-Length": str(len(body)),
            "x-amzn-RequestId": CANNED_REQUEST_ID,
        }
        return AWSResponse(request.url, 200, headers, _common.Body(body))

    def begin(self, count: int) -> list[str]:
        _common.check(not _hook.ACTIVE, "a FakeECR is active during the floor's round")
        self.answered = 0
        return derived_manifests(self.base_manifest, count)

    def end(self, operations: int, last: Any) -> None:
        _common.check(
            self.answered == operations,
            f"floor: the canned handler answered {self.answered} of {operations} calls",
        )
        request_id = last["ResponseMetadata"].get("RequestId")
        _common.check(
            request_id == CANNED_REQUEST_ID, f"floor: the response came from elsewhere ({request_id})"
        )


class PytestECR:
    label = "pytest-ecr"

    def __init__(self) -> None:
        self.client = _common.make_client(REGION)
        self.fake: FakeECR | None = None
        self.calls_before = 0

    def begin(self, count: int) -> list[str]:
        _common.check(not _hook.ACTIVE, "another FakeECR is active")
        self.fake = FakeECR(ACCOUNT, REGION).start()
        self.fake.create_repository(REPOSITORY)
        image = self.fake.push_image(REPOSITORY, ["base"], size=IMAGE_SIZE)
        self.calls_before = len(self.fake.calls)
        return derived_manifests(image.manifest, count)

    def end(self, operations: int, last: Any) -> None:
        assert self.fake is not None
        fake, self.fake = self.fake, None
        fake.stop()
        answered = len(fake.calls) - self.calls_before
        _common.check(answered == operations, f"pytest-ecr logged {answered} of {operations} calls")
        problems = fake.problems()
        _common.check(not problems, f"pytest-ecr could not answer faithfully: {problems[:1]}")
        _common.check(not last.get("failures"), f"pytest-ecr: unexpected failures {last.get('failures')}")


class Moto:
    label = "moto mock_aws"

    def __init__(self, base_manifest: str, media_type: str) -> None:
        self.base_manifest = base_manifest
        self.media_type = media_type
        self.client = _common.make_client(REGION)
        self.mock: Any = None
        self.images_before = 0

    def _repository(self) -> Any:
        return ecr_backends[ACCOUNT][REGION].repositories[REPOSITORY]

    def begin(self, count: int) -> list[str]:
        _common.check(not _hook.ACTIVE, "a FakeECR is active during moto's round: pytest-ecr would answer")
        self.mock = mock_aws()
        self.mock.start()  # resets moto's state
        self.client.create_repository(repositoryName=REPOSITORY)
        self.client.put_image(
            repositoryName=REPOSITORY,
            imageManifest=self.base_manifest,
            imageManifestMediaType=self.media_type,
            imageTag="base",
        )
        self.images_before = len(self._repository().images)
        return derived_manifests(self.base_manifest, count)

    def end(self, operations: int, last: Any) -> None:
        try:
            headers = last["ResponseMetadata"]["HTTPHeaders"]
            # moto's responses carry this header; pytest-ecr's and the floor's do not.
            _common.check(headers.get("server") == "amazon.com", f"moto: not answered by moto ({headers})")
            repo = self._repository()
            if "images" in last:
                added = len(repo.images) - self.images_before
                _common.check(added == operations // 2, f"moto stored {added} of {operations // 2} images")
                _common.check(not last.get("failures"), f"moto: unexpected failures {last.get('failures')}")
            else:
                arns = [r["repositoryArn"] for r in last["repositories"]]
                _common.check(arns == [repo.arn], f"moto: unexpected repositories {arns}")
        finally:
            self.mock.stop()
            self.mock = None


# -- measurement ------------------------------------------------------------------------------------


def canned_responses() -> tuple[dict[str, bytes], str, str]:
    """The bodies pytest-ecr answers the workloads with, to serve as the floor's canned answers."""
    with FakeECR(ACCOUNT, REGION) as fake:
        fake.create_repository(REPOSITORY)
        image = fake.push_image(REPOSITORY, ["base"], size=IMAGE_SIZE)
        client = _common.make_client(REGION)
        manifests = derived_manifests(image.manifest, 1)
        describe(client, 1, manifests, image.media_type)
        put_get(client, 1, manifests, image.media_type)
        bodies = {call.operation: call.body for call in fake.calls}
        _common.check(not fake.problems(), f"pytest-ecr could not answer faithfully: {fake.problems()}")
    return bodies, image.manifest, image.media_type


def measure(
    backends: Sequence[Backend], workload: Workload, operations: int, rounds: int, count: int, media_type: str
) -> dict[str, list[float]]:
    """Seconds per iteration of ``workload``, one sample per round and backend (warm-up excluded)."""
    samples: dict[str, list[float]] = {b.label: [] for b in backends}
    for round_ in range(rounds + 1):
        shift = round_ % len(backends)
        for backend in [*backends[shift:], *backends[:shift]]:
            manifests = backend.begin(count if workload is put_get else 0)
            gc.collect()  # no batch pays for the garbage of another
            start = time.perf_counter()
            last = workload(backend.client, count, manifests, media_type)
            elapsed = time.perf_counter() - start
            backend.end(count * operations, last)
            if round_:  # round 0 warms up every backend
                samples[backend.label].append(elapsed / count)
    return samples


def run(quick: bool = False) -> dict[str, Any]:
    _common.isolate_environment()
    rounds, describes, pairs = SETTINGS["quick" if quick else "normal"]
    canned, base_manifest, media_type = canned_responses()
    floor = Floor(canned, base_manifest)
    backends: list[Backend] = [floor, PytestECR(), Moto(base_manifest, media_type)]
    results: dict[str, Any] = {
        "benchmark": "per_call",
        "quick": quick,
        "rounds": rounds,
        "target": 1.3,
        "workloads": [],
    }
    for name, workload, operations, unit in WORKLOADS:
        count = describes if workload is describe else pairs
        samples = measure(backends, workload, operations, rounds, count, media_type)
        floor_samples = samples[floor.label]
        rows = []
        for backend in backends:
            mine = samples[backend.label]
            stats = _common.summary(mine)
            stats["label"] = backend.label
            stats["ratio"] = stats["median"] / _common.median(floor_samples)
            stats["paired_ratio"] = _common.median(m / f for m, f in zip(mine, floor_samples, strict=True))
            rows.append(stats)
        results["workloads"].append({"name": name, "unit": unit, "per_round": count, "backends": rows})
    return results


def render(results: dict[str, Any]) -> str:
    lines = [
        f"Per-call cost: median over {results['rounds']} rounds"
        f"{' (--quick)' if results['quick'] else ''}; x floor = ratio to the floor's median"
    ]
    for workload in results["workloads"]:
        headers = [
            workload["name"],
            workload["unit"],
            "p25-p75",
            "x floor",
            "paired x floor",
        ]
        rows = [
            [
                b["label"],
                _common.ms(b["median"]),
                f"{_common.ms(b['p25'])}-{_common.ms(b['p75'])}",
                f"{b['ratio']:.2f}x",
                f"{b['paired_ratio']:.2f}x",
            ]
            for b in workload["backends"]
        ]
        lines += ["", f"{workload['per_round']} iterations per round", _common.table(headers, rows)]
    lines.append("")
    for workload in results["workloads"]:
        ours = next(b for b in workload["backends"] if b["label"] == PytestECR.label)
        verdict = "within" if ours["ratio"] <= results["target"] else "NOT within"
        lines.append(
            f"target: pytest-ecr within {results['target']}x the floor -- {workload['name']}: "
            f"{ours['ratio']:.2f}x, {verdict} target"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()

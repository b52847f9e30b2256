"""Scale: a repository of 100,000 images stays fast (seeding, paginated walks, batch calls).

Three measurements, each against an anchor taken in the same run:

* seeding: ``FakeECR.push_images`` of 100,000 synthetic images (real manifests, a unique config
  blob each, one shared filler layer) into one repository; seconds and the process's peak RSS
  (``ru_maxrss``), against fixed budgets (3 s, 300 MB) since there is no other anchor;
* paginated walks: ListImages and DescribeImages with boto3 paginators (the service's page size,
  100) over the whole repository. The cost of the last page against the first page (the same call,
  resumed from the walk's last token), and the whole walk against the floor: the same calls
  answered by a canned ``before-send`` handler returning the bodies pytest-ecr gave;
* BatchGetImage and BatchDeleteImage of 100 image ids in the large repository against the same
  calls in a repository of 1,000 images: they should cost O(ids), not O(repository);
* lifecycle evaluation of a three-rule policy over the large repository, against a fixed budget
  (1 s): the first GetLifecyclePolicyPreview after a preview completes (it plans over every
  image), then ``FakeECR.run_lifecycle`` (the scheduled evaluation: planning, then expiring all but
  the newest 10 % of the images through BatchDeleteImage).

Figures are medians over repetitions; nothing is asserted. ``--quick`` seeds 10,000 images.

Run: ``python bench/scale.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import _common
from botocore.awsrequest import AWSResponse

from pytest_ecr import FakeECR, _hook

ACCOUNT = "123456789012"
REGION = "us-east-1"
LARGE = "large"
SMALL = "small"
IMAGE_SIZE = 4096
BATCH = 100
CONTENT_TYPE = "application/x-amz-json-1.1"
CANNED_REQUEST_ID = "7f0c3c2e-0000-4000-8000-000000000000"
#: per mode: images in the large repository, in the small one, page repetitions, walk rounds,
#: batch rounds
SETTINGS = {"normal": (100_000, 1_000, 15, 3, 10), "quick": (10_000, 1_000, 5, 1, 5)}
TARGETS = {
    "seed_seconds": 3.0,
    "seed_rss_mb": 300.0,
    "last_vs_first": 1.5,
    "walk_vs_floor": 1.5,
    "batch": 1.5,
    "lifecycle_seconds": 1.0,
}
#: tagged images match no rule here, but rule 1 still has to look at every image
LIFECYCLE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "keep the last 50 releases",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["release"],
                "countType": "imageCountMoreThan",
                "countNumber": 50,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "keep the newest tenth of untagged images",
            "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 0},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 3,
            "description": "anything older than two weeks",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        },
    ]
}
WALKS = (("ListImages", "list_images", "imageIds"), ("DescribeImages", "describe_images", "imageDetails"))


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    start = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - start


class Canned:
    """A ``before-send`` handler that answers with recorded bodies, in order."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[bytes] = []
        self.answered = 0
        client.meta.events.register_first("before-send.ecr", self.answer)

    def answer(self, request: Any, **_: Any) -> AWSResponse:
        body = self.bodies[self.answered]
        self.answered += 1
        headers: Any = {
            "Content-Type": CONTENT_TYPE,
            "Content-Length": str(len(body)),
            "x-amzn-RequestId": CANNED_REQUEST_ID,
        }
        return AWSResponse(request.url, 200, headers, _common.Body(body))


def walk(client: Any, method: str, field: str) -> tuple[int, int, str | None]:
    """Pages, items and the last page's token of a whole paginated walk of the large repository."""
    pages = items = 0
    last_token = None
    token = None
    for result in client.get_paginator(method).paginate(repositoryName=LARGE):
        pages += 1
        items += len(result[field])
        last_token = token
        token = result.get("nextToken")
    return pages, items, last_token


def seed(fake: FakeECR, count: int) -> dict[str, Any]:
    gc.collect()
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    fake.push_images(LARGE, count, size=IMAGE_SIZE)
    seconds = time.perf_counter() - start
    return {"images": count, "seconds": seconds, "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb()}


def walks(fake: FakeECR, client: Any, count: int, repeats: int, rounds: int) -> list[dict[str, Any]]:
    out = []
    for name, method, field in WALKS:
        call = getattr(client, method)
        first_calls = len(fake.calls)
        pages, items, last_token = walk(client, method, field)
        _common.check(items == count, f"{name}: the walk saw {items} of {count} images")
        bodies = [c.body for c in list(fake.calls)[first_calls:]]  # CallLog takes no slice
        _common.check(len(bodies) == pages, f"{name}: pytest-ecr logged {len(bodies)} of {pages} calls")
        first = [timed(call, repositoryName=LARGE) for _ in range(repeats + 1)][1:]
        last = [timed(call, repositoryName=LARGE, nextToken=last_token) for _ in range(repeats + 1)][1:]
        whole = []
        for _ in range(rounds):
            gc.collect()
            whole.append(timed(walk, client, method, field))
        out.append(
            {
                "name": name,
                "pages": pages,
                "bodies": bodies,
                "first_page": _common.summary(first),
                "last_page": _common.summary(last),
                "walk": _common.summary(whole),
            }
        )
    return out


def floor_walks(results: list[dict[str, Any]], count: int, rounds: int) -> None:
    """The same walks answered by recorded bodies (no FakeECR active)."""
    _common.check(not _hook.ACTIVE, "a FakeECR is active during the floor's walks")
    client = _common.make_client(REGION)
    canned = Canned(client)
    for entry in results:
        name, method, field = next(w for w in WALKS if w[0] == entry["name"])
        canned.bodies = entry.pop("bodies")
        samples = []
        for _ in range(rounds + 1):
            canned.answered = 0
            gc.collect()
            start = time.perf_counter()
            pages, items, _ = walk(client, method, field)
            samples.append(time.perf_counter() - start)
            _common.check(items == count and canned.answered == pages, f"floor: {name} walk went wrong")
        entry["floor"] = _common.summary(samples[1:])
        entry["walk_vs_floor"] = entry["walk"]["median"] / entry["floor"]["median"]
        entry["last_vs_first"] = entry["last_page"]["median"] / entry["first_page"]["median"]


def batches(fake: FakeECR, client: Any, rounds: int) -> list[dict[str, Any]]:
    """BatchGetImage / BatchDeleteImage of 100 ids, in the large and the small repository."""
    digests = {name: [img.digest for img in fake.repository(name).images.values()] for name in (LARGE, SMALL)}
    samples: dict[tuple[str, str], list[float]] = {}
    for round_ in range(rounds + 1):
        for name in (LARGE, SMALL):
            # from the middle of the repository, distinct ids every round (deleted ones are gone)
            middle = len(digests[name]) // 2 - (rounds + 1) * BATCH // 2
            ids = [{"imageDigest": d} for d in digests[name][middle + round_ * BATCH :][:BATCH]]
            got = timed(client.batch_get_image, repositoryName=name, imageIds=ids)
            deleted = timed(client.batch_delete_image, repositoryName=name, imageIds=ids)
            if round_:  # round 0 warms up
                samples.setdefault(("BatchGetImage", name), []).append(got)
                samples.setdefault(("BatchDeleteImage", name), []).append(deleted)
    out = []
    for operation in ("BatchGetImage", "BatchDeleteImage"):
        large = _common.summary(samples[(operation, LARGE)])
        small = _common.summary(samples[(operation, SMALL)])
        out.append(
            {"name": operation, "large": large, "small": small, "ratio": large["median"] / small["median"]}
        )
    return out


def lifecycle(fake: FakeECR, client: Any) -> dict[str, Any]:
    """Preview and run of LIFECYCLE_POLICY over the large repository (run last: it empties it)."""
    import copy
    import json

    count = len(fake.repository(LARGE).images)  # what the batch deletions left
    keep = count // 10
    policy = copy.deepcopy(LIFECYCLE_POLICY)
    policy["rules"][1]["selection"]["countNumber"] = keep
    text = json.dumps(policy)
    client.put_lifecycle_policy(repositoryName=LARGE, lifecyclePolicyText=text)
    fake.options.lifecycle_preview_seconds = 0
    client.start_lifecycle_policy_preview(repositoryName=LARGE)
    gc.collect()
    start = time.perf_counter()
    preview = client.get_lifecycle_policy_preview(repositoryName=LARGE)
    preview_seconds = time.perf_counter() - start
    expiring = preview["summary"]["expiringImageTotalCount"]
    _common.check(expiring == count - keep, f"lifecycle preview: {expiring} of {count - keep} expiring")
    gc.collect()
    start = time.perf_counter()
    actions = fake.run_lifecycle(LARGE)
    run_seconds = time.perf_counter() - start
    left = len(fake.repository(LARGE).images)
    _common.check(len(actions) == count - keep and left == keep, f"lifecycle run left {left} of {keep}")
    return {
        "images": count,
        "preview_seconds": preview_seconds,
        "run_seconds": run_seconds,
        "expired": len(actions),
        "kept": keep,
    }


def run(quick: bool = False) -> dict[str, Any]:
    _common.isolate_environment()
    count, small_count, repeats, rounds, batch_rounds = SETTINGS["quick" if quick else "normal"]
    client = _common.make_client(REGION)
    with FakeECR(ACCOUNT, REGION) as fake:
        fake.create_repository(LARGE)
        fake.create_repository(SMALL)
        seeding = seed(fake, count)
        fake.push_images(SMALL, small_count, size=IMAGE_SIZE)
        walked = walks(fake, client, count, repeats, rounds)
        batched = batches(fake, client, batch_rounds)
        expired = lifecycle(fake, client)
        _common.check(not fake.problems(), f"pytest-ecr could not answer faithfully: {fake.problems()[:1]}")
    floor_walks(walked, count, rounds)
    return {
        "benchmark": "scale",
        "quick": quick,
        "images": count,
        "small_images": small_count,
        "batch": BATCH,
        "targets": TARGETS,
        "seed": seeding,
        "walks": walked,
        "batches": batched,
        "lifecycle": expired,
    }


def verdicts(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(what, figure, within target) for every target."""
    t = results["targets"]
    seed_ = results["seed"]
    out = [
        (
            f"seed {results['images']} images < {t['seed_seconds']:.0f} s",
            f"{seed_['seconds']:.2f} s",
            seed_["seconds"] < t["seed_seconds"],
        ),
        (
            f"peak RSS < {t['seed_rss_mb']:.0f} MB",
            f"{seed_['peak_rss_mb']:.0f} MB",
            seed_["peak_rss_mb"] < t["seed_rss_mb"],
        ),
    ]
    for w in results["walks"]:
        out.append(
            (
                f"{w['name']}: last page within {t['last_vs_first']}x the first",
                f"{w['last_vs_first']:.2f}x",
                w["last_vs_first"] <= t["last_vs_first"],
            )
        )
        out.append(
            (
                f"{w['name']}: whole walk within {t['walk_vs_floor']}x the floor",
                f"{w['walk_vs_floor']:.2f}x",
                w["walk_vs_floor"] <= t["walk_vs_floor"],
            )
        )
    life = results["lifecycle"]
    for what, seconds in (("preview", life["preview_seconds"]), ("run", life["run_seconds"])):
        out.append(
            (
                f"lifecycle {what} over {life['images']} images < {t['lifecycle_seconds']:.0f} s",
                f"{seconds:.2f} s",
                seconds < t["lifecycle_seconds"],
            )
        )
    for b in results["batches"]:
        out.append(
            (
                f"{b['name']} of {results['batch']} ids: large within {t['batch']}x small",
                f"{b['ratio']:.2f}x",
                b["ratio"] <= t["batch"],
            )
        )
    return out


def walk_rows(results: dict[str, Any]) -> list[list[str]]:
    """Table rows of the paginated walks (this script's output and the performance page)."""
    return [
        [
            w["name"],
            str(w["pages"]),
            _common.ms(w["first_page"]["median"]),
            _common.ms(w["last_page"]["median"]),
            f"{w['last_vs_first']:.2f}x",
            _common.ms(w["walk"]["median"], 1),
            _common.ms(w["floor"]["median"], 1),
            f"{w['walk_vs_floor']:.2f}x",
        ]
        for w in results["walks"]
    ]


def batch_rows(results: dict[str, Any]) -> list[list[str]]:
    """Table rows of the 100-id batches, large repository against small."""
    return [
        [b["name"], _common.ms(b["large"]["median"]), _common.ms(b["small"]["median"]), f"{b['ratio']:.2f}x"]
        for b in results["batches"]
    ]


def render(results: dict[str, Any]) -> str:
    seed_ = results["seed"]
    lines = [
        f"Scale: one repository of {results['images']} images{' (--quick)' if results['quick'] else ''}",
        "",
        f"seeding (FakeECR.push_images): {seed_['seconds']:.2f} s; peak RSS {seed_['peak_rss_mb']:.0f} MB "
        f"({seed_['rss_before_mb']:.0f} MB before seeding)",
        "",
    ]
    rows = walk_rows(results)
    headers = [
        "paginated walk",
        "pages",
        "first ms",
        "last ms",
        "last/first",
        "walk ms",
        "floor ms",
        "x floor",
    ]
    lines += [_common.table(headers, rows), ""]
    rows = batch_rows(results)
    headers = [
        f"{results['batch']} ids per call",
        f"{results['images']} images ms",
        f"{results['small_images']} images ms",
        "ratio",
    ]
    lines += [_common.table(headers, rows), ""]
    life = results["lifecycle"]
    lines += [
        f"lifecycle (3 rules, {life['images']} images): first GetLifecyclePolicyPreview {life['preview_seconds']:.2f} s; "
        f"run_lifecycle {life['run_seconds']:.2f} s ({life['expired']} expired, {life['kept']} kept)",
        "",
    ]
    for what, figure, ok in verdicts(results):
        lines.append(f"target: {what} -- {figure}, {'within' if ok else 'NOT within'} target")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()

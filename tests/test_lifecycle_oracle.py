"""Lifecycle evaluation judged by an independent reference (tests/lifecycle_oracle.py).

Each example builds a repository through the public API along a timeline of virtual days (pushes,
pulls with BatchGetImage, archivals with UpdateImageStorageClass), puts a generated policy, and
checks the preview (Start/GetLifecyclePolicyPreview) and the evaluation's effect (DescribeImages)
against what the reference, written from the user guide, says. Nothing of pytest_ecr's lifecycle
modules is used to compute an expected value.

The clock is frozen and every age at the evaluation is a whole number of days plus a fraction, so
no age is within hours of a rule's limit, and an off-by-a-day limit shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from helpers import archive_expiry_rule
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lifecycle_oracle import DAY, RefImage, evaluate

from pytest_ecr import FakeECR

REPO = "app"
HORIZON = 200  # days of timeline before the evaluation (archive rules need 90 and more)
RECENT = 12  # most events fall in the last RECENT days
#: Tag stems: an image's tags are stem + its index, so tags are unique across images, and the
#: prefixes below tell "every prefix matches" from "some prefix matches" ("ab3" has prefixes a and ab).
STEMS = ["a", "b", "ab", "rc", "x"]
PREFIXES = ["a", "b", "ab", "r", "x"]
PATTERNS = ["a*", "*b*", "b?", "*1", "x*", "rc*", "*"]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _count(draw: st.DrawFn, kinds: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(kinds))
    if kind == "imageCountMoreThan":
        return {"countType": kind, "countNumber": draw(st.integers(1, 4))}
    # Small limits, against the recent days most images are pushed in: ages fall on both sides.
    return {"countType": kind, "countUnit": "days", "countNumber": draw(st.integers(1, RECENT))}


def _action(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"type": "transition", "targetStorageClass": "archive"}
    return {"type": "expire"}


STANDARD_COUNTS = ["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled"]


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    used_lists: set[tuple[str, tuple[str, ...]]] = set()
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(["tagPrefixList", "tagPatternList"]))
        values = tuple(
            draw(
                st.lists(
                    st.sampled_from(PREFIXES if key == "tagPrefixList" else PATTERNS),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        )
        if (key, tuple(sorted(values))) in used_lists:
            continue
        used_lists.add((key, tuple(sorted(values))))
        selection = {"tagStatus": "tagged", key: list(values), **_count(draw, STANDARD_COUNTS)}
        rules.append({"selection": selection, "action": _action(draw)})
    if draw(st.booleans()):
        rules.append(
            {"selection": {"tagStatus": "untagged", **_count(draw, STANDARD_COUNTS)}, "action": _action(draw)}
        )
    rules = list(draw(st.permutations(rules)))
    if draw(st.booleans()):
        rules.append(archive_expiry_rule(draw(st.integers(90, 150))))
    if draw(st.booleans()):
        # "A rule with a tagStatus value of any must have the highest value for rulePriority"
        rules.append(
            {"selection": {"tagStatus": "any", **_count(draw, STANDARD_COUNTS)}, "action": _action(draw)}
        )
    assume(rules)
    priority = 0
    for rule in rules:
        priority += draw(st.integers(1, 3))
        rule["rulePriority"] = priority
    return {"rules": rules}


def _day(first: int) -> st.SearchStrategy[int]:
    recent = st.integers(max(first, HORIZON - RECENT), HORIZON - 1)
    return recent | st.integers(first, HORIZON - 1)


@st.composite
def timelines(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Images with the day (from the timeline's start) of their push, last pull and archival."""
    days = draw(st.lists(_day(0), min_size=1, max_size=8, unique=True))
    out = []
    for index, day in enumerate(sorted(days)):
        stems = draw(st.lists(st.sampled_from(STEMS), max_size=3, unique=True))
        pulled = draw(st.none() | _day(day))
        archived = draw(st.none() | _day(day))
        if pulled is not None and archived is not None and pulled >= archived:
            pulled = None  # an archived image cannot be pulled
        out.append(
            {
                "tags": [f"{stem}{index}" for stem in stems],
                "push": day + 0.5,
                "pull": None if pulled is None else pulled + 0.5 + (0.25 if pulled == day else 0),
                "archive": None if archived is None else archived + 0.75,
            }
        )
    return out


def build(fake: FakeECR, client: Any, timeline: list[dict[str, Any]]) -> tuple[list[RefImage], float]:
    """Play ``timeline`` on ``fake``; returns the reference's view of the images, and now."""
    fake.clock.freeze("2026-01-01T00:00:00Z")
    fake.create_repository(REPO)
    start = fake.clock.now()
    events: list[tuple[float, int, str]] = []
    for index, image in enumerate(timeline):
        events.append((image["push"], index, "push"))
        if image["pull"] is not None:
            events.append((image["pull"], index, "pull"))
        if image["archive"] is not None:
            events.append((image["archive"], index, "archive"))
    refs: dict[int, RefImage] = {}
    for day, index, kind in sorted(events):
        fake.clock.advance(start + day * DAY - fake.clock.now())
        now = fake.clock.now()
        if kind == "push":
            digest = fake.push_image(REPO, timeline[index]["tags"]).digest
            refs[index] = RefImage(digest, list(timeline[index]["tags"]), now)
        elif kind == "pull":
            got = client.batch_get_image(repositoryName=REPO, imageIds=[{"imageDigest": refs[index].digest}])
            assert got["failures"] == []
            refs[index].pulled = now
        else:
            client.update_image_storage_class(
                repositoryName=REPO, imageId={"imageDigest": refs[index].digest}, targetStorageClass="ARCHIVE"
            )
            refs[index].archived, refs[index].archived_at = True, now
    fake.clock.advance(start + HORIZON * DAY - fake.clock.now())
    return list(refs.values()), fake.clock.now()


def described(client: Any) -> dict[str, str]:
    pages = client.get_paginator("describe_images").paginate(
        repositoryName=REPO, filter={"imageStatus": "ANY"}
    )
    return {d["imageDigest"]: d["imageStatus"] for page in pages for d in page["imageDetails"]}


def put_policy(client: Any, policy: dict[str, Any]) -> str:
    text = json.dumps(policy)
    try:
        client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=text)
    except ClientError as err:
        # A generated policy ECR refuses (e.g. two rules whose tag lists differ only in order):
        # not this test's subject (test_lifecycle_policy.py covers validation).
        if err.response["Error"]["Code"] != "InvalidParameterException":
            raise
        assume(False)
    return text


@pytest.fixture(scope="module")
def fakes() -> Any:
    def make() -> tuple[FakeECR, Any]:
        fake = FakeECR()
        return fake, fake.client()

    return make


@contextmanager
def prepared(fakes: Any, timeline: list[dict[str, Any]], policy: dict[str, Any]) -> Iterator[Any]:
    """An active fake holding ``timeline`` and ``policy``: (fake, client, images, expected)."""
    fake, client = fakes()
    with fake:
        refs, now = build(fake, client, timeline)
        put_policy(client, policy)
        yield fake, client, refs, evaluate(policy, refs, now)


@SETTINGS
@given(timeline=timelines(), policy=policies())
def test_evaluation_does_what_the_reference_says(fakes, timeline, policy):
    with prepared(fakes, timeline, policy) as (fake, client, refs, expected):
        before = described(client)
        fake.run_lifecycle(REPO)
        after = described(client)
    want = {}
    for ref in refs:
        action = expected.acted.get(ref.digest, (None, 0))[0]
        if action == "expire":
            continue
        want[ref.digest] = "ARCHIVED" if ref.archived or action == "transition" else "ACTIVE"
    assert set(before) == {r.digest for r in refs}
    assert after == want, f"policy {policy}\nimages {refs}"


@SETTINGS
@given(timeline=timelines(), policy=policies())
def test_preview_lists_what_the_reference_says(fakes, timeline, policy):
    with prepared(fakes, timeline, policy) as (fake, client, refs, expected):
        client.start_lifecycle_policy_preview(repositoryName=REPO)
        fake.clock.advance(fake.options.lifecycle_preview_seconds)
        pages = client.get_paginator("get_lifecycle_policy_preview").paginate(repositoryName=REPO)
        results = [r for page in pages for r in page["previewResults"]]
        summary = client.get_lifecycle_policy_preview(repositoryName=REPO)["summary"]
    got = {r["imageDigest"]: (r["action"]["type"].lower(), r["appliedRulePriority"]) for r in results}
    assert len(got) == len(results), "an image is acted on by at most one rule"
    assert got == expected.acted, f"policy {policy}\nimages {refs}"
    assert summary["expiringImageTotalCount"] == sum(a == "expire" for a, _ in expected.acted.values())
    transitions = sum(a == "transition" for a, _ in expected.acted.values())
    if transitions:
        assert summary["transitioningImageTotalCounts"] == [
            {"targetStorageClass": "ARCHIVE", "imageTotalCount": transitions}
        ]
    else:
        assert "transitioningImageTotalCounts" not in summary


def test_a_prefix_list_selects_only_images_with_every_prefix(ecr, ecr_client):
    """ "If you specify multiple tags, only the images with all specified tags are selected" (user
    guide, lifecycle policy properties, tagPrefixList). The guide's own example B tags every image
    with both prefixes; here one image has only one of them and must be kept."""
    ecr.create_repository(REPO)
    both = ecr.push_image(REPO, ["prod-1", "release-1"], pushed_days_ago=5).digest
    only_prod = ecr.push_image(REPO, ["prod-2"], pushed_days_ago=5).digest
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": ["prod", "release"],
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=json.dumps(policy))
    ecr.run_lifecycle(REPO)
    left = ecr_client.describe_images(repositoryName=REPO)["imageDetails"]
    assert [d["imageDigest"] for d in left] == [only_prod]
    assert both != only_prod


def _one_rule(selection: dict[str, Any]) -> str:
    return json.dumps({"rules": [{"rulePriority": 1, "selection": selection, "action": {"type": "expire"}}]})


def test_a_count_rule_keeps_exactly_the_newest_n(ecr, ecr_client):
    """imageCountMoreThan 2 over four images: the two most recently pushed stay (user guide,
    lifecycle policy properties, countType imageCountMoreThan)."""
    ecr.create_repository(REPO)
    digests = [ecr.push_image(REPO, [f"v{n}"], pushed_days_ago=10 - n).digest for n in range(4)]
    selection = {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2}
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=_one_rule(selection))
    ecr.run_lifecycle(REPO)
    left = ecr_client.describe_images(repositoryName=REPO)["imageDetails"]
    assert sorted(d["imageDigest"] for d in left) == sorted(digests[2:])


@pytest.mark.ecr_time("2026-03-01T00:00:00Z")
def test_an_age_rule_acts_only_on_images_older_than_its_limit(ecr, ecr_client):
    """sinceImagePushed 2 days: an image pushed 2.5 days ago expires, one pushed 1.5 days ago stays
    (strictly older than the limit: the user guide's example keeps an image pushed exactly one day
    ago under a one-day rule)."""
    ecr.create_repository(REPO)
    older = ecr.push_image(REPO, ["old"], pushed_days_ago=2.5).digest
    newer = ecr.push_image(REPO, ["new"], pushed_days_ago=1.5).digest
    selection = {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 2}
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=_one_rule(selection))
    ecr.run_lifecycle(REPO)
    left = ecr_client.describe_images(repositoryName=REPO)["imageDetails"]
    assert [d["imageDigest"] for d in left] == [newer]
    assert older != newer

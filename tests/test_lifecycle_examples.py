"""Every worked example of the ECR user guide's "Examples of lifecycle policies" page, run through
the fake (spec §5.4): the images the page says are expired are gone, the others are kept.

Repositories are seeded with the page's tag lists and push ages, the policy is put through boto3,
and ``ecr.run_lifecycle()`` applies it, as ECR's evaluation would.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.ecr_time("2026-01-01T00:00:00Z")

REPO = "app"


def rule(
    priority: int,
    tag_status: str,
    count_type: str,
    count_number: int,
    *,
    patterns: list[str] | None = None,
    prefixes: list[str] | None = None,
    storage: str | None = None,
    action: str = "expire",
) -> dict[str, Any]:
    selection: dict[str, Any] = {"tagStatus": tag_status}
    if patterns is not None:
        selection["tagPatternList"] = patterns
    if prefixes is not None:
        selection["tagPrefixList"] = prefixes
    if storage is not None:
        selection["storageClass"] = storage
    selection["countType"] = count_type
    if count_type != "imageCountMoreThan":
        selection["countUnit"] = "days"
    selection["countNumber"] = count_number
    act: dict[str, Any] = {"type": action}
    if action == "transition":
        act["targetStorageClass"] = "archive"
    return {
        "rulePriority": priority,
        "description": f"Rule {priority}",
        "selection": selection,
        "action": act,
    }


def policy(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)}, indent=4)


def run(ecr, ecr_client, images: dict[str, tuple[list[str], float]], *rules: dict[str, Any]) -> set[str]:
    """Push the named images (tags, days ago) in order, put the policy, run it; the names of
    the images that were expired."""
    ecr.create_repository(REPO)
    digests = {
        name: ecr.push_image(REPO, tags, pushed_days_ago=days).digest for name, (tags, days) in images.items()
    }
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=policy(*rules))
    ecr.run_lifecycle()
    left = {
        d["imageDigest"]
        for d in ecr_client.describe_images(repositoryName=REPO, filter={"imageStatus": "ANY"})[
            "imageDetails"
        ]
    }
    return {name for name, digest in digests.items() if digest not in left}


def test_filtering_on_image_age(ecr, ecr_client):
    expired = run(
        ecr,
        ecr_client,
        {"old-prod": (["prod-1"], 15), "new-prod": (["prod-2"], 13), "old-dev": (["dev-1"], 30)},
        rule(1, "tagged", "sinceImagePushed", 14, patterns=["prod*"]),
    )
    assert expired == {"old-prod"}


def test_filtering_on_image_age_untagged_archived_guide(ecr, ecr_client):
    # The 2022 edition of the page: untagged images older than 14 days.
    expired = run(
        ecr,
        ecr_client,
        {"old": ([], 15), "new": ([], 13), "tagged": (["v1"], 30)},
        rule(1, "untagged", "sinceImagePushed", 14),
    )
    assert expired == {"old"}


def test_filtering_on_image_count(ecr, ecr_client):
    expired = run(
        ecr,
        ecr_client,
        {"a": ([], 3), "b": ([], 2), "c": ([], 1), "tagged": (["v1"], 9)},
        rule(1, "untagged", "imageCountMoreThan", 1),
    )
    assert expired == {"a", "b"}


MULTIPLE_RULES_REPO = {
    "A": (["beta-1", "prod-1"], 10),
    "B": (["beta-2", "prod-2"], 9),
    "C": (["beta-3"], 8),
}


@pytest.mark.parametrize("kind", ["patterns", "prefixes"])
def test_multiple_rules_example_a(ecr, ecr_client, kind):
    def lst(word: str) -> dict[str, list[str]]:
        return {kind: [word + "*" if kind == "patterns" else word]}

    expired = run(
        ecr,
        ecr_client,
        MULTIPLE_RULES_REPO,
        rule(1, "tagged", "imageCountMoreThan", 1, **lst("prod")),
        rule(2, "tagged", "imageCountMoreThan", 1, **lst("beta")),
    )
    # Rule 2 marks A and B, but A is Rule 1's and B was seen (kept) by Rule 1.
    assert expired == {"A"}


@pytest.mark.parametrize("kind", ["patterns", "prefixes"])
def test_multiple_rules_example_b(ecr, ecr_client, kind):
    def lst(word: str) -> dict[str, list[str]]:
        return {kind: [word + "*" if kind == "patterns" else word]}

    expired = run(
        ecr,
        ecr_client,
        MULTIPLE_RULES_REPO,
        rule(1, "tagged", "imageCountMoreThan", 1, **lst("beta")),
        rule(2, "tagged", "imageCountMoreThan", 1, **lst("prod")),
    )
    assert expired == {"A", "B"}


def test_multiple_tags_in_a_single_rule_example_a(ecr, ecr_client):
    expired = run(
        ecr,
        ecr_client,
        {
            "A": (["alpha-1"], 12),
            "B": (["beta-1"], 11),
            "C": (["alpha-2", "beta-2"], 10),
            "D": (["alpha-3"], 4),
            "E": (["beta-3"], 3),
            "F": (["alpha-4", "beta-4"], 2),
        },
        rule(1, "tagged", "sinceImagePushed", 5, patterns=["alpha*", "beta*"]),
    )
    assert expired == {"C"}


def test_multiple_tags_in_a_single_rule_example_b(ecr, ecr_client):
    expired = run(
        ecr,
        ecr_client,
        {
            "A": (["alpha-1", "beta-1", "gamma-1"], 10),
            "B": (["alpha-2", "beta-2"], 9),
            "C": (["alpha-3", "beta-3", "gamma-2"], 8),
        },
        rule(1, "tagged", "imageCountMoreThan", 1, prefixes=["alpha", "beta"]),
    )
    assert expired == {"A", "B"}


def test_all_images_example_a(ecr, ecr_client):
    expired = run(
        ecr,
        ecr_client,
        {"A": (["alpha-1"], 4), "B": (["beta-1"], 3), "C": ([], 2), "D": (["alpha-2"], 1)},
        rule(1, "any", "imageCountMoreThan", 1),
    )
    assert expired == {"A", "B", "C"}


def test_all_images_example_b_combines_every_rule_type(ecr, ecr_client):
    expired = run(
        ecr,
        ecr_client,
        {
            "A": (["alpha-1", "beta-1"], 4),
            "B": ([], 3),
            "C": (["alpha-2"], 2),
            "D": (["git-hash"], 1),  # the page's "git hash" has a space, which no tag may have
            "E": ([], 1),
        },
        rule(1, "tagged", "imageCountMoreThan", 1, patterns=["alpha*"]),
        rule(2, "untagged", "sinceImagePushed", 1),
        rule(3, "any", "imageCountMoreThan", 1),
    )
    # E, pushed exactly a day ago, is not older than a day; D and E tie on age and E, pushed
    # after D, is the newest image Rule 3 keeps; but A, B, C and E were seen by Rules 1 and 2.
    assert expired == {"A", "B", "D"}


def test_filtering_on_last_pulled_time(ecr, ecr_client, ecr_clock):
    ecr.create_repository(REPO)
    pulled = ecr.push_image(REPO, "pulled", pushed_days_ago=200)
    idle = ecr.push_image(REPO, "idle", pushed_days_ago=200)
    fresh = ecr.push_image(REPO, "fresh", pushed_days_ago=30)
    ecr_clock.advance(days=1)
    ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "pulled"}])
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=policy(rule(1, "any", "sinceImagePulled", 90, action="transition")),
    )
    done = ecr.run_lifecycle()
    assert [(a.image_digest, a.action, a.rule_priority) for a in done] == [(idle.digest, "transition", 1)]
    statuses = {
        d["imageDigest"]: d["imageStatus"]
        for d in ecr_client.describe_images(repositoryName=REPO, filter={"imageStatus": "ANY"})[
            "imageDetails"
        ]
    }
    assert statuses == {pulled.digest: "ACTIVE", idle.digest: "ARCHIVED", fresh.digest: "ACTIVE"}


def test_filtering_on_archive_transition_time(ecr, ecr_client, ecr_clock):
    ecr.create_repository(REPO)
    long_ago = ecr.push_image(REPO, "long-ago", pushed_days_ago=500)
    recently = ecr.push_image(REPO, "recently", pushed_days_ago=500)
    active = ecr.push_image(REPO, "active", pushed_days_ago=500)
    ecr_client.update_image_storage_class(
        repositoryName=REPO, imageId={"imageTag": "long-ago"}, targetStorageClass="ARCHIVE"
    )
    ecr_clock.advance(days=300)
    ecr_client.update_image_storage_class(
        repositoryName=REPO, imageId={"imageTag": "recently"}, targetStorageClass="ARCHIVE"
    )
    ecr_clock.advance(days=66)  # long-ago: 366 days in archive, recently: 66
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=policy(rule(1, "any", "sinceImageTransitioned", 365, storage="archive")),
    )
    assert [a.image_digest for a in ecr.run_lifecycle()] == [long_ago.digest]
    left = ecr_client.describe_images(repositoryName=REPO, filter={"imageStatus": "ANY"})["imageDetails"]
    assert {d["imageDigest"] for d in left} == {recently.digest, active.digest}


def test_archiving_images_older_than_a_number_of_days(ecr, ecr_client):
    ecr.create_repository(REPO)
    old = ecr.push_image(REPO, "prod-1", pushed_days_ago=31)
    ecr.push_image(REPO, "prod-2", pushed_days_ago=29)
    ecr.push_image(REPO, "dev-1", pushed_days_ago=31)
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=policy(
            rule(1, "tagged", "sinceImagePushed", 30, patterns=["prod*"], action="transition")
        ),
    )
    ecr.run_lifecycle()
    archived = ecr_client.list_images(repositoryName=REPO, filter={"imageStatus": "ARCHIVED"})["imageIds"]
    assert archived == [{"imageDigest": old.digest, "imageTag": "prod-1"}]


def test_combining_archive_and_expire_rules(ecr, ecr_client, ecr_clock):
    ecr.create_repository(REPO)
    # Only the explicit runs below: advancing the clock would run the daily schedule (issue #17),
    # and new would be archived on the day it turns 30 days old.
    ecr.options.lifecycle_interval_seconds = 0
    old = ecr.push_image(REPO, "old", pushed_days_ago=40)
    new = ecr.push_image(REPO, "new", pushed_days_ago=10)
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=policy(
            rule(1, "any", "sinceImagePushed", 30, action="transition"),
            rule(2, "any", "sinceImageTransitioned", 365, storage="archive"),
        ),
    )
    # Two "any" rules are legal: they select different storage classes.
    assert [(a.image_digest, a.action) for a in ecr.run_lifecycle()] == [(old.digest, "transition")]
    ecr_clock.advance(days=365)
    # new is 375 days old now and goes to the archive; old has been archived exactly 365 days,
    # which is not more than 365 days.
    assert [(a.image_digest, a.action) for a in ecr.run_lifecycle()] == [(new.digest, "transition")]
    ecr_clock.advance(seconds=1)
    done = ecr.run_lifecycle()
    assert [(a.image_digest, a.action, a.rule_priority) for a in done] == [(old.digest, "expire", 2)]
    left = ecr_client.describe_images(repositoryName=REPO, filter={"imageStatus": "ANY"})["imageDetails"]
    assert [(d["imageDigest"], d["imageStatus"]) for d in left] == [(new.digest, "ARCHIVED")]

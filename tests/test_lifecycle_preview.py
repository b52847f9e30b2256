"""Lifecycle policy previews (spec §5.5): Start/GetLifecyclePolicyPreview and the waiter."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.ecr_time("2026-01-01T00:00:00Z")

REPO = "test-repo"
JAN1 = datetime(2026, 1, 1, tzinfo=timezone.utc)

KEEP_TWO = """{
  "rules": [
    {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2},
     "action": {"type": "expire"}},
    {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["keep"],
     "countType": "imageCountMoreThan", "countNumber": 100}, "action": {"type": "expire"}}
  ]
}"""
ARCHIVE_OLD = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 5,
                },
                "action": {"type": "transition", "targetStorageClass": "archive"},
            },
            {
                "rulePriority": 2,
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                "action": {"type": "expire"},
            },
        ]
    }
)


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def images(ecr, ecr_repo):
    """keep-1 (10 days), a (9), b (8), untagged (7), c (1): KEEP_TWO keeps c and the untagged
    image, and expires a and b; keep-1 is over the count too, but rule 1 claimed it."""
    return {
        name: ecr.push_image(REPO, tags, pushed_days_ago=days)
        for name, tags, days in [
            ("keep", ["keep-1"], 10),
            ("a", ["a"], 9),
            ("b", ["b"], 8),
            ("untagged", [], 7),
            ("c", ["c"], 1),
        ]
    }


def test_preview_runs_on_the_clock(ecr, ecr_client, ecr_clock, images):
    started = ecr_client.start_lifecycle_policy_preview(repositoryName=REPO, lifecyclePolicyText=KEEP_TWO)
    started.pop("ResponseMetadata")
    # The text is echoed exactly as supplied, not normalised.
    assert started == {
        "registryId": "123456789012",
        "repositoryName": REPO,
        "lifecyclePolicyText": KEEP_TWO,
        "status": "IN_PROGRESS",
    }
    pending = ecr_client.get_lifecycle_policy_preview(repositoryName=REPO)
    assert pending["status"] == "IN_PROGRESS"
    assert "previewResults" not in pending
    assert "summary" not in pending
    ecr_clock.advance(seconds=ecr.options.lifecycle_preview_seconds)
    done = ecr_client.get_lifecycle_policy_preview(repositoryName=REPO)
    assert done["status"] == "COMPLETE"
    assert done["lifecyclePolicyText"] == KEEP_TWO
    assert done["summary"] == {"expiringImageTotalCount": 2}
    assert done["previewResults"] == [
        {
            "imageTags": [name],
            "imageDigest": images[name].digest,
            "imagePushedAt": JAN1 - timedelta(days=days),
            "action": {"type": "EXPIRE"},
            "appliedRulePriority": 2,
            "storageClass": "STANDARD",
        }
        for name, days in [("a", 9), ("b", 8)]
    ]
    # A preview changes nothing.
    assert len(ecr.repository(REPO).images) == 5


def test_waiter_sees_in_progress_then_complete(ecr, ecr_client, ecr_clock, images):
    ecr_client.start_lifecycle_policy_preview(repositoryName=REPO, lifecyclePolicyText=KEEP_TWO)
    before = ecr_clock.now()
    ecr_client.get_waiter("lifecycle_policy_preview_complete").wait(repositoryName=REPO)
    statuses = [c.response["status"] for c in ecr.calls if c.operation == "GetLifecyclePolicyPreview"]
    assert statuses == ["IN_PROGRESS", "IN_PROGRESS", "COMPLETE"]
    assert ecr_clock.now() - before == timedelta(seconds=10)  # two 5-second polls of virtual time


def test_a_preview_in_progress_blocks_another(ecr, ecr_client, ecr_clock, images):
    ecr_client.start_lifecycle_policy_preview(repositoryName=REPO, lifecyclePolicyText=KEEP_TWO)
    with pytest.raises(ClientError) as exc:
        ecr_client.start_lifecycle_policy_preview(repositoryName=REPO, lifecyclePolicyText=ARCHIVE_OLD)
    assert error(exc) == (
        "LifecyclePolicyPreviewInProgressException",
        "The previous lifecycle policy preview request has not completed. Wait and try again.",
    )
    ecr_clock.advance(seconds=10)
    ecr_client.start_lifecycle_policy_preview(repositoryName=REPO, lifecyclePolicyText=ARCHIVE_OLD)
    assert ecr_client.get_lifecycle_policy_preview(repositoryName=REPO)["lifecyclePolicyText"] == ARCHIVE_OLD


def test_no_preview(ecr_client, ecr_repo):
    with pytest.raises(ClientError) as exc:
        ecr_client.get_lifecycle_policy_preview(repositoryName=REPO)
    assert error(exc) == (
        "LifecyclePolicyPreviewNotFoundException",
        "There is no dry run for this repository",
    )


def test_preview_of_the_stored_policy(ecr, ecr_client, ecr_clock, images):
    with pytest.raises(ClientError) as exc:
        ecr_client.start_lifecycle_policy_preview(repositoryName=REPO)
    assert error(exc) == (
        "LifecyclePolicyNotFoundException",
        "Lifecycle policy does not exist for the repository with name 'test-repo' in the registry with id "
        "'123456789012'",
    )
    stored = ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=KEEP_TWO)
    started = ecr_client.start_lifecycle_policy_preview(repositoryName=REPO)
    assert started["lifecyclePolicyText"] == stored["lifecyclePolicyText"]


def test_preview_text_is_validated(ecr_client, ecr_repo):
    with pytest.raises(ClientError) as exc:
        ecr_client.start_lifecycle_policy_preview(
            repositoryName=REPO, lifecyclePolicyText=KEEP_TWO.replace("2,", "0,")
        )
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation "
        "failure: numeric instance is lower than the required minimum (minimum: 1, found: 0)",
    )


def test_transitions_filters_ids_and_pages(ecr, ecr_client, ecr_clock, images):
    ecr_client.start_lifecycle_policy_preview(repositoryName=REPO, lifecyclePolicyText=ARCHIVE_OLD)
    ecr_clock.advance(seconds=10)
    everything = ecr_client.get_lifecycle_policy_preview(repositoryName=REPO)
    # untagged goes to the archive (rule 1); rule 2 keeps only c among the others.
    assert [
        (r["imageDigest"], r["action"], r["appliedRulePriority"]) for r in everything["previewResults"]
    ] == [
        (images["untagged"].digest, {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"}, 1),
        (images["keep"].digest, {"type": "EXPIRE"}, 2),
        (images["a"].digest, {"type": "EXPIRE"}, 2),
        (images["b"].digest, {"type": "EXPIRE"}, 2),
    ]
    assert everything["summary"] == {
        "expiringImageTotalCount": 3,
        "transitioningImageTotalCounts": [{"targetStorageClass": "ARCHIVE", "imageTotalCount": 1}],
    }
    untagged = ecr_client.get_lifecycle_policy_preview(repositoryName=REPO, filter={"tagStatus": "UNTAGGED"})
    assert [r["imageDigest"] for r in untagged["previewResults"]] == [images["untagged"].digest]
    assert untagged["summary"] == everything["summary"]  # the summary covers the whole preview
    tagged = ecr_client.get_lifecycle_policy_preview(repositoryName=REPO, filter={"tagStatus": "TAGGED"})
    assert len(tagged["previewResults"]) == 3
    by_id = ecr_client.get_lifecycle_policy_preview(
        repositoryName=REPO, imageIds=[{"imageTag": "a"}, {"imageDigest": images["c"].digest}]
    )
    assert [r["imageDigest"] for r in by_id["previewResults"]] == [images["a"].digest]  # c is kept
    pages = list(
        ecr_client.get_paginator("get_lifecycle_policy_preview").paginate(
            repositoryName=REPO, PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["previewResults"]) for p in pages] == [3, 1]
    assert [r for p in pages for r in p["previewResults"]] == everything["previewResults"]
    with pytest.raises(ClientError) as exc:
        ecr_client.get_lifecycle_policy_preview(
            repositoryName=REPO, imageIds=[{"imageTag": "a"}], maxResults=5
        )
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'imageIds' failed to satisfy constraint: 'maxResults and nextToken cannot be used "
        "when images are specified with imageIds'",
    )


def test_preview_equals_what_the_run_then_does(ecr, ecr_client, ecr_clock, images):
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=ARCHIVE_OLD)
    ecr_client.start_lifecycle_policy_preview(repositoryName=REPO)
    ecr_clock.advance(seconds=10)
    preview = ecr_client.get_lifecycle_policy_preview(repositoryName=REPO)["previewResults"]
    done = ecr.run_lifecycle()
    assert [(a.image_digest, a.action.upper(), a.rule_priority) for a in done] == [
        (r["imageDigest"], r["action"]["type"], r["appliedRulePriority"]) for r in preview
    ]

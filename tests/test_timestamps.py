"""Timestamp precision per model member, read from the JSON on the wire (not from boto3's datetimes).

Evidence, by member (docs/behaviour.rst, "Timestamps", says the same):

* milliseconds in ``Repository.createdAt``: recorded CreateRepository/DescribeRepositories outputs
  from 2024 on carry them (``"createdAt": 1739356900.054``, ``"2025-04-01T11:34:29.685000+02:00"``,
  ``"2025-07-24T17:21:31.493000+00:00"`` in ministryofjustice/modernisation-platform-environments#12235);
  only recordings up to 2023 (cloud-custodian tests/data/placebo/test_ecr_*) show whole seconds;
* milliseconds in ``imagePushedAt``: DescribeImages recorded from late 2024 on
  (``"2024-09-23T20:11:24.294000-04:00"``, ``"2025-08-23T19:48:06.969000-07:00"``,
  ``"imagePushedAt": 1783015771.935``); whole seconds only up to mid-2024;
* milliseconds in ``lastRecordedPullTime`` (mondoohq/mql#4938: ``2024-11-14 15:23:42.949``) and in
  ``expiresAt`` (aws-cli awscli/examples/ecr/get-authorization-token.rst: ``1448875853.241``);
* whole seconds in ``lastEvaluatedAt`` (aws-cli get-lifecycle-policy.rst: ``1504295007.0``) and in
  the basic scan's ``imageScanCompletedAt`` / ``vulnerabilitySourceUpdatedAt`` (aws-cli
  describe-image-scan-findings.rst: ``1579839105.0`` / ``1579811117.0``); no recording shows more.
"""

from __future__ import annotations

import json
from typing import Any

import botocore
import pytest
from botocore.model import StructureShape
from packaging.version import Version

from pytest_ecr.protocol.model import service_model
from pytest_ecr.protocol.timestamps import PRECISION

#: a frozen moment off a whole second: 2026-01-02T03:04:05.678Z
MOMENT = 1767323045.678
SECOND = 1767323045.0


def wire(client: Any) -> list[dict[str, Any]]:
    """Every response body the client receives, as the JSON ECR sent."""
    bodies: list[dict[str, Any]] = []

    def keep(response_dict: dict[str, Any], **_: Any) -> None:
        bodies.append(json.loads(response_dict["body"] or b"{}"))

    client.meta.events.register("before-parse.ecr", keep)
    return bodies


def keep_newest(client: Any, repository: str, count: int) -> None:
    rule = {
        "rulePriority": 1,
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": {"type": "expire"},
    }
    client.put_lifecycle_policy(repositoryName=repository, lifecyclePolicyText=json.dumps({"rules": [rule]}))


def test_every_timestamp_member_of_the_model_has_a_decided_precision() -> None:
    model = service_model()
    members = {
        (name, member)
        for name in model.shape_names
        if isinstance(shape := model.shape_for(name), StructureShape)
        for member, member_shape in shape.members.items()
        if member_shape.type_name == "timestamp"
    }
    # Every timestamp member of the installed model is decided; the table may also hold members
    # newer than an old model (botocore 1.41.0, the oldest supported, lacks some), but none that
    # the model has dropped: checked against the newest botocore in the other environments.
    assert members <= set(PRECISION), sorted(members - set(PRECISION))
    if Version(botocore.__version__) >= Version("1.44.8"):  # the model the table was written from
        assert members == set(PRECISION), sorted(set(PRECISION) - members)


@pytest.mark.ecr_time(MOMENT)
def test_milliseconds_members_keep_the_millisecond(ecr, ecr_client) -> None:
    bodies = wire(ecr_client)
    ecr_client.create_repository(repositoryName="app")
    ecr.push_image("app", "v1")
    ecr_client.describe_repositories()
    ecr_client.describe_images(repositoryName="app")
    ecr_client.get_authorization_token()
    create, describe_repos, describe_images, token = bodies
    assert create["repository"]["createdAt"] == MOMENT
    assert describe_repos["repositories"][0]["createdAt"] == MOMENT
    assert describe_images["imageDetails"][0]["imagePushedAt"] == MOMENT
    assert token["authorizationData"][0]["expiresAt"] == MOMENT + 12 * 3600


@pytest.mark.ecr_time(MOMENT)
def test_lifecycle_evaluation_time_is_whole_seconds(ecr, ecr_client) -> None:
    ecr.create_repository("app")
    keep_newest(ecr_client, "app", 5)
    bodies = wire(ecr_client)
    ecr_client.get_lifecycle_policy(repositoryName="app")
    # Never evaluated: the epoch, as in cloud-custodian's recorded GetLifecyclePolicy
    # (tests/data/placebo/test_ecr_lifecycle_update/api.ecr.GetLifecyclePolicy_2.json).
    assert bodies[-1]["lastEvaluatedAt"] == 0.0
    ecr.run_lifecycle("app")
    ecr_client.get_lifecycle_policy(repositoryName="app")
    ecr_client.delete_lifecycle_policy(repositoryName="app")
    assert bodies[-2]["lastEvaluatedAt"] == SECOND
    assert bodies[-1]["lastEvaluatedAt"] == SECOND


@pytest.mark.ecr_time(MOMENT)
def test_basic_scan_times_are_whole_seconds(ecr, ecr_client, ecr_clock) -> None:
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    completed = float(int(MOMENT + ecr.options.scan_seconds))
    bodies = wire(ecr_client)
    ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    findings = bodies[0]["imageScanFindings"]
    assert findings["imageScanCompletedAt"] == completed
    assert findings["vulnerabilitySourceUpdatedAt"] == completed


@pytest.mark.ecr_time(MOMENT)
def test_images_pushed_in_the_same_millisecond_keep_push_order(ecr, ecr_client) -> None:
    """A frozen clock pushes every image at one instant: the tie-break is the order of storing,
    for lifecycle's imageCountMoreThan (the earlier push is the older) and for pagination."""
    ecr.create_repository("app")
    first = ecr.push_image("app", "first")
    second = ecr.push_image("app", "second")
    third = ecr.push_image("app", "third")
    pages = ecr_client.get_paginator("describe_images").paginate(
        repositoryName="app", PaginationConfig={"PageSize": 1}
    )
    order = [d["imageDigest"] for page in pages for d in page["imageDetails"]]
    assert order == [first.digest, second.digest, third.digest]
    listed = ecr_client.get_paginator("list_images").paginate(
        repositoryName="app", PaginationConfig={"PageSize": 1}
    )
    assert [i["imageDigest"] for page in listed for i in page["imageIds"]] == order
    keep_newest(ecr_client, "app", 1)
    ecr.run_lifecycle("app")
    left = ecr_client.describe_images(repositoryName="app")["imageDetails"]
    assert [d["imageDigest"] for d in left] == [third.digest]

"""Replication backfill (spec §8.3): Start/StopReplicationBackfill,
DescribeReplicationBackfillResults, ListReplicationBackfills."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from helpers import requires_operation

ACCOUNT = "123456789012"
OTHER = "222222222222"
EU = {"region": "eu-west-1", "registryId": ACCOUNT}
PREPARING = 60.0
DELAY = 30.0

pytestmark = requires_operation(
    "StartReplicationBackfill",
    "StopReplicationBackfill",
    "DescribeReplicationBackfillResults",
    "ListReplicationBackfills",
)


def configure(client, *destinations: dict, filters: tuple[str, ...] = ()) -> None:
    rule: dict = {"destinations": list(destinations)}
    if filters:
        rule["repositoryFilters"] = [{"filter": f, "filterType": "PREFIX_MATCH"} for f in filters]
    client.put_replication_configuration(replicationConfiguration={"rules": [rule]})


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def results(client, backfill_id: str, **kwargs) -> dict:
    return client.describe_replication_backfill_results(replicationBackfillId=backfill_id, **kwargs)


def test_backfill_replicates_existing_images(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.create_repository("other")
    a = ecr.push_image("app", ["a1", "a2"])
    u = ecr.push_image("app")
    multi = ecr.push_image("app", "multi", platforms=["linux/amd64", "linux/arm64"])
    ecr.push_image("other", "x")
    configure(ecr_client, EU, filters=("app",))
    started = ecr_client.start_replication_backfill(destination=EU)
    backfill_id = started["replicationBackfillId"]
    uuid.UUID(backfill_id)
    assert (started["registryId"], started["destination"], started["status"]) == (ACCOUNT, EU, "PREPARING")
    t0 = started["startedAt"].timestamp()

    answer = results(ecr_client, backfill_id)
    assert answer["status"] == "PREPARING"
    assert "progress" not in answer
    assert "endedAt" not in answer
    assert answer["results"] == []

    ecr.clock.advance(PREPARING)
    answer = results(ecr_client, backfill_id)
    assert answer["status"] == "IN_PROGRESS"
    assert answer["progress"] == {
        "totalReplicationCount": 4,
        "completedReplicationCount": 0,
        "failedReplicationCount": 0,
        "failureCodes": [],
    }
    assert answer["results"] == []  # only once terminal
    with pytest.raises(ClientError):
        ecr.client(region="eu-west-1").describe_images(repositoryName="app")

    ecr.clock.advance(DELAY)
    answer = results(ecr_client, backfill_id)
    assert answer["status"] == "COMPLETE"
    assert answer["endedAt"].timestamp() == pytest.approx(t0 + PREPARING + DELAY)
    assert answer["progress"]["completedReplicationCount"] == 4
    found = {(r["imageId"]["imageDigest"], r["imageId"].get("imageTag")): r for r in answer["results"]}
    assert set(found) == {(a.digest, "a1"), (a.digest, "a2"), (u.digest, None), (multi.digest, "multi")}
    assert all(r["status"] == "COMPLETE" and r["repositoryName"] == "app" for r in found.values())
    assert found[(multi.digest, "multi")]["subImageFailureCodes"] == []
    assert "subImageFailureCodes" not in found[(a.digest, "a1")]

    eu = ecr.client(region="eu-west-1")
    digests = {d["imageDigest"] for d in eu.describe_images(repositoryName="app")["imageDetails"]}
    assert digests == {a.digest, u.digest, multi.digest, *multi.children}
    assert ecr.repository("app", region="eu-west-1").tag_index == {
        "a1": a.digest,
        "a2": a.digest,
        "multi": multi.digest,
    }
    with pytest.raises(ClientError):
        eu.describe_images(repositoryName="other")


def test_result_filter_and_pagination(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.push_image("app", [f"t{n}" for n in range(5)])
    configure(ecr_client, EU)
    backfill_id = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    ecr.clock.advance(PREPARING + DELAY)
    first = results(ecr_client, backfill_id, maxResults=2)
    assert len(first["results"]) == 2
    assert first["nextToken"]
    rest = results(ecr_client, backfill_id, nextToken=first["nextToken"])
    assert "nextToken" not in rest
    tags = [r["imageId"]["imageTag"] for r in first["results"] + rest["results"]]
    assert sorted(tags) == [f"t{n}" for n in range(5)]
    assert results(ecr_client, backfill_id, resultStatusFilter="FAILED")["results"] == []
    assert len(results(ecr_client, backfill_id, resultStatusFilter="COMPLETE")["results"]) == 5


def test_cross_account_backfill_without_policy_reports_failures(ecr, ecr_client):
    ecr.create_repository("app")
    pushed = ecr.push_image("app", "v1")
    destination = {"region": "us-east-1", "registryId": OTHER}
    configure(ecr_client, destination)
    backfill_id = ecr_client.start_replication_backfill(destination=destination)["replicationBackfillId"]
    ecr.clock.advance(PREPARING + DELAY)
    answer = results(ecr_client, backfill_id)
    assert answer["status"] == "COMPLETE"
    assert answer["progress"] == {
        "totalReplicationCount": 1,
        "completedReplicationCount": 0,
        "failedReplicationCount": 1,
        "failureCodes": ["ACCESS_DENIED"],
    }
    assert answer["results"] == [
        {
            "repositoryName": "app",
            "imageId": {"imageDigest": pushed.digest, "imageTag": "v1"},
            "status": "FAILED",
            "failureCode": "ACCESS_DENIED",
        }
    ]


def test_cross_account_backfill_with_policy(ecr, ecr_client):
    ecr.create_repository("app")
    pushed = ecr.push_image("app", "v1")
    ecr.client(account=OTHER).put_registry_policy(
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "ecr:*"}],
            }
        )
    )
    destination = {"region": "us-east-1", "registryId": OTHER}
    configure(ecr_client, destination)
    ecr_client.start_replication_backfill(destination=destination)
    ecr.clock.advance(PREPARING + DELAY)
    [image] = ecr.client(account=OTHER).batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])[
        "images"
    ]
    assert image["imageId"]["imageDigest"] == pushed.digest


def test_empty_backfill_completes_after_preparing(ecr, ecr_client):
    configure(ecr_client, EU)
    backfill_id = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    ecr.clock.advance(PREPARING)
    answer = results(ecr_client, backfill_id)
    assert answer["status"] == "COMPLETE"
    assert answer["progress"]["totalReplicationCount"] == 0


def test_destination_must_be_configured(ecr_client):
    configure(ecr_client, EU)
    with pytest.raises(ClientError) as exc:
        ecr_client.start_replication_backfill(destination={"region": "us-west-2", "registryId": ACCOUNT})
    assert code(exc) == "ValidationException"
    assert "not in the replication configuration" in exc.value.response["Error"]["Message"]


def test_one_backfill_per_destination_region(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    other_eu = {"region": "eu-west-1", "registryId": OTHER}
    configure(ecr_client, EU, other_eu)
    ecr_client.start_replication_backfill(destination=EU)
    for advance in (0, PREPARING):  # PREPARING, then IN_PROGRESS
        ecr.clock.advance(advance)
        for destination in (EU, other_eu):
            with pytest.raises(ClientError) as exc:
                ecr_client.start_replication_backfill(destination=destination)
            assert code(exc) == "ReplicationBackfillInProgressException"
    ecr.clock.advance(DELAY)
    assert ecr_client.start_replication_backfill(destination=other_eu)["status"] == "PREPARING"


def test_at_most_ten_in_progress(ecr_client):
    regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "us-west-1", "us-west-2"]
    regions += ["ap-south-1", "ap-northeast-1", "ca-central-1", "sa-east-1"]
    destinations = [{"region": r, "registryId": ACCOUNT} for r in regions]
    configure(ecr_client, *destinations)
    for d in destinations[:10]:
        ecr_client.start_replication_backfill(destination=d)
    with pytest.raises(ClientError) as exc:
        ecr_client.start_replication_backfill(destination=destinations[10])
    assert code(exc) == "LimitExceededException"
    assert len(ecr_client.list_replication_backfills()["backfills"]) == 10


def test_stop_while_preparing(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    configure(ecr_client, EU)
    backfill_id = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    stopped = ecr_client.stop_replication_backfill(replicationBackfillId=backfill_id)
    assert (stopped["status"], stopped["replicationBackfillId"], stopped["destination"]) == (
        "STOPPED",
        backfill_id,
        EU,
    )
    ecr.clock.advance(PREPARING + DELAY)
    answer = results(ecr_client, backfill_id)
    assert answer["status"] == "STOPPED"
    assert "progress" not in answer
    assert answer["results"] == []
    assert "app" not in ecr.store.registry(ACCOUNT, "eu-west-1").repositories
    with pytest.raises(ClientError) as exc:
        ecr_client.stop_replication_backfill(replicationBackfillId=backfill_id)
    assert code(exc) == "ReplicationBackfillInvalidStatusException"
    ecr_client.start_replication_backfill(destination=EU)  # the region is free again


def test_stop_while_in_progress_lets_started_replications_finish(ecr, ecr_client):
    ecr.create_repository("app")
    pushed = ecr.push_image("app", "v1")
    configure(ecr_client, EU)
    backfill_id = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    ecr.clock.advance(PREPARING)
    assert ecr_client.stop_replication_backfill(replicationBackfillId=backfill_id)["status"] == "STOPPING"
    with pytest.raises(ClientError) as exc:
        ecr_client.stop_replication_backfill(replicationBackfillId=backfill_id)
    assert code(exc) == "ReplicationBackfillInvalidStatusException"
    with pytest.raises(ClientError) as exc:
        ecr_client.start_replication_backfill(destination=EU)
    assert code(exc) == "ReplicationBackfillInProgressException"
    ecr.clock.advance(DELAY)
    answer = results(ecr_client, backfill_id)
    assert answer["status"] == "STOPPED"
    assert answer["progress"]["completedReplicationCount"] == 1
    assert ecr.repository("app", region="eu-west-1").tag_index == {"v1": pushed.digest}


def test_stop_a_completed_backfill(ecr, ecr_client):
    configure(ecr_client, EU)
    backfill_id = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    ecr.clock.advance(PREPARING)
    with pytest.raises(ClientError) as exc:
        ecr_client.stop_replication_backfill(replicationBackfillId=backfill_id)
    assert code(exc) == "ReplicationBackfillInvalidStatusException"


@pytest.mark.parametrize(
    "call",
    [
        lambda c, i: c.stop_replication_backfill(replicationBackfillId=i),
        lambda c, i: c.describe_replication_backfill_results(replicationBackfillId=i),
    ],
)
def test_unknown_backfill(ecr, ecr_client, call):
    configure(ecr_client, EU)
    backfill_id = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    with pytest.raises(ClientError) as exc:
        call(ecr_client, str(uuid.uuid4()))
    assert code(exc) == "ReplicationBackfillNotFoundException"
    with pytest.raises(ClientError) as exc:  # a backfill belongs to its region's registry
        call(ecr.client(region="eu-west-1"), backfill_id)
    assert code(exc) == "ReplicationBackfillNotFoundException"


def test_malformed_backfill_id(raw_client):
    with pytest.raises(ClientError) as exc:
        raw_client.stop_replication_backfill(replicationBackfillId="nope")
    assert code(exc) == "InvalidParameterException"


def test_list_backfills(ecr, ecr_client):
    assert ecr_client.list_replication_backfills()["backfills"] == []
    west = {"region": "us-west-2", "registryId": ACCOUNT}
    configure(ecr_client, EU, west)
    first = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    ecr.clock.advance(PREPARING)
    second = ecr_client.start_replication_backfill(destination=west)["replicationBackfillId"]
    answer = ecr_client.list_replication_backfills(maxResults=1)
    assert answer["registryId"] == ACCOUNT
    [summary] = answer["backfills"]
    assert (summary["replicationBackfillId"], summary["status"]) == (first, "COMPLETE")
    assert summary["progress"]["totalReplicationCount"] == 0
    assert "endedAt" in summary
    [summary] = ecr_client.list_replication_backfills(nextToken=answer["nextToken"])["backfills"]
    assert (summary["replicationBackfillId"], summary["status"]) == (second, "PREPARING")
    assert "progress" not in summary
    assert "endedAt" not in summary
    # Terminal backfills are kept 90 days.
    ecr.clock.advance(90 * 86400)
    ids = [b["replicationBackfillId"] for b in ecr_client.list_replication_backfills()["backfills"]]
    assert ids == [second]


def test_image_deleted_before_its_replication_fails(ecr, ecr_client):
    ecr.create_repository("app")
    kept = ecr.push_image("app", "kept")
    gone = ecr.push_image("app", "gone")
    configure(ecr_client, EU)
    backfill_id = ecr_client.start_replication_backfill(destination=EU)["replicationBackfillId"]
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "gone"}])
    ecr.clock.advance(PREPARING + DELAY)
    answer = results(ecr_client, backfill_id, resultStatusFilter="FAILED")
    assert answer["results"] == [
        {
            "repositoryName": "app",
            "imageId": {"imageDigest": gone.digest, "imageTag": "gone"},
            "status": "FAILED",
            "failureCode": "IMAGE_NOT_FOUND",
        }
    ]
    assert answer["progress"]["failureCodes"] == ["IMAGE_NOT_FOUND"]
    assert ecr.repository("app", region="eu-west-1").tag_index == {"kept": kept.digest}

"""Replication (spec §8.2): PutReplicationConfiguration, DescribeRegistry,
DescribeImageReplicationStatus, and replicas really arriving in other regions and accounts."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from helpers import KEEP_ONE_LIFECYCLE, image_manifest, requires_member

from pytest_ecr.protocol.model import service_model

ACCOUNT = "123456789012"
OTHER = "222222222222"
EU = {"region": "eu-west-1", "registryId": ACCOUNT}
DELAY = 30.0


def rule(*destinations: dict, filters: tuple[str, ...] = (), delete: bool | None = None) -> dict:
    r: dict = {"destinations": list(destinations)}
    if filters:
        r["repositoryFilters"] = [{"filter": f, "filterType": "PREFIX_MATCH"} for f in filters]
    if delete is not None:
        r["deleteReplication"] = {"enabled": delete}
    return r


def configure(client, *rules: dict) -> dict:
    return client.put_replication_configuration(replicationConfiguration={"rules": list(rules)})


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def statuses(client, repo: str, digest: str) -> list[dict]:
    return client.describe_image_replication_status(repositoryName=repo, imageId={"imageDigest": digest})[
        "replicationStatuses"
    ]


def allow_replication(ecr, account: str = OTHER, region: str = "us-east-1", actions=None) -> None:
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": actions or ["ecr:CreateRepository", "ecr:ReplicateImage"],
                }
            ],
        }
    )
    ecr.client(account=account, region=region).put_registry_policy(policyText=text)


# -- configuration --------------------------------------------------------------------------------


def test_describe_registry_never_configured(ecr_client):
    answer = ecr_client.describe_registry()
    assert answer["registryId"] == ACCOUNT
    assert answer["replicationConfiguration"] == {"rules": []}


@requires_member("ReplicationRule", "deleteReplication")
def test_configuration_round_trip_and_clear(ecr_client):
    rules = [
        rule(EU, {"region": "us-west-2", "registryId": OTHER}, filters=("prod",), delete=True),
        rule({"region": "ap-south-1", "registryId": ACCOUNT}),
    ]
    assert configure(ecr_client, *rules)["replicationConfiguration"] == {"rules": rules}
    assert ecr_client.describe_registry()["replicationConfiguration"] == {"rules": rules}
    assert configure(ecr_client)["replicationConfiguration"] == {"rules": []}
    assert ecr_client.describe_registry()["replicationConfiguration"] == {"rules": []}


def test_configuration_belongs_to_one_region(ecr, ecr_client):
    configure(ecr_client, rule(EU))
    assert ecr.client(region="eu-west-1").describe_registry()["replicationConfiguration"] == {"rules": []}


def test_destination_same_as_source(ecr_client):
    with pytest.raises(ClientError) as exc:
        configure(ecr_client, rule(EU, {"region": "us-east-1", "registryId": ACCOUNT}))
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
        "'Replication destination cannot be the same as the source registry'",
    )


def test_at_most_ten_rules(ecr_client):
    regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "us-west-1", "us-west-2"]
    regions += ["ap-south-1", "ap-northeast-1", "ca-central-1", "sa-east-1"]
    configure(ecr_client, *(rule({"region": r, "registryId": ACCOUNT}) for r in regions[:10]))
    with pytest.raises(ClientError) as exc:
        configure(ecr_client, *(rule({"region": r, "registryId": ACCOUNT}) for r in regions))
    if service_model().shape_for("ReplicationRuleList").metadata["max"] == 10:
        # botocore 1.41.0's model caps the list itself: the protocol layer's error, as ECR gave then
        code, message = error(exc)
        assert code == "InvalidParameterException"
        assert "length less than or equal to 10" in message
    else:
        assert error(exc) == (
            "ValidationException",
            "The replication configuration can contain at most 10 rules",
        )
    assert len(ecr_client.describe_registry()["replicationConfiguration"]["rules"]) == 10


def test_at_most_25_unique_destinations(ecr_client):
    accounts = [f"{n:012d}" for n in range(1, 27)]
    duplicated = [{"region": "eu-west-1", "registryId": a} for a in accounts[:25]] * 2
    configure(ecr_client, rule(*duplicated[:25]), rule(*duplicated[25:]))
    with pytest.raises(ClientError) as exc:
        configure(ecr_client, rule(*({"region": "eu-west-1", "registryId": a} for a in accounts)))
    assert error(exc) == (
        "ValidationException",
        "The replication configuration can contain at most 25 unique destinations",
    )


def test_at_most_100_filters_per_rule(ecr_client):
    configure(ecr_client, rule(EU, filters=tuple(f"p{n}" for n in range(100))))
    with pytest.raises(ClientError) as exc:
        configure(ecr_client, rule(EU, filters=tuple(f"p{n}" for n in range(101))))
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "length less than or equal to 100" in exc.value.response["Error"]["Message"]


def test_cross_partition_destination(ecr_client):
    with pytest.raises(ClientError) as exc:
        configure(ecr_client, rule({"region": "cn-north-1", "registryId": ACCOUNT}))
    assert exc.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize(
    "bad",
    [
        {"destinations": [EU], "repositoryFilters": [{"filter": "prod", "filterType": "WILDCARD"}]},
        {"destinations": [EU], "repositoryFilters": [{"filter": "Prod", "filterType": "PREFIX_MATCH"}]},
        {"destinations": [{"region": "EU_WEST", "registryId": ACCOUNT}]},
        {"destinations": [{"region": "eu-west-1", "registryId": "12"}]},
    ],
)
def test_malformed_rules(raw_client, bad):
    with pytest.raises(ClientError) as exc:
        raw_client.put_replication_configuration(replicationConfiguration={"rules": [bad]})
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"


# -- replication ----------------------------------------------------------------------------------


def test_push_is_replicated_when_the_clock_reaches_it(ecr, ecr_client):
    ecr_client.create_repository(repositoryName="app")
    configure(ecr_client, rule(EU))
    text = image_manifest(ecr, "app")
    pushed = ecr_client.put_image(repositoryName="app", imageManifest=text, imageTag="v1")["image"]
    digest = pushed["imageId"]["imageDigest"]
    eu = ecr.client(region="eu-west-1")

    assert statuses(ecr_client, "app", digest) == [
        {"region": "eu-west-1", "registryId": ACCOUNT, "status": "IN_PROGRESS"}
    ]
    with pytest.raises(ClientError) as exc:
        eu.describe_images(repositoryName="app")
    assert exc.value.response["Error"]["Code"] == "RepositoryNotFoundException"

    ecr.clock.advance(DELAY - 1)
    assert statuses(ecr_client, "app", digest)[0]["status"] == "IN_PROGRESS"
    ecr.clock.advance(1)
    assert statuses(ecr_client, "app", digest)[0]["status"] == "COMPLETE"

    [detail] = eu.describe_images(repositoryName="app")["imageDetails"]
    assert (detail["imageDigest"], detail["imageTags"], detail["registryId"]) == (digest, ["v1"], ACCOUNT)
    [image] = eu.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])["images"]
    assert image["imageManifest"] == text
    assert image["imageManifestMediaType"] == pushed["imageManifestMediaType"]
    # The layers came along: the destination serves them.
    for layer in json.loads(text)["layers"]:
        answer = eu.get_download_url_for_layer(repositoryName="app", layerDigest=layer["digest"])
        assert answer["layerDigest"] == layer["digest"]
    repo = eu.describe_repositories(repositoryNames=["app"])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}


def test_status_by_tag_and_errors(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule(EU))
    pushed = ecr.push_image("app", "v1")
    answer = ecr_client.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "v1"})
    assert answer["repositoryName"] == "app"
    assert answer["imageId"] == {"imageDigest": pushed.digest, "imageTag": "v1"}
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "nope"})
    assert exc.value.response["Error"]["Code"] == "ImageNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_image_replication_status(repositoryName="missing", imageId={"imageTag": "v1"})
    assert error(exc) == (
        "RepositoryNotFoundException",
        f"The repository with name 'missing' does not exist in the registry with id '{ACCOUNT}'",
    )


def test_only_pushes_after_the_configuration(ecr, ecr_client):
    ecr.create_repository("app")
    before = ecr.push_image("app", "old")
    configure(ecr_client, rule(EU))
    after = ecr.push_image("app", "new")
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", before.digest) == []
    eu = ecr.client(region="eu-west-1")
    ids = eu.list_images(repositoryName="app")["imageIds"]
    assert ids == [{"imageDigest": after.digest, "imageTag": "new"}]


def test_prefix_filters(ecr, ecr_client):
    for name in ("prod/api", "production", "dev/api"):
        ecr.create_repository(name)
    configure(ecr_client, rule(EU, filters=("prod",)))
    pushed = {name: ecr.push_image(name, "v1") for name in ("prod/api", "production", "dev/api")}
    ecr.clock.advance(DELAY)
    eu = ecr.client(region="eu-west-1")
    names = {r["repositoryName"] for r in eu.describe_repositories()["repositories"]}
    assert names == {"prod/api", "production"}
    assert statuses(ecr_client, "dev/api", pushed["dev/api"].digest) == []


def test_several_destinations_and_deduplication(ecr, ecr_client):
    ecr.create_repository("app")
    west = {"region": "us-west-2", "registryId": ACCOUNT}
    configure(ecr_client, rule(EU, west), rule(west))
    pushed = ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", pushed.digest) == [
        {"region": "eu-west-1", "registryId": ACCOUNT, "status": "COMPLETE"},
        {"region": "us-west-2", "registryId": ACCOUNT, "status": "COMPLETE"},
    ]
    for region in ("eu-west-1", "us-west-2"):
        assert ecr.repository("app", region=region).tag_index == {"v1": pushed.digest}


def test_no_chaining(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule(EU))
    configure(ecr.client(region="eu-west-1"), rule({"region": "us-west-2", "registryId": ACCOUNT}))
    pushed = ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY * 3)
    assert ecr.repository("app", region="eu-west-1").tag_index == {"v1": pushed.digest}
    assert "app" not in ecr.store.registry(ACCOUNT, "us-west-2").repositories
    eu = ecr.client(region="eu-west-1")
    assert statuses(eu, "app", pushed.digest) == []


def test_replica_keeps_manifest_lists_and_arrives_at_the_due_time(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule(EU))
    pushed = ecr.push_image("app", "multi", platforms=["linux/amd64", "linux/arm64"])
    t0 = ecr.clock.now()
    ecr.clock.advance(DELAY + 100)
    eu = ecr.client(region="eu-west-1")
    details = {d["imageDigest"]: d for d in eu.describe_images(repositoryName="app")["imageDetails"]}
    assert set(details) == {pushed.digest, *pushed.children}
    assert details[pushed.digest]["imageTags"] == ["multi"]
    assert details[pushed.digest]["imagePushedAt"].timestamp() == pytest.approx(t0 + DELAY)


def test_adding_a_tag_replicates_the_tag(ecr, ecr_client):
    ecr_client.create_repository(repositoryName="app")
    configure(ecr_client, rule(EU))
    text = image_manifest(ecr, "app")
    ecr_client.put_image(repositoryName="app", imageManifest=text, imageTag="v1")
    ecr.clock.advance(DELAY)
    ecr_client.put_image(repositoryName="app", imageManifest=text, imageTag="latest")
    ecr.clock.advance(DELAY)
    [detail] = ecr.client(region="eu-west-1").describe_images(repositoryName="app")["imageDetails"]
    assert sorted(detail["imageTags"]) == ["latest", "v1"]


def test_policies_are_not_replicated(ecr, ecr_client):
    ecr.create_repository("app")
    ecr_client.set_repository_policy(
        repositoryName="app",
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}],
            }
        ),
    )
    ecr_client.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=KEEP_ONE_LIFECYCLE)
    configure(ecr_client, rule(EU))
    ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY)
    eu = ecr.client(region="eu-west-1")
    eu.describe_images(repositoryName="app")
    with pytest.raises(ClientError) as exc:
        eu.get_repository_policy(repositoryName="app")
    assert exc.value.response["Error"]["Code"] == "RepositoryPolicyNotFoundException"
    with pytest.raises(ClientError) as exc:
        eu.get_lifecycle_policy(repositoryName="app")
    assert exc.value.response["Error"]["Code"] == "LifecyclePolicyNotFoundException"


def test_immutable_destination_keeps_its_tag(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.create_repository("app", region="eu-west-1", imageTagMutability="IMMUTABLE")
    theirs = ecr.push_image("app", "v1", region="eu-west-1")
    configure(ecr_client, rule(EU))
    ours = ecr.push_image("app", ["v1", "v2"])
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", ours.digest)[0]["status"] == "COMPLETE"
    eu = ecr.client(region="eu-west-1")
    tags = {
        d["imageDigest"]: d.get("imageTags") for d in eu.describe_images(repositoryName="app")["imageDetails"]
    }
    assert tags == {theirs.digest: ["v1"], ours.digest: ["v2"]}


def test_mutable_destination_tag_moves(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.create_repository("app", region="eu-west-1")
    theirs = ecr.push_image("app", "v1", region="eu-west-1")
    configure(ecr_client, rule(EU))
    ours = ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY)
    eu = ecr.client(region="eu-west-1")
    tags = {
        d["imageDigest"]: d.get("imageTags") for d in eu.describe_images(repositoryName="app")["imageDetails"]
    }
    assert tags == {theirs.digest: None, ours.digest: ["v1"]}


# -- cross-account --------------------------------------------------------------------------------


def test_cross_account_without_a_policy_fails(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule({"region": "us-east-1", "registryId": OTHER}))
    pushed = ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", pushed.digest) == [
        {"region": "us-east-1", "registryId": OTHER, "status": "FAILED", "failureCode": "ACCESS_DENIED"}
    ]
    assert ecr.client(account=OTHER).describe_repositories()["repositories"] == []


def test_cross_account_with_an_allowing_policy(ecr, ecr_client):
    ecr.create_repository("app")
    allow_replication(ecr)
    configure(ecr_client, rule({"region": "us-east-1", "registryId": OTHER}))
    pushed = ecr.push_image("app", "v1")
    other = ecr.client(account=OTHER)
    with pytest.raises(ClientError):
        other.describe_images(repositoryName="app")
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", pushed.digest)[0]["status"] == "COMPLETE"
    [detail] = other.describe_images(repositoryName="app")["imageDetails"]
    assert (detail["registryId"], detail["imageDigest"]) == (OTHER, pushed.digest)
    [image] = other.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])["images"]
    assert image["imageManifest"] == pushed.manifest


def test_cross_account_policy_of_another_region_does_not_count(ecr, ecr_client):
    ecr.create_repository("app")
    allow_replication(ecr, region="eu-west-1")
    configure(ecr_client, rule({"region": "us-east-1", "registryId": OTHER}))
    pushed = ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", pushed.digest)[0]["status"] == "FAILED"


def test_cross_account_without_create_repository_needs_the_repository(ecr, ecr_client):
    ecr.create_repository("app")
    allow_replication(ecr, actions="ecr:ReplicateImage")
    configure(ecr_client, rule({"region": "us-east-1", "registryId": OTHER}))
    first = ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", first.digest)[0]["failureCode"] == "ACCESS_DENIED"
    ecr.create_repository("app", account=OTHER)
    second = ecr.push_image("app", "v2")
    ecr.clock.advance(DELAY)
    assert statuses(ecr_client, "app", second.digest)[0]["status"] == "COMPLETE"
    assert ecr.repository("app", account=OTHER).tag_index == {"v2": second.digest}


# -- deletions ------------------------------------------------------------------------------------


@requires_member("ReplicationRule", "deleteReplication")
@pytest.mark.parametrize("mirror", [True, False])
def test_delete_replication(ecr, ecr_client, mirror):
    ecr.create_repository("app")
    configure(ecr_client, rule(EU, delete=mirror))
    a = ecr.push_image("app", ["a1", "a2"])
    b = ecr.push_image("app", "b1")
    ecr.clock.advance(DELAY)
    ecr_client.batch_delete_image(
        repositoryName="app", imageIds=[{"imageTag": "a1"}, {"imageDigest": b.digest}]
    )
    ecr.clock.advance(DELAY - 1)
    ecr_client.describe_registry()
    eu = ecr.repository("app", region="eu-west-1")
    assert eu.tag_index == {"a1": a.digest, "a2": a.digest, "b1": b.digest}  # not yet
    ecr.clock.advance(1)
    ecr_client.describe_registry()
    if mirror:
        assert eu.tag_index == {"a2": a.digest}
        assert set(eu.images) == {a.digest}
    else:
        assert eu.tag_index == {"a1": a.digest, "a2": a.digest, "b1": b.digest}


@requires_member("ReplicationRule", "deleteReplication")
def test_deleting_a_tag_that_moved_in_the_destination_keeps_it(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule(EU, delete=True))
    ours = ecr.push_image("app", "v1")
    ecr.clock.advance(DELAY)
    theirs = ecr.push_image("app", "v1", region="eu-west-1")
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    ecr.clock.advance(DELAY)
    ecr_client.describe_registry()
    assert ecr.repository("app", region="eu-west-1").tag_index == {"v1": theirs.digest}
    assert ours.digest in ecr.repository("app", region="eu-west-1").images


@requires_member("ReplicationRule", "deleteReplication")
def test_lifecycle_expirations_are_mirrored(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule(EU, delete=True))
    old = ecr.push_image("app", "old", pushed_days_ago=2)
    new = ecr.push_image("app", "new")
    ecr.clock.advance(DELAY)
    ecr_client.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=KEEP_ONE_LIFECYCLE)
    [action] = ecr.run_lifecycle("app")
    assert action.image_digest == old.digest
    ecr.clock.advance(DELAY)
    ecr_client.describe_registry()
    assert set(ecr.repository("app", region="eu-west-1").images) == {new.digest}


def test_pending_replication_of_a_deleted_image_still_lands(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule(EU))
    pushed = ecr.push_image("app", "v1")
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    ecr.clock.advance(DELAY)
    ecr_client.describe_registry()
    assert ecr.repository("app", region="eu-west-1").tag_index == {"v1": pushed.digest}


def test_replication_seconds_option(ecr, ecr_client):
    ecr.options.replication_seconds = 0
    ecr.create_repository("app")
    configure(ecr_client, rule(EU))
    pushed = ecr.push_image("app", "v1")
    assert statuses(ecr_client, "app", pushed.digest)[0]["status"] == "COMPLETE"
    eu = ecr.client(region="eu-west-1")
    assert eu.list_images(repositoryName="app")["imageIds"] == [
        {"imageDigest": pushed.digest, "imageTag": "v1"}
    ]

"""Tests of the promotion tool, run against pytest-ecr's fake ECR (no AWS account, no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from examples.promote_image import (
    MANIFEST_TYPES,
    PromotionError,
    ReplicationError,
    SourceNotFoundError,
    TagImmutableError,
    main,
    promote,
    promote_replica,
)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def tags_by_digest(client: Any, repository: str) -> dict[str, list[str]]:
    pages = client.get_paginator("describe_images").paginate(repositoryName=repository)
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for page in pages for d in page["imageDetails"]}


@pytest.mark.ecr_seed(images={"app": [["staging-aaa", "prod"], "staging-bbb"]})
def test_the_tag_moves_and_the_old_image_stays(ecr, ecr_client):
    repo = ecr.repository("app")
    old, new = repo.tag_index["prod"], repo.tag_index["staging-bbb"]

    done = promote(ecr_client, "app", "staging-bbb")

    assert (done.digest, done.previous, done.changed) == (new, old, True)
    assert tags_by_digest(ecr_client, "app") == {old: ["staging-aaa"], new: ["prod", "staging-bbb"]}
    # The manifest went back byte for byte, with its digest checked by ECR.
    [put] = ecr.calls.assert_called("PutImage", times=1, imageTag="prod", imageDigest=new)
    assert put.params["imageManifest"] == repo.images[new].manifest
    ecr.calls.assert_called("BatchGetImage", times=1, acceptedMediaTypes=MANIFEST_TYPES)


def test_an_image_left_without_tags_is_kept_untagged(ecr, ecr_client, ecr_repo):
    first = ecr.push_image(ecr_repo.name, "prod")  # only tag: prod
    second = ecr.push_image(ecr_repo.name, "staging-2")

    promote(ecr_client, ecr_repo.name, "staging-2")

    rows = ecr_client.list_images(repositoryName=ecr_repo.name)["imageIds"]
    assert {"imageDigest": first.digest} in rows  # untagged, not deleted
    assert {"imageDigest": second.digest, "imageTag": "prod"} in rows
    untagged = ecr_client.list_images(repositoryName=ecr_repo.name, filter={"tagStatus": "UNTAGGED"})
    assert untagged["imageIds"] == [{"imageDigest": first.digest}]


@pytest.mark.ecr_seed(images={"app": ["staging-1"]})
def test_first_promotion_and_repeat_is_a_no_op(ecr, ecr_client):
    digest = ecr.repository("app").tag_index["staging-1"]

    first = promote(ecr_client, "app", "staging-1")
    again = promote(ecr_client, "app", "staging-1")

    assert (first.previous, first.changed) == (None, True)
    assert (again.previous, again.changed) == (digest, False)
    ecr.calls.assert_called("PutImage", times=1)  # the repeat wrote nothing


def test_promote_by_digest(ecr, ecr_client, ecr_repo):
    untagged = ecr.push_image(ecr_repo.name)

    done = promote(ecr_client, ecr_repo.name, untagged.digest, "release")

    assert done.digest == untagged.digest
    assert tags_by_digest(ecr_client, ecr_repo.name) == {untagged.digest: ["release"]}
    ecr.calls.assert_called(
        "BatchGetImage", imageIds=[{"imageDigest": untagged.digest}, {"imageTag": "release"}]
    )


# -- immutability -------------------------------------------------------------------------------


@pytest.mark.ecr_seed(
    repositories=[{"repositoryName": "locked", "imageTagMutability": "IMMUTABLE"}],
    images={"locked": ["staging-1", "staging-2"]},
)
def test_an_immutable_release_tag_is_refused(ecr, ecr_client):
    repo = ecr.repository("locked")
    first, second = repo.tag_index["staging-1"], repo.tag_index["staging-2"]
    promote(ecr_client, "locked", "staging-1")  # a new tag: allowed

    with pytest.raises(TagImmutableError, match=f"tag 'prod' is immutable and names {first}") as excinfo:
        promote(ecr_client, "locked", "staging-2")

    assert excinfo.value.__cause__.response["Error"]["Code"] == "ImageTagAlreadyExistsException"
    assert tags_by_digest(ecr_client, "locked") == {first: ["prod", "staging-1"], second: ["staging-2"]}


@pytest.mark.ecr_seed(
    repositories=[
        {
            "repositoryName": "app",
            "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "prod"}],
        }
    ],
    images={"app": ["staging-1", "staging-2"]},
)
def test_release_tag_excluded_from_immutability_moves(ecr, ecr_client):
    promote(ecr_client, "app", "staging-1")

    done = promote(ecr_client, "app", "staging-2")  # staging-* stay immutable, prod may move

    assert done.changed
    assert ecr.repository("app").tag_index["prod"] == ecr.repository("app").tag_index["staging-2"]


# -- multi-arch ---------------------------------------------------------------------------------


@pytest.mark.ecr_seed(
    images={"app": [{"tags": ["staging-m"], "platforms": ["linux/amd64", "linux/arm64/v8"]}]}
)
def test_a_multi_arch_index_is_promoted_by_digest(ecr, ecr_client):
    repo = ecr.repository("app")
    index = repo.tag_index["staging-m"]
    children = repo.images[index].children

    done = promote(ecr_client, "app", index, "prod")

    assert (done.digest, done.media_type) == (index, OCI_INDEX)
    # The index itself got the tag: a pull of app:prod resolves per platform, as before.
    got = ecr_client.batch_get_image(
        repositoryName="app", imageIds=[{"imageTag": "prod"}], acceptedMediaTypes=[OCI_INDEX]
    )["images"]
    assert [g["imageId"]["imageDigest"] for g in got] == [index]
    assert tags_by_digest(ecr_client, "app") == {
        **{child: [] for child in children},
        index: ["prod", "staging-m"],
    }


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.ecr_seed(images={"app": ["staging-1", "prod"]})
def test_missing_source_is_an_error(ecr, ecr_client):
    before = tags_by_digest(ecr_client, "app")

    with pytest.raises(SourceNotFoundError, match="app: no image 'staging-9' to promote"):
        promote(ecr_client, "app", "staging-9")

    ecr.calls.assert_not_called("PutImage")
    assert tags_by_digest(ecr_client, "app") == before


def test_missing_repository_is_an_error(ecr, ecr_client):
    with pytest.raises(SourceNotFoundError, match="repository 'nope' does not exist") as excinfo:
        promote(ecr_client, "nope", "staging-1")
    assert isinstance(excinfo.value.__cause__, ClientError)


@pytest.mark.ecr_seed(images={"app": ["staging-1"]})
def test_an_archived_source_cannot_be_promoted(ecr, ecr_client):
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageTag": "staging-1"}, targetStorageClass="ARCHIVE"
    )

    with pytest.raises(PromotionError, match="app:staging-1: ImageInaccessible"):
        promote(ecr_client, "app", "staging-1")
    ecr.calls.assert_not_called("PutImage")


@pytest.mark.parametrize("bad", ["", "sha256:" + "0" * 64])
def test_the_release_tag_must_be_a_tag(ecr, ecr_client, bad):
    with pytest.raises(ValueError, match="must be a tag"):
        promote(ecr_client, "app", "staging-1", bad)
    assert len(ecr.calls) == 0


# -- across regions and accounts (ECR replication) ------------------------------------------------

PROD_ACCOUNT = "222222222222"


def replicate_to(client: Any, region: str, registry_id: str) -> None:
    client.put_replication_configuration(
        replicationConfiguration={
            "rules": [{"destinations": [{"region": region, "registryId": registry_id}]}]
        }
    )


def allow_replication_from(client: Any, account: str) -> None:
    """The destination registry's policy that lets ``account`` replicate into it."""
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
        "Resource": "*",
    }
    client.put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def test_the_replica_in_another_region_is_promoted_once_replicated(ecr, ecr_client, ecr_repo):
    replicate_to(ecr_client, "eu-west-1", ecr.account_id)
    pushed = ecr.push_image(ecr_repo.name, "staging-7")
    europe = ecr.client(region="eu-west-1")

    done = promote_replica(
        ecr_client,
        europe,
        ecr_repo.name,
        "staging-7",
        destination_registry=ecr.account_id,
        sleep=ecr.clock.advance,
    )

    assert (done.digest, done.changed) == (pushed.digest, True)
    assert tags_by_digest(europe, ecr_repo.name) == {pushed.digest: ["prod", "staging-7"]}
    assert tags_by_digest(ecr_client, ecr_repo.name) == {pushed.digest: ["staging-7"]}  # source untouched
    # 30 s of replication at one poll per 15 s: IN_PROGRESS at 0 s and 15 s, COMPLETE at 30 s.
    assert ecr.calls.assert_called("DescribeImageReplicationStatus", times=3)[-1].response[
        "replicationStatuses"
    ] == [{"region": "eu-west-1", "registryId": ecr.account_id, "status": "COMPLETE"}]


def test_another_account_needs_its_registry_policy(ecr, ecr_client, ecr_repo):
    prod = ecr.client(region="eu-west-1", account=PROD_ACCOUNT)
    replicate_to(ecr_client, "eu-west-1", PROD_ACCOUNT)
    denied = ecr.push_image(ecr_repo.name, "staging-1")

    with pytest.raises(ReplicationError, match=f"replication to {PROD_ACCOUNT} in eu-west-1 failed"):
        promote_replica(
            ecr_client,
            prod,
            ecr_repo.name,
            "staging-1",
            destination_registry=PROD_ACCOUNT,
            sleep=ecr.clock.advance,
        )
    assert prod.describe_repositories()["repositories"] == []  # nothing reached the account

    allow_replication_from(prod, ecr.account_id)
    allowed = ecr.push_image(ecr_repo.name, "staging-2")
    done = promote_replica(
        ecr_client,
        prod,
        ecr_repo.name,
        "staging-2",
        destination_registry=PROD_ACCOUNT,
        sleep=ecr.clock.advance,
    )

    assert done.digest == allowed.digest != denied.digest
    assert tags_by_digest(prod, ecr_repo.name) == {allowed.digest: ["prod", "staging-2"]}


def test_an_image_no_rule_replicates_is_an_error(ecr, ecr_client, ecr_repo):
    ecr.push_image(ecr_repo.name, "staging-1")  # pushed before any replication rule

    with pytest.raises(ReplicationError, match=r"not replicated to \d+ in eu-west-1: no replication rule"):
        promote_replica(
            ecr_client,
            ecr.client(region="eu-west-1"),
            ecr_repo.name,
            "staging-1",
            destination_registry=ecr.account_id,
            sleep=ecr.clock.advance,
        )
    ecr.calls.assert_not_called("PutImage")


@pytest.mark.ecr_time("2026-03-02T09:00:00Z")  # frozen: only the tool's waiting moves the clock
def test_a_slow_replication_times_out(ecr, ecr_client, ecr_repo):
    ecr.options.replication_seconds = 3600
    replicate_to(ecr_client, "eu-west-1", ecr.account_id)
    ecr.push_image(ecr_repo.name, "staging-1")
    start = ecr.clock.now()

    with pytest.raises(ReplicationError, match="still IN_PROGRESS after 120 s"):
        promote_replica(
            ecr_client,
            ecr.client(region="eu-west-1"),
            ecr_repo.name,
            "staging-1",
            destination_registry=ecr.account_id,
            wait_seconds=120,
            poll_seconds=30,
            sleep=ecr.clock.advance,
        )
    assert ecr.clock.now() - start == 120  # four polls of virtual waiting, no real sleep


# -- command line -------------------------------------------------------------------------------


@pytest.mark.ecr_seed(images={"app": ["prod", "staging-2"]})
def test_cli_promotes(ecr, capsys):
    repo = ecr.repository("app")
    old, new = repo.tag_index["prod"], repo.tag_index["staging-2"]

    assert main(["--repository", "app", "--source", "staging-2"]) == 0
    assert main(["--repository", "app", "--source", "staging-2"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"app:prod -> {new} (was {old})",
        f"app:prod already names {new}",
    ]


@pytest.mark.ecr_seed(
    repositories=[{"repositoryName": "locked", "imageTagMutability": "IMMUTABLE"}],
    images={"locked": ["prod", "staging-2"]},
)
def test_cli_immutable_refusal_exits_2(ecr, capsys):
    assert main(["--repository", "locked", "--source", "staging-2", "--to", "prod"]) == 2

    assert capsys.readouterr().err.startswith("error: locked: tag 'prod' is immutable and names sha256:")


def test_cli_promotes_the_replica_in_another_region(ecr, ecr_client, ecr_repo, capsys):
    ecr.options.replication_seconds = 0  # replicas land at once: the CLI's real sleep never runs
    replicate_to(ecr_client, "eu-west-1", ecr.account_id)
    pushed = ecr.push_image(ecr_repo.name, "staging-3")

    assert main(["--repository", ecr_repo.name, "--source", "staging-3", "--to-region", "eu-west-1"]) == 0

    assert capsys.readouterr().out == f"{ecr_repo.name}:prod -> {pushed.digest} (was unset)\n"
    assert tags_by_digest(ecr.client(region="eu-west-1"), ecr_repo.name) == {
        pushed.digest: ["prod", "staging-3"]
    }

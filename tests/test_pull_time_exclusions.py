"""Pull-time update exclusions (spec §8.8) and the caller's principal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from helpers import requires_operation

from pytest_ecr.service.context import Context, principal_account, root_principal

ACCOUNT = "123456789012"
PULLER = f"arn:aws:iam::{ACCOUNT}:role/ci-puller"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/deployer"
PATTERN = r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$"

pytestmark = requires_operation(
    "RegisterPullTimeUpdateExclusion", "DeregisterPullTimeUpdateExclusion", "ListPullTimeUpdateExclusions"
)


def err(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return exc.value.response["Error"]


def listed(client) -> list[str]:
    return client.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]


# -- Register / Deregister / List ----------------------------------------------------------------


def test_register_list_deregister(ecr_client, ecr_clock):
    out = ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    assert out["principalArn"] == PULLER
    assert out["createdAt"] == ecr_clock.now()
    assert listed(ecr_client) == [PULLER]
    assert ecr_client.deregister_pull_time_update_exclusion(principalArn=PULLER)["principalArn"] == PULLER
    assert listed(ecr_client) == []


def test_users_and_role_paths_are_principals(ecr_client):
    for arn in (
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        f"arn:aws:iam::{ACCOUNT}:role/service-role/ci+build=x,y.z@w-1",
        "arn:aws-us-gov:iam::210987654321:role/gov",
    ):
        ecr_client.register_pull_time_update_exclusion(principalArn=arn)
    assert len(listed(ecr_client)) == 3


def test_register_twice(ecr_client):
    ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    with pytest.raises(ClientError) as exc:
        ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    assert err(exc) == {
        "Code": "ExclusionAlreadyExistsException",
        "Message": f"The principal '{PULLER}' is already excluded from pull time updates in the registry "
        f"with id '{ACCOUNT}'",
    }


def test_deregister_unknown(ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.deregister_pull_time_update_exclusion(principalArn=PULLER)
    assert err(exc) == {
        "Code": "ExclusionNotFoundException",
        "Message": f"The principal '{PULLER}' is not excluded from pull time updates in the registry "
        f"with id '{ACCOUNT}'",
    }


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{ACCOUNT}:root",  # an account, not a role or user
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/session",
        f"arn:aws:iam::{ACCOUNT}:group/devs",
        "arn:aws:iam::1234:role/ci",
        f"arn:aws:iam:us-east-1:{ACCOUNT}:role/ci",
        f"arn:AWS:iam::{ACCOUNT}:role/ci",
        f"arn:aws:iam::{ACCOUNT}:role/",
        f"arn:aws:iam::{ACCOUNT}:role/has space",
    ],
)
@pytest.mark.parametrize(
    "call", ["register_pull_time_update_exclusion", "deregister_pull_time_update_exclusion"]
)
def test_principal_arn_pattern(ecr_client, arn, call):
    with pytest.raises(ClientError) as exc:
        getattr(ecr_client, call)(principalArn=arn)
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": f"Invalid parameter at 'principalArn' failed to satisfy constraint: "
        f"'must satisfy regular expression '{PATTERN}''",
    }


def test_principal_arn_length(ecr_client):
    arn = f"arn:aws:iam::{ACCOUNT}:role/" + "r" * 170  # 201 characters
    with pytest.raises(ClientError) as exc:
        ecr_client.register_pull_time_update_exclusion(principalArn=arn)
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'principalArn' failed to satisfy constraint: "
        "'must have length less than or equal to 200'",
    }
    ecr_client.register_pull_time_update_exclusion(principalArn=arn[:-1])  # 200 is fine


def test_at_most_a_hundred_exclusions(ecr_client):
    for i in range(100):
        ecr_client.register_pull_time_update_exclusion(principalArn=f"arn:aws:iam::{ACCOUNT}:role/r{i:03d}")
    with pytest.raises(ClientError) as exc:
        ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    assert err(exc) == {
        "Code": "LimitExceededException",
        "Message": f"The registry with id '{ACCOUNT}' already has the maximum allowed number of pull time "
        "update exclusions which is '100'",
    }
    ecr_client.deregister_pull_time_update_exclusion(principalArn=f"arn:aws:iam::{ACCOUNT}:role/r000")
    ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    assert len(listed(ecr_client)) == 100


def test_list_paginates_in_arn_order(ecr_client):
    arns = [f"arn:aws:iam::{ACCOUNT}:role/r{i:02d}" for i in range(25)]
    for arn in reversed(arns):
        ecr_client.register_pull_time_update_exclusion(principalArn=arn)
    first = ecr_client.list_pull_time_update_exclusions(maxResults=10)
    assert first["pullTimeUpdateExclusions"] == arns[:10]
    second = ecr_client.list_pull_time_update_exclusions(maxResults=10, nextToken=first["nextToken"])
    assert second["pullTimeUpdateExclusions"] == arns[10:20]
    third = ecr_client.list_pull_time_update_exclusions(maxResults=10, nextToken=second["nextToken"])
    assert third["pullTimeUpdateExclusions"] == arns[20:]
    assert "nextToken" not in third
    assert "nextToken" not in ecr_client.list_pull_time_update_exclusions()  # 25 < the default 100


def test_list_rejects_a_foreign_token_and_max_results_out_of_range(ecr_client, raw_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.list_pull_time_update_exclusions(nextToken="not-a-token")
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken value'",
    }
    with pytest.raises(ClientError) as exc:
        raw_client.list_pull_time_update_exclusions(maxResults=1001)
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'maxResults' failed to satisfy constraint: "
        "'Member must have value less than or equal to 1000'",
    }


def test_exclusions_are_per_registry(ecr, ecr_client):
    ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    assert listed(ecr.client(region="eu-west-1")) == []
    assert listed(ecr.client(account="210987654321")) == []


# -- the effect on lastRecordedPullTime -----------------------------------------------------------


def last_pulled(client, tag: str = "v1"):
    detail = client.describe_images(repositoryName="app", imageIds=[{"imageTag": tag}])["imageDetails"][0]
    return detail.get("lastRecordedPullTime")


def pull(client, tag: str = "v1") -> None:
    assert client.batch_get_image(repositoryName="app", imageIds=[{"imageTag": tag}])["images"]


def test_excluded_principal_does_not_update_the_pull_time(ecr, ecr_client, ecr_clock):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    puller, deployer = ecr.client(principal=PULLER), ecr.client(principal=DEPLOYER)

    pull(puller)
    assert last_pulled(ecr_client) is None
    ecr_clock.advance(seconds=60)
    pull(deployer)
    deployed_at = ecr_clock.now()
    assert last_pulled(ecr_client) == deployed_at
    ecr_clock.advance(seconds=60)
    pull(puller)
    assert last_pulled(ecr_client) == deployed_at  # unchanged
    ecr_clock.advance(seconds=60)
    pull(ecr_client)  # a plain client is the account's root: never excluded
    assert last_pulled(ecr_client) == ecr_clock.now()


def test_deregistering_resumes_recording(ecr, ecr_client, ecr_clock):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    ecr_client.deregister_pull_time_update_exclusion(principalArn=PULLER)
    pull(ecr.client(principal=PULLER))
    assert last_pulled(ecr_client) == ecr_clock.now()


def test_the_image_registry_exclusions_apply(ecr, ecr_clock):
    """A cross-account pull is recorded unless the registry holding the image excludes the caller."""
    other = "210987654321"
    reader = f"arn:aws:iam::{other}:role/reader"
    owner = ecr.client(account=other)
    ecr.create_repository("app", account=other)
    ecr.push_image("app", "v1", account=other)
    pullers = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "ecr:BatchGetImage"}
    owner.set_repository_policy(
        repositoryName="app", policyText=json.dumps({"Version": "2012-10-17", "Statement": [pullers]})
    )
    ecr.client().register_pull_time_update_exclusion(principalArn=reader)  # our registry: no effect
    ecr.client(principal=reader).batch_get_image(
        repositoryName="app", registryId=other, imageIds=[{"imageTag": "v1"}]
    )
    assert last_pulled(owner) == ecr_clock.now()
    ecr_clock.advance(seconds=60)
    owner.register_pull_time_update_exclusion(principalArn=f"arn:aws:iam::{ACCOUNT}:role/ci-puller")
    ecr.client(principal=PULLER).batch_get_image(
        repositoryName="app", registryId=other, imageIds=[{"imageTag": "v1"}]
    )
    assert last_pulled(owner) == ecr_clock.now() - timedelta(seconds=60)


def test_excluded_pulls_do_not_protect_from_since_image_pulled(ecr, ecr_client, ecr_clock):
    ecr.create_repository("app")
    scanner = ecr.push_image("app", "scanned", pushed_days_ago=200)
    used = ecr.push_image("app", "used", pushed_days_ago=200)
    ecr_client.register_pull_time_update_exclusion(principalArn=PULLER)
    ecr_clock.advance(days=1)
    pull(ecr.client(principal=PULLER), "scanned")  # e.g. a security scanner walking the registry
    pull(ecr.client(principal=DEPLOYER), "used")
    rule = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "any",
            "countType": "sinceImagePulled",
            "countNumber": 90,
            "countUnit": "days",
        },
        "action": {"type": "transition", "targetStorageClass": "archive"},
    }
    ecr_client.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=json.dumps({"rules": [rule]}))
    done = ecr.run_lifecycle("app")
    assert [(a.image_digest, a.action) for a in done] == [(scanner.digest, "transition")]
    assert used.digest not in {a.image_digest for a in done}


# -- the caller's principal ----------------------------------------------------------------------


def test_client_principal_gives_the_account(ecr):
    other = "210987654321"
    ecr.create_repository("mine", account=other)
    client = ecr.client(principal=f"arn:aws:iam::{other}:role/ci")
    assert [r["repositoryName"] for r in client.describe_repositories()["repositories"]] == ["mine"]
    assert ecr.calls[-1].account == other
    assert ecr.calls[-1].principal == f"arn:aws:iam::{other}:role/ci"


def test_client_principal_and_account_must_agree(ecr):
    ecr.client(account=ACCOUNT, principal=PULLER)  # agreeing is fine
    with pytest.raises(ValueError, match="disagrees"):
        ecr.client(account="210987654321", principal=PULLER)
    with pytest.raises(ValueError, match="not an IAM principal ARN"):
        ecr.client(principal="ci-puller")


def test_plain_clients_are_the_account_root(ecr, ecr_client):
    ecr_client.describe_repositories()
    ecr.client(account="210987654321").describe_repositories()
    ecr.client(region="cn-north-1").describe_repositories()
    assert [c.principal for c in ecr.calls] == [
        f"arn:aws:iam::{ACCOUNT}:root",
        "arn:aws:iam::210987654321:root",
        f"arn:aws-cn:iam::{ACCOUNT}:root",
    ]


def test_caller_lookup_is_one_place(ecr):
    ecr.client(principal=PULLER)
    key = next(iter(ecr._access_keys))
    assert ecr.caller_for_key(key) == (ACCOUNT, PULLER)
    assert ecr.caller_for_key("AKIAUNKNOWN") == (ACCOUNT, None)


def test_context_principal_defaults(ecr):
    ctx = ecr.context("210987654321", "us-gov-west-1")
    assert isinstance(ctx, Context)
    assert (
        ctx.principal
        == "arn:aws-us-gov:iam::210987654321:root"
        == root_principal("210987654321", "us-gov-west-1")
    )
    assert ecr.context(principal=PULLER).principal == PULLER
    assert principal_account(PULLER) == ACCOUNT

"""Resource-based policies decide cross-account requests, and explicit denies any request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pytest_ecr.service.access import ALLOW, DENY, decision

ACCOUNT = "123456789012"
OWNER = "210987654321"
REPO_ARN = f"arn:aws:ecr:us-east-1:{OWNER}:repository/app"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action}


def deny(principal: Any, action: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action}


def error(call: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]


@pytest.fixture
def owner(ecr):
    """Account OWNER's client, with repository ``app`` holding image ``v1``."""
    ecr.create_repository("app", account=OWNER)
    ecr.push_image("app", "v1", account=OWNER)
    return ecr.client(account=OWNER)


def pull(client: Any) -> Any:
    return client.batch_get_image(repositoryName="app", registryId=OWNER, imageIds=[{"imageTag": "v1"}])


def test_another_account_needs_the_repository_policy(ecr, owner):
    assert error(lambda: pull(ecr.client())) == {
        "Code": "AccessDeniedException",
        "Message": f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: ecr:BatchGetImage on "
        f"resource: {REPO_ARN} because no resource-based policy allows the ecr:BatchGetImage action",
    }
    owner.set_repository_policy(
        repositoryName="app",
        policyText=policy(allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "ecr:BatchGetImage")),
    )
    assert [i["imageId"]["imageTag"] for i in pull(ecr.client())["images"]] == ["v1"]
    # Only that action: the layers of the image are still out of reach.
    repo = ecr.repository("app", account=OWNER)
    layer = repo.images[repo.tag_index["v1"]].blob_digests[-1]
    assert (
        error(
            lambda: ecr.client().get_download_url_for_layer(
                repositoryName="app", registryId=OWNER, layerDigest=layer
            )
        )["Code"]
        == "AccessDeniedException"
    )


def test_a_missing_repository_of_another_account_is_denied_not_missing(ecr, owner):
    found = error(lambda: ecr.client().describe_images(repositoryName="nope", registryId=OWNER))
    assert found["Code"] == "AccessDeniedException"
    assert (
        "repository/nope because no resource-based policy allows the ecr:DescribeImages action"
        in found["Message"]
    )


@pytest.mark.parametrize(
    ("principal", "caller", "allowed"),
    [
        ("*", None, True),
        ({"AWS": "*"}, None, True),
        ({"AWS": ACCOUNT}, None, True),
        ({"AWS": [OWNER, f"arn:aws:iam::{ACCOUNT}:root"]}, f"arn:aws:iam::{ACCOUNT}:role/ci", True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci"}, f"arn:aws:iam::{ACCOUNT}:role/ci", True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci"}, None, False),  # the role, not the whole account
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci"}, f"arn:aws:iam::{ACCOUNT}:role/other", False),
        (
            {"AWS": f"arn:aws:iam::{ACCOUNT}:role/deploy/ci"},
            f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/run-7",
            True,
        ),
        ({"Service": "lambda.amazonaws.com"}, None, False),
        ({"AWS": "999999999999"}, None, False),
    ],
)
def test_who_a_statement_names(ecr, owner, principal, caller, allowed):
    owner.set_repository_policy(
        repositoryName="app", policyText=policy(allow(principal, "ecr:BatchGetImage"))
    )
    client = ecr.client(principal=caller) if caller else ecr.client()
    if allowed:
        assert len(pull(client)["images"]) == 1
    else:
        assert error(lambda: pull(client))["Code"] == "AccessDeniedException"


@pytest.mark.parametrize(
    ("actions", "allowed"),
    [
        ("ecr:*", {"BatchGetImage", "ListImages", "DescribeImages"}),
        ("*", {"BatchGetImage", "ListImages", "DescribeImages"}),
        ("ecr:Batch*", {"BatchGetImage"}),
        (["ECR:listimages", "ecr:Describe?mages"], {"ListImages", "DescribeImages"}),
        ("ecr:BatchGet", set()),  # an action name matches whole, not as a prefix
    ],
)
def test_which_actions_a_statement_names(ecr, owner, actions, allowed):
    owner.set_repository_policy(repositoryName="app", policyText=policy(allow({"AWS": ACCOUNT}, actions)))
    client = ecr.client()
    calls = {
        "BatchGetImage": lambda: pull(client),
        "ListImages": lambda: client.list_images(repositoryName="app", registryId=OWNER),
        "DescribeImages": lambda: client.describe_images(repositoryName="app", registryId=OWNER),
    }
    for name, call in calls.items():
        if name in allowed:
            call()
        else:
            assert error(call)["Code"] == "AccessDeniedException", name


def test_an_explicit_deny_binds_the_owner_too(ecr, owner):
    owner.set_repository_policy(
        repositoryName="app",
        policyText=policy(allow({"AWS": "*"}, "ecr:*"), deny("*", ["ecr:BatchDeleteImage", "ecr:PutImage"])),
    )
    denied = error(lambda: owner.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}]))
    assert denied["Message"] == (
        f"User: arn:aws:iam::{OWNER}:root is not authorized to perform: ecr:BatchDeleteImage on resource: "
        f"{REPO_ARN} with an explicit deny in a resource-based policy"
    )
    other = ecr.client()
    assert len(pull(other)["images"]) == 1  # "ecr:*" lets the other account in...
    delete = error(
        lambda: other.batch_delete_image(
            repositoryName="app", registryId=OWNER, imageIds=[{"imageTag": "v1"}]
        )
    )
    assert delete["Message"].endswith("with an explicit deny in a resource-based policy")  # ...but not this
    assert owner.list_images(repositoryName="app")["imageIds"][0]["imageTag"] == "v1"  # nothing lost
    # The fake's own helpers act as ECR itself, beyond any policy.
    ecr.push_image("app", "v2", account=OWNER)


def test_statements_with_conditions_apply_to_no_request(ecr, owner):
    conditional = allow({"AWS": ACCOUNT}, "ecr:BatchGetImage") | {
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}
    }
    owner.set_repository_policy(repositoryName="app", policyText=policy(conditional))
    assert error(lambda: pull(ecr.client()))["Code"] == "AccessDeniedException"


def test_listing_another_registry(ecr, owner):
    client = ecr.client()
    assert "repository/*" in error(lambda: client.describe_repositories(registryId=OWNER))["Message"]
    owner.set_repository_policy(
        repositoryName="app", policyText=policy(allow({"AWS": ACCOUNT}, "ecr:DescribeRepositories"))
    )
    named = client.describe_repositories(registryId=OWNER, repositoryNames=["app"])["repositories"]
    assert [r["repositoryArn"] for r in named] == [REPO_ARN]


def test_creating_a_repository_in_another_registry_needs_its_registry_policy(ecr, owner):
    client = ecr.client()
    assert error(lambda: client.create_repository(repositoryName="shared", registryId=OWNER))["Code"] == (
        "AccessDeniedException"
    )
    owner.put_registry_policy(policyText=policy(allow({"AWS": ACCOUNT}, "ecr:CreateRepository")))
    created = client.create_repository(repositoryName="shared", registryId=OWNER)["repository"]
    assert created["registryId"] == OWNER


def test_tags_of_another_accounts_repository(ecr, owner):
    client = ecr.client()
    assert (
        error(lambda: client.list_tags_for_resource(resourceArn=REPO_ARN))["Code"] == "AccessDeniedException"
    )
    owner.set_repository_policy(
        repositoryName="app", policyText=policy(allow({"AWS": ACCOUNT}, "ecr:ListTagsForResource"))
    )
    assert client.list_tags_for_resource(resourceArn=REPO_ARN)["tags"] == []


def test_the_policy_reading_itself():
    text = policy(allow({"AWS": OWNER}, "ecr:Get*"), deny({"AWS": OWNER}, "ecr:GetLifecyclePolicy"))
    root = f"arn:aws:iam::{OWNER}:root"
    assert decision(text, root, "ecr:GetRepositoryPolicy") == ALLOW
    assert decision(text, root, "ecr:GetLifecyclePolicy") == DENY
    assert decision(text, root, "ecr:PutImage") is None
    assert decision(None, root, "ecr:PutImage") is None
    assert decision(text, f"arn:aws:iam::{ACCOUNT}:root", "ecr:GetRepositoryPolicy") is None

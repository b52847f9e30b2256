"""Registry permissions policy: Put/Get/DeleteRegistryPolicy (spec §8.1)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from pytest_ecr.service.registry_policy import allows

ACCOUNT = "123456789012"
INVALID = "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


REPLICATE = policy(
    {
        "Sid": "replicate",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
        "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*",
    }
)


def test_put_get_delete_round_trip(ecr_client):
    put = ecr_client.put_registry_policy(policyText=REPLICATE)
    assert (put["registryId"], put["policyText"]) == (ACCOUNT, REPLICATE)
    got = ecr_client.get_registry_policy()
    assert (got["registryId"], got["policyText"]) == (ACCOUNT, REPLICATE)
    deleted = ecr_client.delete_registry_policy()
    assert (deleted["registryId"], deleted["policyText"]) == (ACCOUNT, REPLICATE)
    with pytest.raises(ClientError) as exc:
        ecr_client.get_registry_policy()
    assert exc.value.response["Error"]["Code"] == "RegistryPolicyNotFoundException"


def test_put_returns_the_text_as_supplied(ecr_client):
    text = json.dumps(json.loads(REPLICATE), indent=4)
    answer = ecr_client.put_registry_policy(policyText=text)
    assert (answer["registryId"], answer["policyText"]) == (ACCOUNT, text)


@pytest.mark.parametrize("op", ["get_registry_policy", "delete_registry_policy"])
def test_without_a_policy(ecr_client, op):
    with pytest.raises(ClientError) as exc:
        getattr(ecr_client, op)()
    assert exc.value.response["Error"] == {
        "Code": "RegistryPolicyNotFoundException",
        "Message": f"Registry policy does not exist in the registry with id '{ACCOUNT}'",
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2011-01-01", "Statement": json.loads(REPLICATE)["Statement"]}),
        # Unlike a repository policy, no recording shows a registry policy accepted without Version.
        json.dumps({"Statement": json.loads(REPLICATE)["Statement"]}),
        policy({"Effect": "Maybe", "Principal": "*", "Action": "ecr:*"}),
        policy({"Effect": "Allow", "Action": "ecr:ReplicateImage"}),
        policy({"Effect": "Allow", "Principal": "*"}),
    ],
)
def test_invalid_policies(raw_client, text):
    with pytest.raises(ClientError) as exc:
        raw_client.put_registry_policy(policyText=text)
    assert exc.value.response["Error"] == {"Code": "InvalidParameterException", "Message": INVALID}


def test_too_long_policy_is_refused(ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_registry_policy(policyText=" " * 10_241)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"


def test_scope_v2_accepts_any_ecr_action(ecr_client):
    text = policy(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["ecr:BatchGetImage", "ecr:PutImage"]}
    )
    assert ecr_client.put_registry_policy(policyText=text)["policyText"] == text


def test_the_policy_belongs_to_one_registry(ecr, ecr_client):
    ecr_client.put_registry_policy(policyText=REPLICATE)
    for other in (ecr.client(region="eu-west-1"), ecr.client(account="222222222222")):
        with pytest.raises(ClientError) as exc:
            other.get_registry_policy()
        assert exc.value.response["Error"]["Code"] == "RegistryPolicyNotFoundException"


@pytest.mark.parametrize(
    ("principal", "action", "allowed"),
    [
        ({"AWS": "arn:aws:iam::222222222222:root"}, "ecr:ReplicateImage", True),
        ({"AWS": ["111111111111", "222222222222"]}, "ecr:ReplicateImage", True),
        ("*", "ecr:*", True),
        ({"AWS": "*"}, "*", True),
        ({"AWS": "arn:aws:iam::333333333333:root"}, "ecr:ReplicateImage", False),
        ({"AWS": "222222222222"}, "ecr:CreateRepository", False),
    ],
)
def test_what_a_policy_allows(ecr, principal, action, allowed):
    reg = ecr.store.registry(ACCOUNT, "us-east-1")
    assert not allows(reg, "222222222222", "ecr:ReplicateImage")  # no policy: nothing
    reg.registry_policy = policy({"Effect": "Allow", "Principal": principal, "Action": action})
    assert allows(reg, "222222222222", "ecr:ReplicateImage") is allowed


def test_a_deny_wins(ecr):
    reg = ecr.store.registry(ACCOUNT, "us-east-1")
    reg.registry_policy = policy(
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:*"},
        {"Effect": "Deny", "Principal": {"AWS": "222222222222"}, "Action": "ecr:ReplicateImage"},
    )
    assert not allows(reg, "222222222222", "ecr:ReplicateImage")
    assert allows(reg, "111111111111", "ecr:ReplicateImage")

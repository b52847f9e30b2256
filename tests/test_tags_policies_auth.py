"""Resource tags, repository policies and GetAuthorizationToken (spec §2.6, §2.7, §7)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from pytest_ecr.service.auth import token_grant

ACCOUNT = "123456789012"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["ecr:BatchGetImage"]}
        ],
    },
    indent=4,
)


def err(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return exc.value.response["Error"]


# -- tags -----------------------------------------------------------------------------------------


def test_tags_round_trip(ecr_client, ecr_repo):
    ecr_client.tag_resource(
        resourceArn=ecr_repo.arn, tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": ""}]
    )
    ecr_client.tag_resource(resourceArn=ecr_repo.arn, tags=[{"Key": "team", "Value": "b"}])
    assert ecr_client.list_tags_for_resource(resourceArn=ecr_repo.arn)["tags"] == [
        {"Key": "team", "Value": "b"},
        {"Key": "env", "Value": ""},
    ]
    ecr_client.untag_resource(resourceArn=ecr_repo.arn, tagKeys=["team", "absent"])
    assert ecr_client.list_tags_for_resource(resourceArn=ecr_repo.arn)["tags"] == [
        {"Key": "env", "Value": ""}
    ]


def test_tags_at_creation(ecr_client):
    arn = ecr_client.create_repository(repositoryName="app", tags=[{"Key": "k", "Value": "v"}])["repository"][
        "repositoryArn"
    ]
    assert ecr_client.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "k", "Value": "v"}]


def test_too_many_tags(ecr_client, ecr_repo):
    ecr_client.tag_resource(
        resourceArn=ecr_repo.arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    )
    with pytest.raises(ClientError) as exc:
        ecr_client.tag_resource(resourceArn=ecr_repo.arn, tags=[{"Key": "one-more", "Value": "v"}])
    assert err(exc)["Code"] == "TooManyTagsException"
    assert len(ecr_client.list_tags_for_resource(resourceArn=ecr_repo.arn)["tags"]) == 50
    with pytest.raises(ecr_client.exceptions.TooManyTagsException):
        ecr_client.create_repository(
            repositoryName="big", tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]
        )
    # Tagging is atomic with creation: nothing was created.
    assert [r["repositoryName"] for r in ecr_client.describe_repositories()["repositories"]] == ["test-repo"]


@pytest.mark.parametrize(
    "tag",
    [{"Key": "k" * 129, "Value": "v"}, {"Key": "k", "Value": "v" * 257}, {"Key": "aws:owner", "Value": "me"}],
)
def test_invalid_tags(ecr_client, ecr_repo, tag):
    with pytest.raises(ClientError) as exc:
        ecr_client.tag_resource(resourceArn=ecr_repo.arn, tags=[tag])
    assert err(exc)["Code"] == "InvalidTagParameterException"
    assert ecr_client.list_tags_for_resource(resourceArn=ecr_repo.arn)["tags"] == []


def test_tag_value_is_required_by_the_fake_too(raw_client, ecr_repo):
    with pytest.raises(ClientError) as exc:
        raw_client.tag_resource(resourceArn=ecr_repo.arn, tags=[{"Key": "k"}])
    assert err(exc)["Code"] in {"InvalidParameterException", "InvalidTagParameterException"}


def test_tag_arns(ecr_client, ecr_repo):
    with pytest.raises(ClientError) as exc:
        ecr_client.list_tags_for_resource(resourceArn="not-an-arn")
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'",
    }
    missing = ecr_repo.arn.replace("test-repo", "gone")
    with pytest.raises(ClientError) as exc:
        ecr_client.tag_resource(resourceArn=missing, tags=[{"Key": "k", "Value": "v"}])
    assert err(exc)["Code"] == "RepositoryNotFoundException"


def test_a_repository_arn_of_another_region_is_not_this_endpoints(ecr, ecr_client, ecr_repo):
    # A client of one region tags the repositories of its region's endpoint only. INFERRED, not
    # recorded: ECR is a regional service and its ARN names the region; the fake answers the
    # malformed-ARN error (the wording above) rather than reaching into another region's registry,
    # even where a repository of that name exists there. Found by tools/mutants.py
    # (`_repository_for_arn`, `or` to `and`: a same-partition ARN of another region got through).
    ecr.create_repository(ecr_repo.name, region="eu-west-1")
    elsewhere = ecr_repo.arn.replace(":us-east-1:", ":eu-west-1:")
    assert elsewhere != ecr_repo.arn
    for call in (
        lambda: ecr_client.list_tags_for_resource(resourceArn=elsewhere),
        lambda: ecr_client.tag_resource(resourceArn=elsewhere, tags=[{"Key": "k", "Value": "v"}]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert err(exc) == {
            "Code": "InvalidParameterException",
            "Message": "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'",
        }
    assert ecr.client(region="eu-west-1").list_tags_for_resource(resourceArn=elsewhere)["tags"] == []


# -- repository policy ----------------------------------------------------------------------------


# ECR answers with its own re-serialisation of the policy, not the text sent (layout as in
# cloud-custodian tests/data/placebo/test_ecr_remove_matched/api.ecr.SetRepositoryPolicy_1.json,
# a one-element Action list as a string as in .../test_ecr_repo_modify_policy/...SetRepositoryPolicy_1.json).
POLICY_AS_ECR_WRITES_IT = (
    '{\n  "Version" : "2012-10-17",\n  "Statement" : [ {\n    "Sid" : "pull",\n    "Effect" : "Allow",\n'
    '    "Principal" : {\n      "AWS" : "*"\n    },\n    "Action" : "ecr:BatchGetImage"\n  } ]\n}'
)


def test_policy_round_trip_returns_ecrs_text(ecr_client, ecr_repo):
    result = ecr_client.set_repository_policy(repositoryName="test-repo", policyText=POLICY)
    assert result["policyText"] == POLICY_AS_ECR_WRITES_IT
    assert (
        ecr_client.get_repository_policy(repositoryName="test-repo")["policyText"] == POLICY_AS_ECR_WRITES_IT
    )
    assert (
        ecr_client.delete_repository_policy(repositoryName="test-repo")["policyText"]
        == POLICY_AS_ECR_WRITES_IT
    )
    with pytest.raises(ClientError) as exc:
        ecr_client.get_repository_policy(repositoryName="test-repo")
    assert err(exc) == {
        "Code": "RepositoryPolicyNotFoundException",
        "Message": "Repository policy does not exist for the repository with name 'test-repo' in the registry "
        f"with id '{ACCOUNT}'",
    }
    with pytest.raises(ecr_client.exceptions.RepositoryPolicyNotFoundException):
        ecr_client.delete_repository_policy(repositoryName="test-repo")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps(
            {"Version": "2019-01-01", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]}
        ),
        json.dumps({"Version": "2012-10-17", "Statement": []}),
        json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "ecr:*"}]}
        ),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*"}]}),
    ],
)
def test_invalid_policy(ecr_client, ecr_repo, text):
    with pytest.raises(ClientError) as exc:
        ecr_client.set_repository_policy(repositoryName="test-repo", policyText=text)
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
    }


def test_policy_single_statement_object_and_old_version(ecr_client, ecr_repo):
    text = json.dumps(
        {"Version": "2008-10-17", "Statement": {"Effect": "Deny", "NotPrincipal": "*", "NotAction": "x"}}
    )
    ecr_client.set_repository_policy(repositoryName="test-repo", policyText=text, force=True)
    # A lone statement object comes back as a one-element list (inferred: every recorded policy
    # text has a Statement list).
    assert ecr_client.get_repository_policy(repositoryName="test-repo")["policyText"] == (
        '{\n  "Version" : "2008-10-17",\n  "Statement" : [ {\n    "Effect" : "Deny",\n'
        '    "NotPrincipal" : "*",\n    "NotAction" : "x"\n  } ]\n}'
    )


def test_policy_statement_members_past_action(ecr_client, ecr_repo):
    # Inferred from ECR's writer (only Sid, Effect, Principal, Action are recorded in order):
    # Resource and Condition follow Action, members ECR does not know come last as given,
    # one-element Resource and principal lists become strings, Condition values stay as written.
    text = json.dumps(
        {
            "Statement": [
                {
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-abc"]}, "Bool": {}},
                    "Custom": 1,
                    "Resource": ["*"],
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]},
                    "Effect": "Allow",
                    "Sid": "org",
                }
            ],
            "Id": "x",
        }
    )
    result = ecr_client.set_repository_policy(repositoryName="test-repo", policyText=text)
    assert result["policyText"] == (
        '{\n  "Version" : "2008-10-17",\n  "Id" : "x",\n  "Statement" : [ {\n    "Sid" : "org",\n'
        '    "Effect" : "Allow",\n    "Principal" : {\n      "AWS" : "arn:aws:iam::111122223333:root"\n    },\n'
        '    "Action" : [ "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer" ],\n    "Resource" : "*",\n'
        '    "Condition" : {\n      "StringEquals" : {\n        "aws:PrincipalOrgID" : [ "o-abc" ]\n      },\n'
        '      "Bool" : { }\n    },\n    "Custom" : 1\n  } ]\n}'
    )


def test_policy_strings_are_escaped_as_json(ecr_client, ecr_repo):
    # Quotes, backslashes and control characters escaped (the latter with upper-case hex digits,
    # as Java JSON writers do), other characters written as they are.
    text = json.dumps(
        {"Statement": [{"Sid": 'a"b\\c\x1fé', "Effect": "Deny", "Principal": "*", "Action": "x"}]}
    )
    stored = ecr_client.set_repository_policy(repositoryName="test-repo", policyText=text)["policyText"]
    assert '"Sid" : "a\\"b\\\\c\\u001Fé"' in stored
    assert json.loads(stored)["Statement"][0]["Sid"] == 'a"b\\c\x1fé'


def test_policy_with_a_lone_surrogate_is_written_escaped(ecr_client, ecr_repo):
    text = '{"Statement": [{"Sid": "\\ud800", "Effect": "Deny", "Principal": "*", "Action": "x"}]}'
    stored = ecr_client.set_repository_policy(repositoryName="test-repo", policyText=text)["policyText"]
    assert '"Sid" : "\\uD800"' in stored
    assert stored.encode("utf-8").decode("utf-8") == stored  # writable as UTF-8


def test_policy_with_nan_is_invalid(ecr_client, ecr_repo):
    # NaN is not JSON, though Python's parser reads it.
    text = (
        '{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "x", "Condition": {"N": {"a": NaN}}}]}'
    )
    with pytest.raises(ClientError) as exc:
        ecr_client.set_repository_policy(repositoryName="test-repo", policyText=text)
    assert err(exc)["Message"].endswith("'Invalid repository policy provided'")


def test_policy_missing_repository(ecr_client, ecr):
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.set_repository_policy(repositoryName="nope", policyText=POLICY)


# -- GetAuthorizationToken ------------------------------------------------------------------------


def test_authorization_token(ecr, ecr_client):
    with freeze_time("2026-01-01T00:00:00Z"):
        data = ecr_client.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    user, password = base64.b64decode(data[0]["authorizationToken"]).decode().split(":", 1)
    assert user == "AWS"
    assert len(password) > 100
    assert data[0]["expiresAt"] == datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    assert data[0]["proxyEndpoint"] == f"https://{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
    grant = token_grant(
        ecr.store,
        data[0]["authorizationToken"],
        datetime(2026, 1, 1, 11, 59, tzinfo=timezone.utc).timestamp(),
    )
    assert grant is not None
    assert grant.account == ACCOUNT
    assert (
        token_grant(
            ecr.store,
            data[0]["authorizationToken"],
            datetime(2026, 1, 1, 12, tzinfo=timezone.utc).timestamp(),
        )
        is None
    )
    assert token_grant(ecr.store, base64.b64encode(b"AWS:forged").decode(), 0) is None
    assert token_grant(ecr.store, "%%%", 0) is None


def test_authorization_token_per_registry(ecr):
    data = ecr.client(region="eu-west-1").get_authorization_token(
        registryIds=["111111111111", "222222222222"]
    )["authorizationData"]
    assert [d["proxyEndpoint"] for d in data] == [
        "https://111111111111.dkr.ecr.eu-west-1.amazonaws.com",
        "https://222222222222.dkr.ecr.eu-west-1.amazonaws.com",
    ]


def test_authorization_token_bad_registry_id(ecr_client, ecr):
    with pytest.raises(ClientError) as exc:
        ecr_client.get_authorization_token(registryIds=["abc"])
    assert err(exc)["Code"] == "InvalidParameterException"

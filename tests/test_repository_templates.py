"""Repository creation templates (spec §8.5): the operations, their validation, which template a
repository ECR creates gets, and that CreateRepository never uses one."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from helpers import KEEP_ONE_LIFECYCLE

from pytest_ecr.protocol.model import service_model

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-templates"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}],
    }
)
EU = {"region": "eu-west-1", "registryId": ACCOUNT}


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def replicate_to_europe(client) -> None:
    client.put_replication_configuration(replicationConfiguration={"rules": [{"destinations": [EU]}]})


@pytest.mark.ecr_time("2026-06-01T12:00:00Z")
def test_create_describe_update_delete(ecr, ecr_client):
    created = ecr_client.create_repository_creation_template(
        prefix="prod",
        appliedFor=["REPLICATION", "PULL_THROUGH_CACHE", "REPLICATION"],
        description="production",
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "team", "Value": "core"}],
        customRoleArn=ROLE,
    )
    template = created["repositoryCreationTemplate"]
    assert created["registryId"] == ACCOUNT
    assert template["appliedFor"] == ["REPLICATION", "PULL_THROUGH_CACHE"]
    assert (template["prefix"], template["imageTagMutability"], template["description"]) == (
        "prod",
        "IMMUTABLE",
        "production",
    )
    assert template["createdAt"] == template["updatedAt"]

    ecr.clock.advance(60)
    updated = ecr_client.update_repository_creation_template(prefix="prod", description="changed")
    described = ecr_client.describe_repository_creation_templates()["repositoryCreationTemplates"]
    deleted = ecr_client.delete_repository_creation_template(prefix="prod")["repositoryCreationTemplate"]

    got = updated["repositoryCreationTemplate"]
    assert got["description"] == "changed"
    assert got["imageTagMutability"] == "MUTABLE"  # omitted: back to the default, as the model says
    assert got["resourceTags"] == [{"Key": "team", "Value": "core"}]  # not given: kept
    assert (got["updatedAt"] - got["createdAt"]).total_seconds() == 60
    assert described == [got]
    assert deleted == got
    assert ecr_client.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_exclusion_filters_are_answered_as_given(ecr_client):
    # RepositoryCreationTemplate.imageTagMutabilityExclusionFilters (botocore's ECR model) in the
    # create and describe answers. Found by tools/mutants.py: dropping non-empty filters from
    # every answer passed every test.
    filters = [{"filterType": "WILDCARD", "filter": "release-*"}]
    created = ecr_client.create_repository_creation_template(
        prefix="prod",
        appliedFor=["REPLICATION"],
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=filters,
    )["repositoryCreationTemplate"]
    [described] = ecr_client.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert created["imageTagMutabilityExclusionFilters"] == filters
    assert described["imageTagMutabilityExclusionFilters"] == filters


def test_duplicates_and_missing(ecr_client):
    ecr_client.create_repository_creation_template(prefix="prod", appliedFor=["REPLICATION"])
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository_creation_template(prefix="prod/", appliedFor=["PULL_THROUGH_CACHE"])
    assert error(exc) == (
        "TemplateAlreadyExistsException",
        f"The repository creation template with prefix 'prod/' already exists in the registry with id '{ACCOUNT}'",
    )
    for call in (
        lambda: ecr_client.update_repository_creation_template(prefix="dev", description="x"),
        lambda: ecr_client.delete_repository_creation_template(prefix="dev"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == (
            "TemplateNotFoundException",
            f"The repository creation template with prefix 'dev' does not exist in the registry with id '{ACCOUNT}'",
        )


@pytest.mark.parametrize(
    ("fields", "code", "fragment"),
    [
        ({"repositoryPolicy": "{}"}, "InvalidParameterException", "Invalid repository policy provided"),
        ({"lifecyclePolicy": '{"rules": []}'}, "InvalidParameterException", "Lifecycle policy"),
        (
            {"imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "dev*"}]},
            "InvalidParameterException",
            "can only be set when imageTagMutability",
        ),
        ({"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "InvalidParameterException", "can't be null"),
        (
            {"resourceTags": [{"Key": "team", "Value": "core"}]},
            "ValidationException",
            "customRoleArn is required",
        ),
        (
            {
                "encryptionConfiguration": {
                    "encryptionType": "KMS",
                    "kmsKey": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1",
                }
            },
            "ValidationException",
            "customRoleArn is required",
        ),
        (
            {
                "encryptionConfiguration": {
                    "encryptionType": "AES256",
                    "kmsKey": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1",
                }
            },
            "InvalidParameterException",
            "KMS key must not be specified",
        ),
        ({"customRoleArn": "arn:aws:iam::210987654321:role/x"}, "ValidationException", "registry's account"),
        ({"customRoleArn": "not-a-role"}, "ValidationException", "Invalid customRoleArn"),
        (
            {"resourceTags": [{"Key": "aws:reserved", "Value": "v"}], "customRoleArn": ROLE},
            "InvalidParameterException",
            "resourceTags",
        ),
        ({"appliedFor": []}, "InvalidParameterException", "appliedFor"),
    ],
)
def test_validation(ecr_client, fields, code, fragment):
    params = {"prefix": "prod", "appliedFor": ["REPLICATION"], **fields}
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository_creation_template(**params)
    got_code, message = error(exc)
    assert got_code == code
    assert fragment in message
    assert ecr_client.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_update_validates_and_keeps_the_template_on_error(ecr_client):
    ecr_client.create_repository_creation_template(
        prefix="prod", appliedFor=["REPLICATION"], description="kept"
    )
    with pytest.raises(ClientError) as exc:
        ecr_client.update_repository_creation_template(prefix="prod", repositoryPolicy="not json")
    assert error(exc)[0] == "InvalidParameterException"
    [template] = ecr_client.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert template["description"] == "kept"


def test_describe_by_prefix_and_pages(ecr_client):
    for prefix in ("a", "b", "c", "ROOT"):
        ecr_client.create_repository_creation_template(prefix=prefix, appliedFor=["REPLICATION"])
    chosen = ecr_client.describe_repository_creation_templates(prefixes=["c", "missing", "ROOT"])
    assert [t["prefix"] for t in chosen["repositoryCreationTemplates"]] == ["c", "ROOT"]
    pages = ecr_client.get_paginator("describe_repository_creation_templates").paginate(
        PaginationConfig={"PageSize": 3}
    )
    assert [[t["prefix"] for t in p["repositoryCreationTemplates"]] for p in pages] == [
        ["a", "b", "c"],
        ["ROOT"],
    ]


#: ECR documents no limit; 300 is the fake's stated choice (docs/fidelity.rst, "limits not
#: documented"), written here as a literal so that changing the code's constant fails this test.
TEMPLATE_LIMIT = 300


def test_template_limit(ecr_client):
    for n in range(TEMPLATE_LIMIT):
        ecr_client.create_repository_creation_template(prefix=f"p{n}", appliedFor=["REPLICATION"])
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository_creation_template(prefix="one-more", appliedFor=["REPLICATION"])
    assert error(exc)[0] == "LimitExceededException"
    assert "(300)" in error(exc)[1]
    listed = ecr_client.get_paginator("describe_repository_creation_templates").paginate()
    assert len([t for page in listed for t in page["repositoryCreationTemplates"]]) == TEMPLATE_LIMIT


# -- which template a repository created by ECR gets ---------------------------------------------


def replica_repository(ecr, ecr_client, name: str):
    ecr.create_repository(name)
    ecr.push_image(name, "v1")
    ecr.clock.advance(ecr.options.replication_seconds)
    return ecr.repository(name, region="eu-west-1")


def test_a_replica_repository_gets_the_replication_template(ecr, ecr_client):
    europe = ecr.client(region="eu-west-1")
    europe.create_repository_creation_template(
        prefix="prod",
        appliedFor=["REPLICATION"],
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "team", "Value": "core"}],
        customRoleArn=ROLE,
        repositoryPolicy=POLICY,
        lifecyclePolicy=KEEP_ONE_LIFECYCLE,
    )
    replicate_to_europe(ecr_client)

    replica = replica_repository(ecr, ecr_client, "prod/api")

    described = europe.describe_repositories(repositoryNames=["prod/api"])["repositories"][0]
    assert described["imageTagMutability"] == "IMMUTABLE"
    assert europe.list_tags_for_resource(resourceArn=replica.arn)["tags"] == [
        {"Key": "team", "Value": "core"}
    ]
    # The repository holds the template's policy the way SetRepositoryPolicy stores one: ECR's
    # re-serialisation (layout of cloud-custodian tests/data/placebo/test_ecr_repo_modify_policy/
    # api.ecr.SetRepositoryPolicy_1.json; applying it to template-made repositories is inferred).
    assert europe.get_repository_policy(repositoryName="prod/api")["policyText"] == (
        '{\n  "Version" : "2012-10-17",\n  "Statement" : [ {\n    "Effect" : "Allow",\n'
        '    "Principal" : "*",\n    "Action" : "ecr:BatchGetImage"\n  } ]\n}'
    )
    assert (
        json.loads(europe.get_lifecycle_policy(repositoryName="prod/api")["lifecyclePolicyText"])["rules"][0][
            "rulePriority"
        ]
        == 1
    )


def test_longest_prefix_wins_then_root_and_only_for_its_scenario(ecr, ecr_client):
    europe = ecr.client(region="eu-west-1")
    europe.create_repository_creation_template(prefix="ROOT", appliedFor=["REPLICATION"], description="root")
    europe.create_repository_creation_template(
        prefix="prod", appliedFor=["REPLICATION"], imageTagMutability="IMMUTABLE"
    )
    europe.create_repository_creation_template(
        prefix="prod/team",
        appliedFor=["REPLICATION"],
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "release-*"}],
    )
    europe.create_repository_creation_template(
        prefix="dev", appliedFor=["PULL_THROUGH_CACHE"], imageTagMutability="IMMUTABLE"
    )
    replicate_to_europe(ecr_client)

    assert replica_repository(ecr, ecr_client, "prod/team/api").tag_mutability == "MUTABLE_WITH_EXCLUSION"
    assert replica_repository(ecr, ecr_client, "prod/web").tag_mutability == "IMMUTABLE"
    assert replica_repository(ecr, ecr_client, "production").tag_mutability == "MUTABLE"  # not under prod/
    # dev's template is for pull through cache only; ROOT covers it for replication
    assert replica_repository(ecr, ecr_client, "dev/tool").tag_mutability == "MUTABLE"


def test_a_template_keeps_its_policy_text_as_sent(ecr_client):
    # Validated as SetRepositoryPolicy validates (so Version may be left out, as cloud-custodian
    # placebo test_ecr_repo_modify_policy shows for repositories), but described as given: no
    # recording shows ECR rewriting a template's policy.
    text = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}]})
    created = ecr_client.create_repository_creation_template(
        prefix="prod", appliedFor=["REPLICATION"], repositoryPolicy=text
    )
    assert created["repositoryCreationTemplate"]["repositoryPolicy"] == text
    (described,) = ecr_client.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert described["repositoryPolicy"] == text


def test_create_repository_never_uses_a_template(ecr, ecr_client):
    ecr_client.create_repository_creation_template(
        prefix="ROOT",
        appliedFor=list(service_model().shape_for("RCTAppliedFor").enum),  # CREATE_ON_PUSH is newer than 1.41
        imageTagMutability="IMMUTABLE",
        repositoryPolicy=POLICY,
    )

    repo = ecr_client.create_repository(repositoryName="prod/api")["repository"]

    assert repo["imageTagMutability"] == "MUTABLE"
    with pytest.raises(ClientError) as exc:
        ecr_client.get_repository_policy(repositoryName="prod/api")
    assert error(exc)[0] == "RepositoryPolicyNotFoundException"


def test_templates_are_not_retroactive(ecr, ecr_client):
    europe = ecr.client(region="eu-west-1")
    replicate_to_europe(ecr_client)
    assert replica_repository(ecr, ecr_client, "prod/api").tag_mutability == "MUTABLE"

    europe.create_repository_creation_template(
        prefix="prod", appliedFor=["REPLICATION"], imageTagMutability="IMMUTABLE"
    )
    ecr.push_image("prod/api", "v2")
    ecr.clock.advance(ecr.options.replication_seconds)

    assert ecr.repository("prod/api", region="eu-west-1").tag_mutability == "MUTABLE"

"""ECR's wording of image ids, list-item constraints, repository names and pull-through cache
upstreams, each checked through boto3 against the message recorded in the issue thread cited."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from pytest_ecr.protocol.model import service_model

ACCOUNT = "123456789012"
QUOTED_NAME_PATTERN = "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_image_not_found_quotes_the_missing_digest_as_null(ecr_client) -> None:
    # hashicorp/terraform-provider-aws#35268 (data.aws_ecr_image, DescribeImages by tag):
    # "The image with imageId {imageDigest:'null', imageTag:'latest'} does not exist within the
    # repository with name 'main' in the registry with id '058043570872'"
    ecr_client.create_repository(repositoryName="main")
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_images(repositoryName="main", imageIds=[{"imageTag": "latest"}])
    assert error(exc) == (
        "ImageNotFoundException",
        "The image with imageId {imageDigest:'null', imageTag:'latest'} does not exist within the "
        f"repository with name 'main' in the registry with id '{ACCOUNT}'",
    )


def test_scan_not_found_renders_the_image_id_the_same_way(ecr, ecr_client) -> None:
    ecr.create_repository("app")
    image = ecr.push_image("app")
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageDigest": image.digest})
    assert error(exc) == (
        "ScanNotFoundException",
        f"Image scan does not exist for the image with '{{imageDigest:'{image.digest}', imageTag:'null'}}' "
        f"in the repository with name 'app' in the registry with id '{ACCOUNT}'",
    )


def test_a_list_item_failing_its_pattern_is_worded_as_a_member_constraint(ecr_client) -> None:
    # aws-actions/amazon-ecr-login#225, a registry id that lost its leading 0:
    # "Invalid parameter at 'registryIds' failed to satisfy constraint: 'Member must satisfy
    # constraint: [Member must satisfy regular expression pattern: [0-9]{12}]'"
    with pytest.raises(ClientError) as exc:
        ecr_client.get_authorization_token(registryIds=["23456789012"])
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'registryIds' failed to satisfy constraint: 'Member must satisfy "
        "constraint: [Member must satisfy regular expression pattern: [0-9]{12}]'",
    )


def test_a_list_item_outside_its_enum_is_worded_as_a_member_constraint(ecr_client) -> None:
    # Same renderer as registryIds above, for an enum (wording inferred from it). The values listed
    # are the service's: ECR's own model, which botocore's follows (CREATE_ON_PUSH came after 1.41.0).
    applied_for = service_model().shape_for("RCTAppliedForList").member.enum
    if "CREATE_ON_PUSH" not in applied_for:
        pytest.skip(f"this botocore's model predates CREATE_ON_PUSH (appliedFor: {applied_for})")
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository_creation_template(prefix="team", appliedFor=["REPLICATION", "NIGHTLY"])
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'appliedFor' failed to satisfy constraint: 'Member must satisfy "
        "constraint: [Member must satisfy enum value set: [REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH]]'",
    )


def test_a_repository_name_quotes_ecrs_pattern(ecr_client) -> None:
    # boto3#3191 (SetRepositoryPolicy): "Invalid parameter at 'repositoryName' failed to satisfy
    # constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"
    with pytest.raises(ClientError) as exc:
        ecr_client.set_repository_policy(repositoryName="Test-Repo", policyText="{}")
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        f"'must satisfy regular expression '{QUOTED_NAME_PATTERN}''",
    )


def test_a_repository_name_in_a_list_is_named_repository_name(ecr_client) -> None:
    # hashicorp/terraform-provider-aws#40309: DescribeRepositories given an ARN in repositoryNames
    # answers at 'repositoryName' (singular), with the same quoted pattern.
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/myapp-api-ecr"
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_repositories(repositoryNames=[arn])
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        f"'must satisfy regular expression '{QUOTED_NAME_PATTERN}''",
    )


def test_an_unsupported_upstream_url_is_invalid(ecr_client) -> None:
    # goharbor/harbor#20174: create-pull-through-cache-rule --upstream-registry-url harbor.example.com
    with pytest.raises(ClientError) as exc:
        ecr_client.create_pull_through_cache_rule(
            ecrRepositoryPrefix="harbor", upstreamRegistryUrl="harbor.example.com"
        )
    assert error(exc) == (
        "UnsupportedUpstreamRegistryException",
        "The upstream registry URL harbor.example.com is invalid. Specify a valid upstream registry URL "
        "and try again",
    )


@pytest.mark.parametrize(
    "url", ["registry-1.docker.io", "ghcr.io", "registry.gitlab.com", "cgr.dev", "myregistry.azurecr.io"]
)
def test_an_upstream_that_needs_credentials_without_a_credential_arn(ecr_client, url) -> None:
    # aws-controllers-k8s/community#2589 (Docker Hub, no credentialArn): the recorded text ends
    # after "ARN"; the fake sends exactly what was recorded.
    with pytest.raises(ClientError) as exc:
        ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="docker-test", upstreamRegistryUrl=url)
    assert error(exc) == (
        "UnsupportedUpstreamRegistryException",
        "The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN",
    )
    assert ecr_client.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []

"""Repository operations through a real boto3 client (spec §2)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from pytest_ecr.protocol.model import service_model

ACCOUNT = "123456789012"
# The fake enforces the pattern of the installed botocore model; ECR moved to the OCI one in 2026-02.
NAME_REGEX = service_model().shape_for("RepositoryName").metadata["pattern"]
OCI_NAME_REGEX = "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*"


def err(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return exc.value.response["Error"]


def test_create_repository_defaults(ecr_client):
    repo = ecr_client.create_repository(repositoryName="team/app")["repository"]
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
    assert repo["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/app"
    assert repo["registryId"] == ACCOUNT
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert "imageTagMutabilityExclusionFilters" not in repo
    assert repo["createdAt"].tzinfo is not None


def test_china_partition(ecr):
    repo = ecr.client(region="cn-north-1").create_repository(repositoryName="app")["repository"]
    assert repo["repositoryArn"] == f"arn:aws-cn:ecr:cn-north-1:{ACCOUNT}:repository/app"
    assert repo["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/app"


def test_create_existing(ecr_client):
    ecr_client.create_repository(repositoryName="app")
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(repositoryName="app")
    assert err(exc) == {
        "Code": "RepositoryAlreadyExistsException",
        "Message": f"The repository with name 'app' already exists in the registry with id '{ACCOUNT}'",
    }


@pytest.mark.parametrize("name", ["App", "-app", "app-", "a//b", "app/", "a..b", "a b"])
def test_invalid_names(ecr_client, name):
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(repositoryName=name)
    # ECR quotes its own pattern, not the model's (int128/create-ecr-repository-action#231,
    # hashicorp/terraform-provider-aws#40309), though it checks the model's.
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        "'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''",
    }


@pytest.mark.skipif(
    NAME_REGEX != OCI_NAME_REGEX, reason="this botocore's model predates OCI repository names"
)
@pytest.mark.parametrize("name", ["a__b", "a---b", "1app", "a.b_c-d/e"])
def test_oci_names_are_accepted(ecr_client, name):
    assert ecr_client.create_repository(repositoryName=name)["repository"]["repositoryName"] == name


def test_name_length_checked_by_the_fake_too(raw_client):
    with pytest.raises(ClientError) as exc:
        raw_client.create_repository(repositoryName="a")
    assert err(exc)["Message"] == (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length greater than or equal to 2'"
    )
    with pytest.raises(ClientError) as exc:
        raw_client.create_repository(repositoryName="a" * 257)
    assert err(exc)["Message"].endswith("'must have length less than or equal to 256'")


def test_required_and_types_checked_by_the_fake_too(raw_client):
    with pytest.raises(ClientError) as exc:
        raw_client.create_repository()
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'",
    }
    with pytest.raises(ClientError) as exc:
        raw_client.describe_repositories(maxResults="ten")
    assert err(exc)["Code"] == "SerializationException"


def test_enum_checked_by_the_fake(raw_client):
    with pytest.raises(ClientError) as exc:
        raw_client.create_repository(repositoryName="app", imageTagMutability="SOMETIMES")
    assert err(exc) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy "
        "enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'",
    }
    assert raw_client.describe_repositories()["repositories"] == []


def test_exclusion_filters_rules(ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(repositoryName="a1", imageTagMutability="IMMUTABLE_WITH_EXCLUSION")
    assert err(exc)["Message"] == (
        "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: "
        "'ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as IMMUTABLE_WITH_EXCLUSION'"
    )
    filters = [{"filterType": "WILDCARD", "filter": "latest"}]
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(
            repositoryName="a2", imageTagMutability="IMMUTABLE", imageTagMutabilityExclusionFilters=filters
        )
    assert err(exc)["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(
            repositoryName="a3",
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "a*b*c*"}],
        )
    assert err(exc)["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(
            repositoryName="a4",
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "a/b"}],
        )
    assert err(exc)["Message"] == (
        "Invalid parameter at 'filter' failed to satisfy constraint: "
        "'must satisfy regular expression '^[0-9a-zA-Z._*-]{1,128}$''"
    )
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(
            repositoryName="a5",
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=filters * 6,
        )
    assert err(exc)["Message"].endswith("'Member must have length less than or equal to 5'")
    repo = ecr_client.create_repository(
        repositoryName="ok",
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=filters,
    )["repository"]
    assert repo["imageTagMutabilityExclusionFilters"] == filters
    assert [r["repositoryName"] for r in ecr_client.describe_repositories()["repositories"]] == ["ok"]


def test_put_image_tag_mutability(ecr_client):
    ecr_client.create_repository(repositoryName="app")
    filters = [{"filterType": "WILDCARD", "filter": "dev-*"}]
    result = ecr_client.put_image_tag_mutability(
        repositoryName="app",
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=filters,
    )
    assert result["imageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert result["imageTagMutabilityExclusionFilters"] == filters
    assert result["registryId"] == ACCOUNT
    with pytest.raises(ClientError):
        ecr_client.put_image_tag_mutability(
            repositoryName="app", imageTagMutability="IMMUTABLE_WITH_EXCLUSION"
        )
    # A rejected change loses nothing.
    repo = ecr_client.describe_repositories(repositoryNames=["app"])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == filters
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.put_image_tag_mutability(repositoryName="nope", imageTagMutability="MUTABLE")


def test_put_image_scanning_configuration(ecr_client):
    ecr_client.create_repository(repositoryName="app", imageScanningConfiguration={"scanOnPush": True})
    assert ecr_client.describe_repositories()["repositories"][0]["imageScanningConfiguration"] == {
        "scanOnPush": True
    }
    result = ecr_client.put_image_scanning_configuration(
        repositoryName="app", imageScanningConfiguration={"scanOnPush": False}
    )
    assert result["imageScanningConfiguration"] == {"scanOnPush": False}
    assert ecr_client.describe_repositories()["repositories"][0]["imageScanningConfiguration"] == {
        "scanOnPush": False
    }
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.put_image_scanning_configuration(repositoryName="nope", imageScanningConfiguration={})


def test_encryption(ecr_client):
    kms = ecr_client.create_repository(repositoryName="k1", encryptionConfiguration={"encryptionType": "KMS"})
    key = kms["repository"]["encryptionConfiguration"]["kmsKey"]
    assert key.startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
    again = ecr_client.create_repository(
        repositoryName="k2", encryptionConfiguration={"encryptionType": "KMS"}
    )
    assert again["repository"]["encryptionConfiguration"]["kmsKey"] == key  # one AWS managed key per region
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    own = ecr_client.create_repository(
        repositoryName="k3", encryptionConfiguration={"encryptionType": "KMS", "kmsKey": arn}
    )
    assert own["repository"]["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": arn}
    with pytest.raises(ClientError) as exc:
        ecr_client.create_repository(
            repositoryName="k4", encryptionConfiguration={"encryptionType": "AES256", "kmsKey": arn}
        )
    assert err(exc)["Code"] == "InvalidParameterException"


def test_describe_repositories_by_name(ecr_client):
    for name in ("a1", "b2", "c3"):
        ecr_client.create_repository(repositoryName=name)
    found = ecr_client.describe_repositories(repositoryNames=["c3", "a1"])["repositories"]
    assert [r["repositoryName"] for r in found] == ["c3", "a1"]
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_repositories(repositoryNames=["a1", "zz", "yy"])
    assert err(exc) == {
        "Code": "RepositoryNotFoundException",
        "Message": f"The repository with name 'zz' does not exist in the registry with id '{ACCOUNT}'",
    }
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_repositories(repositoryNames=["a1"], maxResults=10)
    assert err(exc)["Code"] == "InvalidParameterException"


def test_describe_repositories_paginates(ecr, ecr_client):
    for i in range(230):
        ecr.create_repository(f"repo-{i:03d}")
    first = ecr_client.describe_repositories()
    assert len(first["repositories"]) == 100
    pages = list(ecr_client.get_paginator("describe_repositories").paginate())
    assert [len(p["repositories"]) for p in pages] == [100, 100, 30]
    names = [r["repositoryName"] for p in pages for r in p["repositories"]]
    assert names == [f"repo-{i:03d}" for i in range(230)]
    small = list(
        ecr_client.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1000})
    )
    assert [len(p["repositories"]) for p in small] == [230]


def test_other_registry_id(ecr_client):
    # Another account's registry: no repository policy lets this account in (tests/test_access.py).
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_repositories(registryId="999999999999", repositoryNames=["app"])
    assert err(exc)["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_repositories(repositoryNames=["app"])
    assert (
        err(exc)["Message"]
        == "The repository with name 'app' does not exist in the registry with id '123456789012'"
    )
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_repositories(registryId="12345")
    assert err(exc)["Message"] == (
        "Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression '[0-9]{12}''"
    )


def test_delete_repository(ecr, ecr_client):
    ecr_client.create_repository(repositoryName="app")
    ecr.push_image("app", "v1")
    with pytest.raises(ClientError) as exc:
        ecr_client.delete_repository(repositoryName="app")
    assert err(exc) == {
        "Code": "RepositoryNotEmptyException",
        "Message": f"The repository with name 'app' in registry with id '{ACCOUNT}' cannot be deleted because "
        "it still contains images",
    }
    deleted = ecr_client.delete_repository(repositoryName="app", force=True)["repository"]
    assert deleted["repositoryName"] == "app"
    assert ecr_client.describe_repositories()["repositories"] == []
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.delete_repository(repositoryName="app")


def test_untagged_images_also_block_deletion(ecr, ecr_client):
    ecr_client.create_repository(repositoryName="app")
    ecr.push_image("app")
    with pytest.raises(ecr_client.exceptions.RepositoryNotEmptyException):
        ecr_client.delete_repository(repositoryName="app")


def test_recreated_repository_starts_empty(ecr, ecr_client):
    ecr_client.create_repository(repositoryName="app", tags=[{"Key": "team", "Value": "a"}])
    ecr.push_image("app", "v1")
    ecr_client.delete_repository(repositoryName="app", force=True)
    arn = ecr_client.create_repository(repositoryName="app")["repository"]["repositoryArn"]
    assert ecr_client.list_images(repositoryName="app")["imageIds"] == []
    assert ecr_client.list_tags_for_resource(resourceArn=arn)["tags"] == []

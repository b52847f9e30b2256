"""Managed signing (spec §8.7): the signing configuration, signing jobs and their signatures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from helpers import requires_operation

ACCOUNT = "123456789012"
CI = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/ci_profile"
RELEASE = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release"
NOTARY = "application/vnd.cncf.notary.signature"

pytestmark = requires_operation(
    "PutSigningConfiguration",
    "GetSigningConfiguration",
    "DeleteSigningConfiguration",
    "DescribeImageSigningStatus",
)


def err(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return exc.value.response["Error"]


def rule(profile: str = CI, *filters: str) -> dict[str, Any]:
    out: dict[str, Any] = {"signingProfileArn": profile}
    if filters:
        out["repositoryFilters"] = [{"filter": f, "filterType": "WILDCARD_MATCH"} for f in filters]
    return out


def configure(client: Any, *rules: dict[str, Any]) -> dict[str, Any]:
    return client.put_signing_configuration(signingConfiguration={"rules": list(rules)})


def statuses(client: Any, repo: str, digest: str) -> list[dict[str, Any]]:
    return client.describe_image_signing_status(repositoryName=repo, imageId={"imageDigest": digest})[
        "signingStatuses"
    ]


def referrers(client: Any, repo: str, digest: str) -> list[dict[str, Any]]:
    return client.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": digest})["referrers"]


# -- configuration -------------------------------------------------------------------------------


def test_put_get_delete_configuration(ecr_client):
    config = {"rules": [rule(CI, "prod/*", "*-release"), rule(RELEASE)]}
    assert ecr_client.put_signing_configuration(signingConfiguration=config)["signingConfiguration"] == config
    got = ecr_client.get_signing_configuration()
    assert got["registryId"] == ACCOUNT
    assert got["signingConfiguration"] == config
    deleted = ecr_client.delete_signing_configuration()
    assert deleted["registryId"] == ACCOUNT
    assert deleted["signingConfiguration"] == config
    with pytest.raises(ClientError) as exc:
        ecr_client.get_signing_configuration()
    assert err(exc)["Code"] == "SigningConfigurationNotFoundException"


def test_put_replaces_the_configuration_and_empty_rules_are_allowed(ecr_client):
    configure(ecr_client, rule(CI))
    configure(ecr_client)
    assert ecr_client.get_signing_configuration()["signingConfiguration"] == {"rules": []}


@pytest.mark.parametrize("call", ["get_signing_configuration", "delete_signing_configuration"])
def test_get_and_delete_without_configuration(ecr_client, call):
    with pytest.raises(ClientError) as exc:
        getattr(ecr_client, call)()
    assert err(exc) == {
        "Code": "SigningConfigurationNotFoundException",
        "Message": f"Signing configuration does not exist in the registry with id '{ACCOUNT}'",
    }


def test_configuration_is_per_registry(ecr, ecr_client):
    configure(ecr_client, rule(CI))
    with pytest.raises(ClientError) as exc:
        ecr.client(region="eu-west-1").get_signing_configuration()
    assert err(exc)["Code"] == "SigningConfigurationNotFoundException"


def invalid(field: str, constraint: str) -> dict[str, str]:
    return {
        "Code": "InvalidParameterException",
        "Message": f"Invalid parameter at '{field}' failed to satisfy constraint: '{constraint}'",
    }


ARN_PATTERN = r"^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\/signing-profiles\/[a-zA-Z0-9_]{2,}$"
FILTER_PATTERN = r"^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$"


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param(
            [rule(CI)] * 11,
            invalid("rules", "Member must have length less than or equal to 10"),
            id="eleven-rules",
        ),
        pytest.param(
            [rule(CI, *[f"r{i}" for i in range(101)])],
            invalid("repositoryFilters", "Member must have length less than or equal to 100"),
            id="101-filters",
        ),
        pytest.param(
            [{"signingProfileArn": CI, "repositoryFilters": []}],
            invalid("repositoryFilters", "Member must have length greater than or equal to 1"),
            id="empty-filter-list",
        ),
        pytest.param(
            [
                {
                    "signingProfileArn": CI,
                    "repositoryFilters": [{"filter": "app", "filterType": "PREFIX_MATCH"}],
                }
            ],
            invalid("filterType", "Member must satisfy enum value set: [WILDCARD_MATCH]"),
            id="filter-type",
        ),
        pytest.param(
            [rule(CI, "Prod/*")],
            invalid("filter", f"must satisfy regular expression '{FILTER_PATTERN}'"),
            id="filter-pattern",
        ),
        pytest.param(
            [rule(CI, "a" * 257)],
            invalid("filter", "must have length less than or equal to 256"),
            id="filter-length",
        ),
        pytest.param(
            [rule(f"arn:aws:kms:us-east-1:{ACCOUNT}:/signing-profiles/ci")],
            invalid("signingProfileArn", f"must satisfy regular expression '{ARN_PATTERN}'"),
            id="arn-service",
        ),
        pytest.param(
            [rule(f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/x")],
            invalid("signingProfileArn", f"must satisfy regular expression '{ARN_PATTERN}'"),
            id="arn-short-name",
        ),
        pytest.param(
            [rule(f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/" + "p" * 160)],
            invalid("signingProfileArn", "must have length less than or equal to 200"),
            id="arn-length",
        ),
        pytest.param(
            [{"repositoryFilters": [{"filter": "app", "filterType": "WILDCARD_MATCH"}]}],
            invalid("signingProfileArn", "Member must not be null"),
            id="arn-missing",
        ),
    ],
)
def test_put_validation(raw_client, rules, expected):
    with pytest.raises(ClientError) as exc:
        raw_client.put_signing_configuration(signingConfiguration={"rules": rules})
    assert err(exc) == expected
    with pytest.raises(ClientError):
        raw_client.get_signing_configuration()  # nothing was stored


def test_ten_rules_and_a_hundred_filters_are_accepted(ecr_client):
    rules = [rule(CI, *[f"team{r}/app{i}" for i in range(100)]) for r in range(10)]
    assert configure(ecr_client, *rules)["signingConfiguration"]["rules"] == rules


def test_rules_are_required(raw_client):
    with pytest.raises(ClientError) as exc:
        raw_client.put_signing_configuration(signingConfiguration={})
    assert err(exc) == invalid("rules", "Member must not be null")


# -- signing jobs --------------------------------------------------------------------------------


def test_push_signs_in_virtual_time_and_the_signature_is_a_referrer(ecr, ecr_client, ecr_clock):
    ecr.create_repository("app")
    configure(ecr_client, rule(CI))
    image = ecr.push_image("app", "v1")
    assert statuses(ecr_client, "app", image.digest) == [{"signingProfileArn": CI, "status": "IN_PROGRESS"}]
    ecr_clock.advance(seconds=ecr.options.signing_seconds - 1)
    assert statuses(ecr_client, "app", image.digest)[0]["status"] == "IN_PROGRESS"
    assert referrers(ecr_client, "app", image.digest) == []
    ecr_clock.advance(seconds=1)
    assert referrers(ecr_client, "app", image.digest)[0]["artifactType"] == NOTARY
    assert statuses(ecr_client, "app", image.digest) == [{"signingProfileArn": CI, "status": "COMPLETE"}]

    [signature] = referrers(ecr_client, "app", image.digest)
    assert signature["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert signature["artifactStatus"] == "ACTIVE"
    detail = ecr_client.describe_images(
        repositoryName="app", imageIds=[{"imageDigest": signature["digest"]}]
    )["imageDetails"][0]
    assert "imageTags" not in detail  # untagged
    assert detail["subjectManifestDigest"] == image.digest
    assert detail["artifactMediaType"] == NOTARY
    assert detail["imagePushedAt"].timestamp() == image.pushed_at + ecr.options.signing_seconds
    manifest = json.loads(
        ecr_client.batch_get_image(repositoryName="app", imageIds=[{"imageDigest": signature["digest"]}])[
            "images"
        ][0]["imageManifest"]
    )
    assert manifest["subject"]["digest"] == image.digest
    assert manifest["artifactType"] == NOTARY
    # The tag still names the image, not its signature.
    assert ecr_client.list_images(repositoryName="app", filter={"tagStatus": "TAGGED"})["imageIds"] == [
        {"imageDigest": image.digest, "imageTag": "v1"}
    ]


def test_status_echoes_the_requested_id_and_registry(ecr, ecr_client):
    ecr.create_repository("app")
    configure(ecr_client, rule(CI))
    image = ecr.push_image("app", "v1")
    out = ecr_client.describe_image_signing_status(repositoryName="app", imageId={"imageTag": "v1"})
    assert out["registryId"] == ACCOUNT
    assert out["repositoryName"] == "app"
    assert out["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}


def test_signing_seconds_is_an_option(ecr, ecr_client, ecr_clock):
    ecr.options.signing_seconds = 120
    ecr.create_repository("app")
    configure(ecr_client, rule(CI))
    image = ecr.push_image("app")
    ecr_clock.advance(seconds=119)
    assert statuses(ecr_client, "app", image.digest)[0]["status"] == "IN_PROGRESS"
    ecr_clock.advance(seconds=1)
    assert statuses(ecr_client, "app", image.digest)[0]["status"] == "COMPLETE"


def test_put_image_through_the_api_is_signed(ecr, ecr_client, ecr_clock):
    from helpers import image_manifest

    ecr.create_repository("app")
    configure(ecr_client, rule(CI))
    digest = ecr_client.put_image(
        repositoryName="app", imageManifest=image_manifest(ecr, "app"), imageTag="v1"
    )["image"]["imageId"]["imageDigest"]
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert len(referrers(ecr_client, "app", digest)) == 1


@pytest.mark.parametrize(
    ("filters", "signed", "unsigned"),
    [
        (("prod/*",), ["prod/api", "prod/team/web"], ["dev/api", "prod"]),
        (("*/production",), ["web/production"], ["web/production-eu", "production"]),
        (("*prod*",), ["prod", "myprod/x", "a-prod-b"], ["dev"]),
        (("app",), ["app"], ["myapp", "app2", "team/app"]),  # no '*': the whole name
        (("api", "web"), ["api", "web"], ["worker"]),
    ],
)
def test_filters_choose_the_repositories(ecr, ecr_client, ecr_clock, filters, signed, unsigned):
    configure(ecr_client, rule(CI, *filters))
    pushed = {}
    for name in signed + unsigned:
        ecr.create_repository(name)
        pushed[name] = ecr.push_image(name, "v1").digest
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    for name in signed:
        assert statuses(ecr_client, name, pushed[name]) == [{"signingProfileArn": CI, "status": "COMPLETE"}]
        assert len(referrers(ecr_client, name, pushed[name])) == 1
    for name in unsigned:
        assert statuses(ecr_client, name, pushed[name]) == []
        assert referrers(ecr_client, name, pushed[name]) == []


def test_two_matching_rules_make_two_jobs_and_two_signatures(ecr, ecr_client, ecr_clock):
    configure(ecr_client, rule(CI), rule(RELEASE, "app"), rule(f"{RELEASE}2", "other"))
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    assert [s["signingProfileArn"] for s in statuses(ecr_client, "app", image.digest)] == [CI, RELEASE]
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert statuses(ecr_client, "app", image.digest) == [
        {"signingProfileArn": CI, "status": "COMPLETE"},
        {"signingProfileArn": RELEASE, "status": "COMPLETE"},
    ]
    found = referrers(ecr_client, "app", image.digest)
    assert len(found) == 2
    assert len({r["digest"] for r in found}) == 2
    assert {r["artifactType"] for r in found} == {NOTARY}


def test_rules_with_the_same_profile_make_one_job(ecr, ecr_client, ecr_clock):
    configure(ecr_client, rule(CI, "app"), rule(CI, "a*"))
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert statuses(ecr_client, "app", image.digest) == [{"signingProfileArn": CI, "status": "COMPLETE"}]
    assert len(referrers(ecr_client, "app", image.digest)) == 1


def test_only_new_images_are_signed(ecr, ecr_client, ecr_clock):
    ecr.create_repository("app")
    before = ecr.push_image("app", "old")
    configure(ecr_client, rule(CI))
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert statuses(ecr_client, "app", before.digest) == []
    # Adding a tag to an existing image is not a new image: no second job or signature.
    image = ecr.push_image("app", "v1")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    ecr_client.put_image(repositoryName="app", imageManifest=image.manifest, imageTag="v1-again")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert len(statuses(ecr_client, "app", image.digest)) == 1
    assert len(referrers(ecr_client, "app", image.digest)) == 1


def test_deleting_the_configuration_keeps_signatures(ecr, ecr_client, ecr_clock):
    ecr.create_repository("app")
    configure(ecr_client, rule(CI))
    signed = ecr.push_image("app", "v1")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    in_flight = ecr.push_image("app", "v2")
    ecr_client.delete_signing_configuration()
    after = ecr.push_image("app", "v3")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert statuses(ecr_client, "app", signed.digest) == [{"signingProfileArn": CI, "status": "COMPLETE"}]
    assert len(referrers(ecr_client, "app", signed.digest)) == 1
    # A job started before the deletion still finishes; pushes after it are not signed.
    assert statuses(ecr_client, "app", in_flight.digest)[0]["status"] == "COMPLETE"
    assert statuses(ecr_client, "app", after.digest) == []
    assert referrers(ecr_client, "app", after.digest) == []


def test_profile_of_another_region_or_partition_fails(ecr, ecr_client, ecr_clock):
    other_region = f"arn:aws:signer:eu-west-1:{ACCOUNT}:/signing-profiles/ci"
    other_partition = f"arn:aws-cn:signer:us-east-1:{ACCOUNT}:/signing-profiles/ci"
    configure(ecr_client, rule(other_region), rule(other_partition), rule(CI))
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    assert {s["status"] for s in statuses(ecr_client, "app", image.digest)} == {"IN_PROGRESS"}
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    found = statuses(ecr_client, "app", image.digest)
    assert found[0] == {
        "signingProfileArn": other_region,
        "status": "FAILED",
        "failureCode": "SIGNING_PROFILE_NOT_FOUND",
        "failureReason": f"The signing profile '{other_region}' was not found in Region 'us-east-1' "
        "(partition 'aws'); the signing profile must be in the same Region as the registry",
    }
    assert (found[1]["status"], found[1]["failureCode"]) == ("FAILED", "SIGNING_PROFILE_NOT_FOUND")
    assert found[2] == {"signingProfileArn": CI, "status": "COMPLETE"}
    assert len(referrers(ecr_client, "app", image.digest)) == 1  # only the successful job's


def test_signing_in_another_region_uses_that_registry(ecr, ecr_clock):
    eu = ecr.client(region="eu-west-1")
    profile = f"arn:aws:signer:eu-west-1:{ACCOUNT}:/signing-profiles/eu"
    configure(eu, rule(profile))
    ecr.create_repository("app", region="eu-west-1")
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1", region="eu-west-1")
    home = ecr.push_image("app", "v1")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert statuses(eu, "app", image.digest) == [{"signingProfileArn": profile, "status": "COMPLETE"}]
    assert statuses(ecr.client(), "app", home.digest) == []


def test_signatures_are_not_signed_scanned_or_tagged(ecr, ecr_client, ecr_clock):
    ecr_client.put_registry_scanning_configuration(
        scanType="BASIC",
        rules=[
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
            }
        ],
    )
    configure(ecr_client, rule(CI))
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    for _ in range(3):
        ecr_clock.advance(seconds=ecr.options.signing_seconds)
        ecr_client.describe_images(repositoryName="app")
    [signature] = referrers(ecr_client, "app", image.digest)
    assert statuses(ecr_client, "app", signature["digest"]) == []
    assert referrers(ecr_client, "app", signature["digest"]) == []  # no signature of the signature
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_image_scan_findings(
            repositoryName="app", imageId={"imageDigest": signature["digest"]}
        )
    assert err(exc)["Code"] == "ScanNotFoundException"
    assert len(ecr_client.describe_images(repositoryName="app")["imageDetails"]) == 2


def test_user_pushed_referrers_are_not_signed(ecr, ecr_client, ecr_clock):
    configure(ecr_client, rule(CI))
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    sbom = ecr.push_artifact("app", image.digest, "application/spdx+json")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert statuses(ecr_client, "app", sbom.digest) == []
    assert {r["artifactType"] for r in referrers(ecr_client, "app", image.digest)} == {
        "application/spdx+json",
        NOTARY,
    }


def test_seeded_old_images_are_signed_by_their_push_time(ecr, ecr_client):
    configure(ecr_client, rule(CI))
    ecr.create_repository("app")
    image = ecr.push_image("app", "old", pushed_days_ago=3)
    assert statuses(ecr_client, "app", image.digest) == [{"signingProfileArn": CI, "status": "COMPLETE"}]


def test_image_deleted_before_signing_finishes_leaves_no_signature(ecr, ecr_client, ecr_clock):
    configure(ecr_client, rule(CI))
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": image.digest}])
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    assert ecr_client.describe_images(repositoryName="app")["imageDetails"] == []
    assert referrers(ecr_client, "app", image.digest) == []


def test_multi_arch_push_signs_each_manifest(ecr, ecr_client, ecr_clock):
    configure(ecr_client, rule(CI))
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1", platforms=["linux/amd64", "linux/arm64"])
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    for digest in (image.digest, *image.children):
        assert statuses(ecr_client, "app", digest)[0]["status"] == "COMPLETE"
        assert len(referrers(ecr_client, "app", digest)) == 1


# -- DescribeImageSigningStatus errors ------------------------------------------------------------


def test_unsigned_image_has_no_statuses(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    out = ecr_client.describe_image_signing_status(repositoryName="app", imageId={"imageTag": "v1"})
    assert out["signingStatuses"] == []


def test_status_of_missing_repository(ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_image_signing_status(repositoryName="nope", imageId={"imageTag": "v1"})
    assert err(exc) == {
        "Code": "RepositoryNotFoundException",
        "Message": f"The repository with name 'nope' does not exist in the registry with id '{ACCOUNT}'",
    }


def test_status_of_missing_image(ecr, ecr_client):
    ecr.create_repository("app")
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_image_signing_status(repositoryName="app", imageId={"imageTag": "v9"})
    assert err(exc) == {
        "Code": "ImageNotFoundException",
        # the missing half is quoted 'null' (hashicorp/terraform-provider-aws#35268)
        "Message": "The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the "
        f"repository with name 'app' in the registry with id '{ACCOUNT}'",
    }


def test_status_with_an_empty_image_id(ecr, raw_client):
    ecr.create_repository("app")
    with pytest.raises(ClientError) as exc:
        raw_client.describe_image_signing_status(repositoryName="app", imageId={})
    assert err(exc)["Code"] == "InvalidParameterException"


def test_signatures_replicate_and_replicas_are_not_signed_again(ecr, ecr_client, ecr_clock):
    eu = ecr.client(region="eu-west-1")
    configure(ecr_client, rule(CI))
    configure(eu, rule(f"arn:aws:signer:eu-west-1:{ACCOUNT}:/signing-profiles/eu"))
    ecr_client.put_replication_configuration(
        replicationConfiguration={
            "rules": [{"destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}]}]
        }
    )
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    ecr_clock.advance(seconds=ecr.options.signing_seconds)
    [signature] = referrers(ecr_client, "app", image.digest)  # stored now, then replicated
    ecr_clock.advance(seconds=ecr.options.replication_seconds)
    assert referrers(eu, "app", image.digest) == [signature]
    assert statuses(eu, "app", image.digest) == []  # a replica arrives; it is not pushed

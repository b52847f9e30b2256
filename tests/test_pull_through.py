"""Pull-through cache (spec §8.4): the rule operations with their validation, and pulling through
a rule from the fake's upstream registries (seeded, supplied by the hook, or another ECR registry
of the fake)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-abc123"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-pull-through"
DOCKER_HUB = "registry-1.docker.io"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def docker_hub_rule(client, prefix: str = "docker-hub") -> dict:
    return client.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix,
        upstreamRegistryUrl=DOCKER_HUB,
        upstreamRegistry="docker-hub",
        credentialArn=SECRET,
    )


def pull(client, repository: str, tag: str) -> dict:
    return client.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])


# -- the rule operations --------------------------------------------------------------------------


@pytest.mark.ecr_time("2026-06-01T12:00:00Z")
def test_rule_round_trip(ecr, ecr_client):
    created = docker_hub_rule(ecr_client)
    assert created["ecrRepositoryPrefix"] == "docker-hub"
    assert (created["upstreamRegistry"], created["upstreamRegistryUrl"]) == ("docker-hub", DOCKER_HUB)
    assert created["credentialArn"] == SECRET
    assert "upstreamRepositoryPrefix" not in created  # only ecr upstreams have one

    ecr.clock.advance(90)
    other = SECRET.replace("abc123", "def456")
    updated = ecr_client.update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", credentialArn=other)
    [described] = ecr_client.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    validated = ecr_client.validate_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    deleted = ecr_client.delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")

    assert updated["credentialArn"] == other
    assert (updated["updatedAt"] - created["createdAt"]).total_seconds() == 90
    assert described["credentialArn"] == other
    assert described["updatedAt"] == updated["updatedAt"]
    assert (validated["isValid"], validated["upstreamRegistryUrl"]) == (True, DOCKER_HUB)
    assert deleted["createdAt"] == created["createdAt"]
    assert ecr_client.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []


def test_ecr_upstream_needs_a_role_and_has_a_repository_prefix(ecr_client):
    url = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
    with pytest.raises(ClientError) as exc:
        ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="mirror", upstreamRegistryUrl=url)
    assert error(exc) == ("ValidationException", "A customRoleArn is required for upstream registry 'ecr'")

    rule = ecr_client.create_pull_through_cache_rule(
        ecrRepositoryPrefix="mirror",
        upstreamRegistryUrl=url,
        customRoleArn=ROLE,
        upstreamRepositoryPrefix="team",
    )
    assert (rule["upstreamRegistry"], rule["upstreamRepositoryPrefix"]) == ("ecr", "team")
    root = ecr_client.create_pull_through_cache_rule(
        ecrRepositoryPrefix="ROOT", upstreamRegistryUrl=url, customRoleArn=ROLE
    )
    assert root["upstreamRepositoryPrefix"] == "ROOT"


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        (
            {"upstreamRegistryUrl": "registry.example.com"},
            "UnsupportedUpstreamRegistryException",
            "is invalid. Specify a valid upstream registry URL",  # goharbor/harbor#20174
        ),
        (
            {"upstreamRegistryUrl": "quay.io", "upstreamRegistry": "docker-hub"},
            "UnsupportedUpstreamRegistryException",
            "The upstream registry URL quay.io is invalid",
        ),
        # aws-controllers-k8s/community#2589: no credentialArn for Docker Hub
        (
            {"upstreamRegistryUrl": DOCKER_HUB},
            "UnsupportedUpstreamRegistryException",
            "requires authentication",
        ),
        (
            {"upstreamRegistryUrl": "ghcr.io"},
            "UnsupportedUpstreamRegistryException",
            "requires authentication",
        ),
        (
            {"upstreamRegistryUrl": DOCKER_HUB, "credentialArn": SECRET.replace("us-east-1", "eu-west-1")},
            "SecretNotFoundException",
            "registry's account",
        ),
        (
            {"upstreamRegistryUrl": DOCKER_HUB, "credentialArn": SECRET.replace(ACCOUNT, "210987654321")},
            "SecretNotFoundException",
            "was not found",
        ),
        (
            {"upstreamRegistryUrl": "public.ecr.aws", "customRoleArn": ROLE},
            "ValidationException",
            "only be used",
        ),
        (
            {"upstreamRegistryUrl": "public.ecr.aws", "upstreamRepositoryPrefix": "team"},
            "ValidationException",
            "upstreamRepositoryPrefix",
        ),
        (
            {
                "upstreamRegistryUrl": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
                "customRoleArn": "arn:aws:iam::210987654321:role/x",
            },
            "ValidationException",
            "registry's account",
        ),
    ],
)
def test_create_validation(ecr_client, params, code, fragment):
    with pytest.raises(ClientError) as exc:
        ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="cache", **params)
    got, message = error(exc)
    assert got == code
    assert fragment in message
    assert ecr_client.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []


def test_public_upstreams_need_no_credential(ecr_client):
    for prefix, url in (("ecr-public", "public.ecr.aws"), ("quay", "quay.io"), ("k8s", "registry.k8s.io")):
        rule = ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=url)
        assert "credentialArn" not in rule


def test_duplicate_prefix_and_the_rule_limit(ecr_client):
    ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    with pytest.raises(ClientError) as exc:
        ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay/", upstreamRegistryUrl="quay.io")
    assert error(exc) == (
        "PullThroughCacheRuleAlreadyExistsException",
        "A pull through cache rule with these settings already exists for the private registry",
    )
    for n in range(49):
        ecr_client.create_pull_through_cache_rule(
            ecrRepositoryPrefix=f"quay{n}", upstreamRegistryUrl="quay.io"
        )
    with pytest.raises(ClientError) as exc:
        ecr_client.create_pull_through_cache_rule(
            ecrRepositoryPrefix="one-more", upstreamRegistryUrl="quay.io"
        )
    assert error(exc)[0] == "LimitExceededException"


def test_missing_rules(ecr_client):
    ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    calls = [
        lambda: ecr_client.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["quay", "missing"]),
        lambda: ecr_client.update_pull_through_cache_rule(
            ecrRepositoryPrefix="missing", credentialArn=SECRET
        ),
        lambda: ecr_client.delete_pull_through_cache_rule(ecrRepositoryPrefix="missing"),
        lambda: ecr_client.validate_pull_through_cache_rule(ecrRepositoryPrefix="missing"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == (
            "PullThroughCacheRuleNotFoundException",
            f"The pull through cache rule with prefix 'missing' does not exist in the registry with id '{ACCOUNT}'",
        )


def test_describe_pages(ecr_client):
    for prefix in ("q1", "q2", "q3"):
        ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl="quay.io")
    pages = ecr_client.get_paginator("describe_pull_through_cache_rules").paginate(
        PaginationConfig={"PageSize": 2}
    )
    assert [[r["ecrRepositoryPrefix"] for r in p["pullThroughCacheRules"]] for p in pages] == [
        ["q1", "q2"],
        ["q3"],
    ]


# -- pulling through ------------------------------------------------------------------------------


@pytest.mark.ecr_seed(upstream={DOCKER_HUB: {"library/nginx": ["1.27"]}})
def test_first_pull_creates_the_repository_and_caches_the_image(ecr, ecr_client):
    docker_hub_rule(ecr_client)
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_repositories(repositoryNames=["docker-hub/library/nginx"])
    assert error(exc)[0] == "RepositoryNotFoundException"  # nothing cached yet

    first = pull(ecr_client, "docker-hub/library/nginx", "1.27")
    again = pull(ecr_client, "docker-hub/library/nginx", "1.27")

    [image] = first["images"]
    assert first["failures"] == []
    assert again["images"] == first["images"]
    repo = ecr_client.describe_repositories(repositoryNames=["docker-hub/library/nginx"])["repositories"][0]
    assert (repo["imageTagMutability"], repo["encryptionConfiguration"]) == (
        "MUTABLE",
        {"encryptionType": "AES256"},
    )
    [detail] = ecr_client.describe_images(repositoryName="docker-hub/library/nginx")["imageDetails"]
    assert (detail["imageDigest"], detail["imageTags"]) == (image["imageId"]["imageDigest"], ["1.27"])
    # its layers came too: a client can download them
    layer = json.loads(image["imageManifest"])["layers"][0]["digest"]
    ecr_client.get_download_url_for_layer(repositoryName="docker-hub/library/nginx", layerDigest=layer)


def test_multi_arch_images_are_cached_with_their_platform_images(ecr, ecr_client):
    digest = ecr.upstream_image(DOCKER_HUB, "library/redis", "7", platforms=["linux/amd64", "linux/arm64"])
    docker_hub_rule(ecr_client)

    [image] = pull(ecr_client, "docker-hub/library/redis", "7")["images"]

    assert image["imageId"]["imageDigest"] == digest
    assert image["imageManifestMediaType"] == OCI_INDEX
    children = [m["digest"] for m in json.loads(image["imageManifest"])["manifests"]]
    cached = ecr_client.batch_get_image(
        repositoryName="docker-hub/library/redis", imageIds=[{"imageDigest": d} for d in children]
    )
    assert sorted(i["imageId"]["imageDigest"] for i in cached["images"]) == sorted(children)


def test_the_pull_through_cache_template_applies(ecr, ecr_client):
    ecr.upstream_image("quay.io", "coreos/etcd", "v3")
    ecr_client.create_repository_creation_template(
        prefix="quay",
        appliedFor=["PULL_THROUGH_CACHE"],
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "source", "Value": "quay"}],
        customRoleArn=ROLE,
    )
    ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")

    pull(ecr_client, "quay/coreos/etcd", "v3")

    [repo] = ecr_client.describe_repositories(repositoryNames=["quay/coreos/etcd"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert ecr_client.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [
        {"Key": "source", "Value": "quay"}
    ]


def test_missing_and_failing_upstream_content(ecr, ecr_client):
    docker_hub_rule(ecr_client)
    ecr.upstream_image(DOCKER_HUB, "library/nginx", "1.27")
    ecr.upstream_failure(DOCKER_HUB, "library/private", "UpstreamAccessDenied")

    missing = pull(ecr_client, "docker-hub/library/nginx", "9.99")
    denied = pull(ecr_client, "docker-hub/library/private", "1")

    assert missing == {
        "images": [],
        "failures": [
            {
                "imageId": {"imageTag": "9.99"},
                "failureCode": "ImageNotFound",
                "failureReason": "The image was not found in the upstream registry",
            }
        ],
        "ResponseMetadata": missing["ResponseMetadata"],
    }
    assert denied["failures"][0]["failureCode"] == "UpstreamAccessDenied"
    # nothing fetched, nothing created
    assert ecr_client.describe_repositories()["repositories"] == []


@pytest.mark.parametrize("root_first", [True, False])
def test_a_named_prefix_wins_over_the_root_rule(ecr, ecr_client, root_first):
    """ROOT covers the repositories "that don't have an associated pull through cache rule" (user
    guide, "Customizing repository prefixes for ECR to ECR pull through cache"): a repository under
    a named rule's prefix pulls through that rule, whichever was created first."""
    from_quay = ecr.upstream_image("quay.io", "coreos/etcd", "v3")
    ecr.create_repository("quay/coreos/etcd", region="eu-west-1")
    from_ecr = ecr.push_image("quay/coreos/etcd", "v3", region="eu-west-1").digest
    assert from_quay != from_ecr

    def root() -> None:
        ecr_client.create_pull_through_cache_rule(
            ecrRepositoryPrefix="ROOT",
            upstreamRegistryUrl=f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
            customRoleArn=ROLE,
        )

    def quay() -> None:
        ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")

    for create in (root, quay) if root_first else (quay, root):
        create()

    [image] = pull(ecr_client, "quay/coreos/etcd", "v3")["images"]
    assert image["imageId"]["imageDigest"] == from_quay
    # ROOT still covers a name outside "quay/": the ECR upstream's repository of the same name.
    ecr.create_repository("tools/jq", region="eu-west-1")
    jq = ecr.push_image("tools/jq", "1.7", region="eu-west-1").digest
    assert pull(ecr_client, "tools/jq", "1.7")["images"][0]["imageId"]["imageDigest"] == jq


@pytest.mark.parametrize("shorter_first", [True, False])
def test_the_longest_of_two_nested_prefixes_wins(ecr, ecr_client, shorter_first):
    """Two rules whose prefixes both cover the name (``hub`` and ``hub/quay`` for
    ``hub/quay/coreos/etcd``): the longer prefix's rule applies. INFERRED, not documented: AWS
    states no order between overlapping prefixes (user guide and API reference, searched). It is
    the only choice that leaves the longer rule any name to apply to (every name under ``hub/quay/``
    is under ``hub/``), and the choice the spec makes for creation templates (§8.5, inferred too)."""
    from_quay = ecr.upstream_image("quay.io", "coreos/etcd", "v3")
    from_hub = ecr.upstream_image(DOCKER_HUB, "quay/coreos/etcd", "v3")
    assert from_quay != from_hub

    def hub() -> None:
        docker_hub_rule(ecr_client, prefix="hub")

    def hub_quay() -> None:
        ecr_client.create_pull_through_cache_rule(
            ecrRepositoryPrefix="hub/quay", upstreamRegistryUrl="quay.io"
        )

    for create in (hub, hub_quay) if shorter_first else (hub_quay, hub):
        create()

    [image] = pull(ecr_client, "hub/quay/coreos/etcd", "v3")["images"]
    assert image["imageId"]["imageDigest"] == from_quay
    # The shorter rule keeps the names only it covers.
    nginx = ecr.upstream_image(DOCKER_HUB, "library/nginx", "1.27")
    assert pull(ecr_client, "hub/library/nginx", "1.27")["images"][0]["imageId"]["imageDigest"] == nginx


def test_a_repository_outside_every_rule_is_not_found(ecr_client):
    docker_hub_rule(ecr_client)
    with pytest.raises(ClientError) as exc:
        pull(ecr_client, "quay/coreos/etcd", "v3")
    assert error(exc)[0] == "RepositoryNotFoundException"


def test_an_ecr_upstream_is_another_registry_of_the_fake(ecr, ecr_client):
    ecr.create_repository("team/api", region="eu-west-1")
    pushed = ecr.push_image("team/api", "v1", region="eu-west-1")
    ecr_client.create_pull_through_cache_rule(
        ecrRepositoryPrefix="eu",
        upstreamRegistryUrl=f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
        customRoleArn=ROLE,
        upstreamRepositoryPrefix="team",
    )

    [image] = pull(ecr_client, "eu/api", "v1")["images"]

    assert image["imageId"]["imageDigest"] == pushed.digest


def test_the_hook_supplies_what_was_not_seeded(pytester):
    pytester.makeconftest(
        """
        def pytest_ecr_upstream_image(request):
            if request.repository == "library/alpine":
                return {"platforms": ["linux/amd64", "linux/arm64"]}
            return None
        """
    )
    pytester.makepyfile(
        f"""
        def test_pull(ecr, ecr_client):
            ecr_client.create_pull_through_cache_rule(
                ecrRepositoryPrefix="hub", upstreamRegistryUrl="{DOCKER_HUB}", credentialArn="{SECRET}"
            )
            got = ecr_client.batch_get_image(repositoryName="hub/library/alpine", imageIds=[{{"imageTag": "3"}}])
            assert got["images"][0]["imageManifestMediaType"] == "{OCI_INDEX}"
            missing = ecr_client.batch_get_image(repositoryName="hub/library/busybox", imageIds=[{{"imageTag": "1"}}])
            assert missing["failures"][0]["failureCode"] == "ImageNotFound"
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_a_registry_pull_goes_through_the_cache(ecr, ecr_client, ecr_server):
    import base64
    import urllib.request

    digest = ecr.upstream_image("quay.io", "coreos/etcd", "v3")
    ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    token = base64.b64encode(f"AWS:{ecr_server.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{ecr_server.registry}/v2/quay/coreos/etcd/manifests/v3",
        headers={"Authorization": f"Basic {token}", "Accept": "application/vnd.oci.image.manifest.v1+json"},
    )

    with urllib.request.urlopen(request) as answer:
        assert answer.headers["Docker-Content-Digest"] == digest

    [detail] = ecr_client.describe_images(repositoryName="quay/coreos/etcd")["imageDetails"]
    assert (detail["imageDigest"], detail["imageTags"]) == (digest, ["v3"])

"""PutImage through a real boto3 client (spec §3.2-3.5)."""

from __future__ import annotations

import hashlib
import json

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time
from helpers import DOCKER_LIST, DOCKER_V2, OCI_INDEX, OCI_MANIFEST, image_manifest, index_manifest

from pytest_ecr import FakeECR, FakeError

REPO = "test-repo"
ACCOUNT = "123456789012"


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_digest_is_sha256_of_the_exact_manifest_bytes(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO)
    image = ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")["image"]
    assert image["imageId"] == {
        "imageDigest": "sha256:" + hashlib.sha256(text.encode()).hexdigest(),
        "imageTag": "v1",
    }
    assert image["imageManifest"] == text
    assert image["imageManifestMediaType"] == OCI_MANIFEST
    assert image["registryId"] == ACCOUNT


def test_whitespace_changes_make_a_different_image(ecr, ecr_client, ecr_repo):
    compact = image_manifest(ecr, REPO, indent=None)
    pretty = json.dumps(json.loads(compact), indent=3)
    first = ecr_client.put_image(repositoryName=REPO, imageManifest=compact)["image"]["imageId"][
        "imageDigest"
    ]
    second = ecr_client.put_image(repositoryName=REPO, imageManifest=pretty)["image"]["imageId"][
        "imageDigest"
    ]
    assert first != second
    assert len(ecr_client.describe_images(repositoryName=REPO)["imageDetails"]) == 2


def test_size_is_config_plus_layers(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO, layer_sizes=(1000, 2500, 7))
    config_size = json.loads(text)["config"]["size"]
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    detail = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imageSizeInBytes"] == config_size + 1000 + 2500 + 7
    assert detail["artifactMediaType"] == "application/vnd.oci.image.config.v1+json"


def test_digest_mismatch(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO)
    with pytest.raises(ecr_client.exceptions.ImageDigestDoesNotMatchException):
        ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageDigest="sha256:" + "0" * 64)
    assert ecr_client.list_images(repositoryName=REPO)["imageIds"] == []


def test_matching_digest_is_accepted(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO)
    digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    image = ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageDigest=digest)["image"]
    assert image["imageId"] == {"imageDigest": digest}


def test_manifest_without_media_type_is_invalid_json_syntax(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO, media_type=None)
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=text)
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
    )
    # Supplying the media type as a parameter makes the same manifest acceptable.
    image = ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageManifestMediaType=OCI_MANIFEST)
    assert image["image"]["imageManifestMediaType"] == OCI_MANIFEST


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"schemaVersion": 2, "mediaType": '])
def test_unparseable_manifest(ecr_client, ecr_repo, text):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=text)
    assert (
        error(exc)[1]
        == "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
    )


def test_media_type_parameter_must_agree_with_manifest(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO)
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageManifestMediaType=DOCKER_V2)
    assert error(exc)[0] == "InvalidParameterException"
    assert "imageManifestMediaType" in error(exc)[1]


def test_unsupported_media_type(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO, media_type="application/vnd.example+json")
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=text)
    assert error(exc)[0] == "InvalidParameterException"


def test_docker_schema2_media_type_from_manifest(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO, media_type=DOCKER_V2)
    image = ecr_client.put_image(repositoryName=REPO, imageManifest=text)["image"]
    assert image["imageManifestMediaType"] == DOCKER_V2


def test_schema1_media_type(ecr, ecr_client, ecr_repo):
    layer = json.loads(image_manifest(ecr, REPO))["layers"][0]["digest"]
    unsigned = json.dumps({"schemaVersion": 1, "name": REPO, "tag": "v1", "fsLayers": [{"blobSum": layer}]})
    signed = json.dumps(
        {
            "schemaVersion": 1,
            "name": REPO,
            "tag": "v2",
            "fsLayers": [{"blobSum": layer}],
            "signatures": [{"header": {}, "signature": "abc", "protected": "def"}],
        }
    )
    assert ecr_client.put_image(repositoryName=REPO, imageManifest=unsigned)["image"][
        "imageManifestMediaType"
    ] == ("application/vnd.docker.distribution.manifest.v1+json")
    assert ecr_client.put_image(repositoryName=REPO, imageManifest=signed)["image"][
        "imageManifestMediaType"
    ] == ("application/vnd.docker.distribution.manifest.v1+prettyjws")
    sizes = {d["imageSizeInBytes"] for d in ecr_client.describe_images(repositoryName=REPO)["imageDetails"]}
    assert sizes == {1000}


def test_missing_layers(ecr, ecr_client, ecr_repo):
    doc = json.loads(image_manifest(ecr, REPO))
    doc["layers"].append({"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": 5})
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(doc))
    assert error(exc) == (
        "LayersNotFoundException",
        f"Layers with digests [sha256:{'a' * 64}] required for pushing image into repository with name "
        f"'{REPO}' in the registry with id '{ACCOUNT}' do not exist",
    )


def test_foreign_layers_need_not_exist(ecr, ecr_client, ecr_repo):
    doc = json.loads(image_manifest(ecr, REPO))
    doc["layers"].append(
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": "sha256:" + "b" * 64,
            "size": 50,
            "urls": ["https://example.com/layer"],
        }
    )
    ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(doc))
    assert ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]["imageSizeInBytes"] == (
        doc["config"]["size"] + 1000 + 50
    )


@pytest.mark.parametrize(("where", "size"), [("config", True), ("layer", True), ("layer", False)])
def test_a_descriptor_size_must_be_an_integer_not_a_boolean(ecr, ecr_client, ecr_repo, where, size):
    """A descriptor's ``size`` is an int64 (OCI image-spec, descriptor.md "size int64"; its JSON
    schema content-descriptor.json refers to defs.json ``int64``, ``"type": "integer"``, which a
    JSON boolean is not). ECR checks descriptors against the schema and answers content it does
    not expect with 'Invalid JSON syntax' [OBS: a subject descriptor holding a platform,
    dragonflyoss/nydus#1691; a config descriptor's annotation, goharbor/acceleration-service#353].
    That a boolean size gets the same answer is inferred from the two (no recorded response)."""
    doc = json.loads(image_manifest(ecr, REPO))
    descriptor = doc["config"] if where == "config" else doc["layers"][0]
    declared, descriptor["size"] = descriptor["size"], size
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(doc))
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
    )
    # The size alone made the difference: with its integer size back, the manifest is accepted.
    descriptor["size"] = declared
    ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(doc))


def test_a_list_child_size_must_be_an_integer_not_a_boolean(ecr, ecr_client, ecr_repo):
    """As test_a_descriptor_size_must_be_an_integer_not_a_boolean, for an index's ``manifests[]``
    (OCI image-spec, image-index.md: each entry is a descriptor)."""
    child = ecr_client.put_image(repositoryName=REPO, imageManifest=image_manifest(ecr, REPO))["image"]
    doc = json.loads(index_manifest([(child["imageId"]["imageDigest"], len(child["imageManifest"]))]))
    doc["manifests"][0]["size"] = True
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(doc))
    assert error(exc)[1] == (
        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
    )


def test_image_needs_a_layer_and_at_most_500(ecr, ecr_client, ecr_repo):
    doc = json.loads(image_manifest(ecr, REPO))
    doc["layers"] = []
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(doc))
    assert error(exc)[0] == "InvalidParameterException"
    many = image_manifest(ecr, REPO, layer_sizes=tuple(range(1, 502)))
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=many)
    assert error(exc)[1] == (
        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Limit on number of layers per image exceeded'"
    )


def test_retag_moves_tag_and_leaves_old_image_untagged(ecr, ecr_client, ecr_repo):
    old = ecr_client.put_image(
        repositoryName=REPO, imageManifest=image_manifest(ecr, REPO, label="a"), imageTag="latest"
    )
    new = ecr_client.put_image(
        repositoryName=REPO, imageManifest=image_manifest(ecr, REPO, label="b"), imageTag="latest"
    )
    old_digest, new_digest = old["image"]["imageId"]["imageDigest"], new["image"]["imageId"]["imageDigest"]
    rows = ecr_client.list_images(repositoryName=REPO)["imageIds"]
    assert {"imageDigest": new_digest, "imageTag": "latest"} in rows
    assert {"imageDigest": old_digest} in rows
    untagged = ecr_client.describe_images(repositoryName=REPO, filter={"tagStatus": "UNTAGGED"})[
        "imageDetails"
    ]
    assert [d["imageDigest"] for d in untagged] == [old_digest]
    assert "imageTags" not in untagged[0]


def test_adding_a_tag_keeps_pushed_at(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO)
    with freeze_time("2026-03-01T12:00:00Z") as frozen:
        ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
        first = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]["imagePushedAt"]
        frozen.tick(3600)
        ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v2")
        detail = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imagePushedAt"] == first
    assert first.timestamp() == 1772366400.0
    assert sorted(detail["imageTags"]) == ["v1", "v2"]


def test_same_digest_and_tag_is_image_already_exists(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO)
    digest = ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")["image"]["imageId"][
        "imageDigest"
    ]
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    assert error(exc) == (
        "ImageAlreadyExistsException",
        f"Image with digest '{digest}' and tag 'v1' already exists in the repository with name '{REPO}' "
        f"in registry with id '{ACCOUNT}'",
    )
    with pytest.raises(ecr_client.exceptions.ImageAlreadyExistsException):
        ecr_client.put_image(repositoryName=REPO, imageManifest=text)


def test_immutable_tag_cannot_move(ecr, ecr_client):
    ecr_client.create_repository(repositoryName=REPO, imageTagMutability="IMMUTABLE")
    text = image_manifest(ecr, REPO, label="a")
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(
            repositoryName=REPO, imageManifest=image_manifest(ecr, REPO, label="b"), imageTag="v1"
        )
    assert error(exc) == (
        "ImageTagAlreadyExistsException",
        f"The image tag 'v1' already exists in the '{REPO}' repository and cannot be overwritten because "
        "the repository is immutable.",
    )
    # Immutability only stops moves: a new tag on the same image, and the same pair, behave as usual.
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1-alias")
    with pytest.raises(ecr_client.exceptions.ImageAlreadyExistsException):
        ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    assert len(ecr_client.describe_images(repositoryName=REPO)["imageDetails"]) == 1


@pytest.mark.parametrize(
    ("mode", "filters", "tag", "movable"),
    [
        ("IMMUTABLE_WITH_EXCLUSION", ["latest"], "latest", True),
        ("IMMUTABLE_WITH_EXCLUSION", ["latest"], "v1", False),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*"], "dev-123", True),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*"], "xdev-123", False),
        ("IMMUTABLE_WITH_EXCLUSION", ["v1"], "v10", False),  # anchored: v1 does not match v10
        ("IMMUTABLE_WITH_EXCLUSION", ["v1.0"], "v1x0", False),  # '.' is literal
        ("IMMUTABLE_WITH_EXCLUSION", ["*-rc*"], "2.0-rc1", True),
        ("MUTABLE_WITH_EXCLUSION", ["release-*"], "release-1", False),
        ("MUTABLE_WITH_EXCLUSION", ["release-*"], "latest", True),
    ],
)
def test_mutability_exclusions(ecr, ecr_client, mode, filters, tag, movable):
    ecr_client.create_repository(
        repositoryName=REPO,
        imageTagMutability=mode,
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": f} for f in filters],
    )
    ecr_client.put_image(
        repositoryName=REPO, imageManifest=image_manifest(ecr, REPO, label="a"), imageTag=tag
    )
    second = image_manifest(ecr, REPO, label="b")
    if movable:
        ecr_client.put_image(repositoryName=REPO, imageManifest=second, imageTag=tag)
        assert (
            len(ecr_client.list_images(repositoryName=REPO, filter={"tagStatus": "UNTAGGED"})["imageIds"])
            == 1
        )
    else:
        with pytest.raises(ecr_client.exceptions.ImageTagAlreadyExistsException):
            ecr_client.put_image(repositoryName=REPO, imageManifest=second, imageTag=tag)


def test_mutability_change_applies_to_later_pushes(ecr, ecr_client, ecr_repo):
    ecr_client.put_image(
        repositoryName=REPO, imageManifest=image_manifest(ecr, REPO, label="a"), imageTag="v1"
    )
    ecr_client.put_image_tag_mutability(repositoryName=REPO, imageTagMutability="IMMUTABLE")
    with pytest.raises(ecr_client.exceptions.ImageTagAlreadyExistsException):
        ecr_client.put_image(
            repositoryName=REPO, imageManifest=image_manifest(ecr, REPO, label="b"), imageTag="v1"
        )


@pytest.mark.parametrize("tag", ["bad tag", "a/b", "ü"])
def test_invalid_tag(ecr, ecr_client, ecr_repo, tag):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=image_manifest(ecr, REPO), imageTag=tag)
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression '[a-zA-Z0-9-_.]+''",
    )


def test_tag_longer_than_300(ecr, ecr_client, ecr_repo):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=image_manifest(ecr, REPO), imageTag="a" * 301)
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must have length less than or equal to 300'",
    )


def test_missing_repository(ecr, ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName="nope", imageManifest="{}")
    assert error(exc) == (
        "RepositoryNotFoundException",
        f"The repository with name 'nope' does not exist in the registry with id '{ACCOUNT}'",
    )


def _children(ecr: FakeECR, client, n: int = 2) -> list[tuple[str, int]]:
    out = []
    for i in range(n):
        text = image_manifest(ecr, REPO, label=f"child{i}", layer_sizes=(100 * (i + 1),))
        digest = client.put_image(repositoryName=REPO, imageManifest=text)["image"]["imageId"]["imageDigest"]
        out.append((digest, len(text)))
    return out


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST])
def test_manifest_list_needs_its_children(ecr, ecr_client, ecr_repo, media_type):
    children = _children(ecr, ecr_client)
    missing = "sha256:" + "c" * 64
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(
            repositoryName=REPO, imageManifest=index_manifest([*children, (missing, 10)], media_type)
        )
    assert error(exc) == (
        "ReferencedImagesNotFoundException",
        f"Images with digests [{missing}] required for pushing image into repository with name '{REPO}' "
        f"in the registry with id '{ACCOUNT}' do not exist",
    )
    image = ecr_client.put_image(
        repositoryName=REPO, imageManifest=index_manifest(children, media_type), imageTag="multi"
    )
    assert image["image"]["imageManifestMediaType"] == media_type
    detail = ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "multi"}])[
        "imageDetails"
    ][0]
    sizes = [
        d["imageSizeInBytes"]
        for d in ecr_client.describe_images(
            repositoryName=REPO, imageIds=[{"imageDigest": d} for d, _ in children]
        )["imageDetails"]
    ]
    assert detail["imageSizeInBytes"] == max(sizes)
    assert "artifactMediaType" not in detail


def test_children_of_a_list_cannot_be_deleted_by_digest(ecr, ecr_client, ecr_repo):
    children = _children(ecr, ecr_client)
    index = ecr_client.put_image(
        repositoryName=REPO, imageManifest=index_manifest(children), imageTag="multi"
    )
    index_digest = index["image"]["imageId"]["imageDigest"]
    result = ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": children[0][0]}])
    assert result["imageIds"] == []
    assert result["failures"] == [
        {
            "imageId": {"imageDigest": children[0][0]},
            "failureCode": "ImageReferencedByManifestList",
            "failureReason": f"Requested image referenced by manifest list: [{index_digest}]",
        }
    ]
    # Once the list is gone its children can go.
    ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": index_digest}])
    result = ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": children[0][0]}])
    assert result["imageIds"] == [{"imageDigest": children[0][0]}]


def test_subject_is_recorded(ecr, ecr_client, ecr_repo):
    subject = ecr_client.put_image(repositoryName=REPO, imageManifest=image_manifest(ecr, REPO, label="s"))
    subject_digest = subject["image"]["imageId"]["imageDigest"]
    sig = image_manifest(
        ecr,
        REPO,
        label="sig",
        artifactType="application/vnd.example.signature",
        subject={"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": 10},
    )
    digest = ecr_client.put_image(repositoryName=REPO, imageManifest=sig)["image"]["imageId"]["imageDigest"]
    detail = ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageDigest": digest}])[
        "imageDetails"
    ][0]
    assert detail["subjectManifestDigest"] == subject_digest
    assert detail["artifactMediaType"] == "application/vnd.example.signature"


@pytest.mark.parametrize("tag", [":", "v1 beta", "caf\u00e9"])
def test_push_helper_refuses_a_tag_put_image_refuses(ecr, ecr_repo, tag):
    """The helpers follow PutImage's rules: a tag outside ECR's pattern ``[a-zA-Z0-9-_.]+``
    (spec §1.4; observed in alexjurkiewicz/ecr-scan-image#40) is refused, not stored unreachable
    (BatchGetImage and BatchDeleteImage refuse such a tag, so nothing could ever address it)."""
    with pytest.raises(FakeError) as refused:
        ecr.push_image(REPO, [tag])
    assert refused.value.code == "InvalidParameterException"
    assert "Invalid parameter at 'imageTag' failed to satisfy constraint" in str(refused.value)
    assert ecr.repository(REPO).images == {}


def test_a_repository_holds_at_most_100000_images(ecr, ecr_client, ecr_repo):
    """ "Images per repository: 100,000" (AWS, Amazon ECR service quotas,
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html); the refusal's
    wording as a docker push printed it in theopensystemslab/planx-new#4074 (PutImage answering it
    as LimitExceededException is inferred). The 100,000th
    image is stored, the 100,001st refused, and tagging an image already there is not a new image.
    Found by tools/mutants.py (`MAX_IMAGES` plus one passed the suite)."""
    ecr.push_images(REPO, 99_999)
    compact = image_manifest(ecr, REPO, indent=None)
    ecr_client.put_image(repositoryName=REPO, imageManifest=compact, imageTag="last")  # 100,000th
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(json.loads(compact), indent=3))
    assert error(exc) == (
        "LimitExceededException",
        f"The repository with name '{REPO}' in registry with id '{ecr.account_id}' already has the "
        "maximum allowed number of images which is '100000'",
    )
    ecr_client.put_image(repositoryName=REPO, imageManifest=compact, imageTag="again")
    assert len(ecr.repository(REPO).images) == 100_000

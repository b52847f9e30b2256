"""Image storage classes through a real boto3 client: archive, restore, re-push (spec §3.11)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from helpers import OCI_CONFIG, image_manifest, index_manifest, sha256

REPO = "app"
ACCOUNT = "123456789012"
JAN1 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RESTORE = timedelta(minutes=20)

pytestmark = pytest.mark.ecr_time("2026-01-01T00:00:00Z")


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def image(ecr, ecr_client):
    """One image tagged v1 in REPO; returns (digest, manifest text)."""
    ecr.create_repository(REPO)
    text = image_manifest(ecr, REPO)
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    return sha256(text), text


def update(client, target: str, **image_id: str) -> dict:
    answer = client.update_image_storage_class(
        repositoryName=REPO, imageId=image_id or {"imageTag": "v1"}, targetStorageClass=target
    )
    answer.pop("ResponseMetadata")
    return answer


def status_of(client, digest: str) -> str:
    detail = client.describe_images(repositoryName=REPO, imageIds=[{"imageDigest": digest}])["imageDetails"]
    return str(detail[0]["imageStatus"])


def listed(client, image_status: str | None = None) -> list[str]:
    filters = {"filter": {"imageStatus": image_status}} if image_status else {}
    ids = client.list_images(repositoryName=REPO, **filters)["imageIds"]
    return [i["imageDigest"] for i in ids]


def test_archiving_an_image(ecr_client, ecr_clock, image):
    digest, _ = image
    ecr_clock.advance(hours=1)
    assert update(ecr_client, "ARCHIVE") == {
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "imageId": {"imageDigest": digest, "imageTag": "v1"},
        "imageStatus": "ARCHIVED",
    }
    # Hidden from listings unless asked for; still described by id, with the time it was archived.
    assert listed(ecr_client) == []
    assert ecr_client.describe_images(repositoryName=REPO)["imageDetails"] == []
    assert listed(ecr_client, "ARCHIVED") == [digest]
    assert listed(ecr_client, "ANY") == [digest]
    detail = ecr_client.describe_images(repositoryName=REPO, filter={"imageStatus": "ARCHIVED"})[
        "imageDetails"
    ][0]
    assert detail["imageStatus"] == "ARCHIVED"
    assert detail["lastArchivedAt"] == JAN1 + timedelta(hours=1)
    assert "lastActivatedAt" not in detail
    assert detail["imageTags"] == ["v1"]


def test_an_archived_image_cannot_be_pulled(ecr_client, image):
    update(ecr_client, "ARCHIVE")
    result = ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])
    assert result["images"] == []
    assert result["failures"] == [
        {
            "imageId": {"imageTag": "v1"},
            "failureCode": "ImageInaccessible",
            "failureReason": "The image is archived and cannot be pulled",
        }
    ]


def test_restoring_takes_twenty_minutes_of_virtual_time(ecr_client, ecr_clock, image):
    digest, _ = image
    update(ecr_client, "ARCHIVE")
    ecr_clock.advance(days=1)
    restoring = update(ecr_client, "STANDARD", imageDigest=digest)
    assert restoring["imageStatus"] == "ACTIVATING"
    assert restoring["imageId"] == {"imageDigest": digest}
    assert listed(ecr_client, "ACTIVATING") == [digest]
    assert listed(ecr_client) == []
    pulled = ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])
    assert pulled["failures"][0]["failureReason"] == "The image is activating and cannot be pulled"

    ecr_clock.advance(seconds=RESTORE.total_seconds() - 1)
    assert status_of(ecr_client, digest) == "ACTIVATING"
    ecr_clock.advance(seconds=1)
    assert status_of(ecr_client, digest) == "ACTIVE"
    assert listed(ecr_client) == [digest]
    detail = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["lastActivatedAt"] == JAN1 + timedelta(days=1) + RESTORE
    assert detail["lastArchivedAt"] == JAN1
    pulled = ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])
    assert [i["imageId"]["imageDigest"] for i in pulled["images"]] == [digest]


def test_restore_time_is_the_moment_it_finished_even_if_read_later(ecr_client, ecr_clock, image):
    update(ecr_client, "ARCHIVE")
    update(ecr_client, "STANDARD")
    ecr_clock.advance(days=3)
    detail = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert (detail["imageStatus"], detail["lastActivatedAt"]) == ("ACTIVE", JAN1 + RESTORE)


def test_restore_delay_is_an_option(ecr, ecr_client, image):
    digest, _ = image
    ecr.options.restore_seconds = 0
    update(ecr_client, "ARCHIVE")
    assert update(ecr_client, "STANDARD")["imageStatus"] == "ACTIVATING"
    assert status_of(ecr_client, digest) == "ACTIVE"  # the next call, with no time passing


NOT_SUPPORTED = "ImageStorageClassUpdateNotSupportedException"


def not_supported_message(digest: str, reason: str) -> str:
    return (
        f"The storage class of the image with digest '{digest}' in the repository with name '{REPO}' in the "
        f"registry with id '{ACCOUNT}' cannot be updated: {reason}"
    )


def test_an_image_already_in_the_class(ecr_client, image):
    digest, _ = image
    with pytest.raises(ClientError) as exc:
        update(ecr_client, "STANDARD")
    assert error(exc) == (
        NOT_SUPPORTED,
        not_supported_message(digest, "it is already in the STANDARD storage class"),
    )
    update(ecr_client, "ARCHIVE")
    with pytest.raises(ClientError) as exc:
        update(ecr_client, "ARCHIVE")
    assert error(exc) == (
        NOT_SUPPORTED,
        not_supported_message(digest, "it is already in the ARCHIVE storage class"),
    )


@pytest.mark.parametrize("target", ["ARCHIVE", "STANDARD"])
def test_an_image_being_restored(ecr_client, image, target):
    digest, _ = image
    update(ecr_client, "ARCHIVE")
    update(ecr_client, "STANDARD")
    with pytest.raises(ClientError) as exc:
        update(ecr_client, target)
    assert error(exc) == (
        NOT_SUPPORTED,
        not_supported_message(digest, "it is being restored from the archive"),
    )


def push_index(ecr, client, labels: tuple[str, ...], tag: str) -> tuple[str, list[str]]:
    children = []
    for label in labels:
        text = image_manifest(ecr, REPO, label=label)
        if sha256(text) not in ecr.repository(REPO).images:  # children may be shared
            client.put_image(repositoryName=REPO, imageManifest=text)
        children.append((sha256(text), len(text)))
    index = index_manifest(children)
    client.put_image(repositoryName=REPO, imageManifest=index, imageTag=tag)
    return sha256(index), [d for d, _ in children]


def test_a_manifest_list_child_cannot_move_on_its_own(ecr, ecr_client):
    ecr.create_repository(REPO)
    index, (child, _) = push_index(ecr, ecr_client, ("amd64", "arm64"), "multi")
    with pytest.raises(ClientError) as exc:
        update(ecr_client, "ARCHIVE", imageDigest=child)
    assert error(exc) == (
        NOT_SUPPORTED,
        not_supported_message(
            child, f"it is referenced by the manifest list(s) [{index}] and moves with them"
        ),
    )


def test_a_manifest_list_moves_with_its_children(ecr, ecr_client, ecr_clock):
    ecr.create_repository(REPO)
    index, (amd64, arm64) = push_index(ecr, ecr_client, ("amd64", "arm64"), "multi")
    # arm64 is also in an index that stays active: it must stay pullable.
    other, _ = push_index(ecr, ecr_client, ("arm64",), "arm-only")
    update(ecr_client, "ARCHIVE", imageTag="multi")
    assert {d: status_of(ecr_client, d) for d in (index, amd64, arm64, other)} == {
        index: "ARCHIVED",
        amd64: "ARCHIVED",
        arm64: "ACTIVE",
        other: "ACTIVE",
    }
    assert update(ecr_client, "STANDARD", imageTag="multi")["imageStatus"] == "ACTIVATING"
    assert status_of(ecr_client, amd64) == "ACTIVATING"
    ecr_clock.advance(minutes=20)
    assert {status_of(ecr_client, d) for d in (index, amd64, arm64)} == {"ACTIVE"}


def test_storage_class_of_a_missing_image(ecr_client, image):
    missing = "sha256:" + "0" * 64
    with pytest.raises(ClientError) as exc:
        update(ecr_client, "ARCHIVE", imageDigest=missing)
    assert error(exc) == (
        "ImageNotFoundException",
        # the missing half is quoted 'null' (hashicorp/terraform-provider-aws#35268)
        f"The image with imageId {{imageDigest:'{missing}', imageTag:'null'}} does not exist within the "
        f"repository with name '{REPO}' in the registry with id '{ACCOUNT}'",
    )
    digest, _ = image
    with pytest.raises(ClientError) as exc:
        update(ecr_client, "ARCHIVE", imageDigest=digest, imageTag="other")
    assert error(exc)[0] == "ImageNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecr_client.update_image_storage_class(
            repositoryName="nope", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
        )
    assert error(exc)[0] == "RepositoryNotFoundException"


def test_storage_class_enum_is_checked(raw_client, image):
    with pytest.raises(ClientError) as exc:
        raw_client.update_image_storage_class(
            repositoryName=REPO, imageId={"imageTag": "v1"}, targetStorageClass="GLACIER"
        )
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'targetStorageClass' failed to satisfy constraint: "
        "'Member must satisfy enum value set: [STANDARD, ARCHIVE]'",
    )


# -- re-pushing restores --------------------------------------------------------------------------


@pytest.mark.parametrize("tag", [None, "v1", "v2"], ids=["no-tag", "same-tag", "new-tag"])
def test_pushing_an_archived_image_again_restores_it_at_once(ecr, ecr_client, ecr_clock, image, tag):
    digest, text = image
    ecr_client.put_image_tag_mutability(repositoryName=REPO, imageTagMutability="IMMUTABLE")
    update(ecr_client, "ARCHIVE")
    ecr_clock.advance(hours=2)
    put = ecr_client.put_image(repositoryName=REPO, imageManifest=text, **({"imageTag": tag} if tag else {}))
    assert put["image"]["imageId"]["imageDigest"] == digest
    detail = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imageStatus"] == "ACTIVE"
    assert detail["lastActivatedAt"] == JAN1 + timedelta(hours=2)
    assert detail["imagePushedAt"] == JAN1  # the same image, not a new one
    assert sorted(detail["imageTags"]) == sorted({"v1", tag or "v1"})
    assert ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])["failures"] == []


def test_pushing_an_archived_index_again_restores_its_children_at_once(ecr, ecr_client, ecr_clock):
    """Pushing an archived image again restores it (user guide, "Archiving an image": restored
    "by re-pushing the image"); a manifest list's children move with it (spec §3.11), so they are
    ACTIVE and pullable again at the same moment, not left ARCHIVED under an ACTIVE index."""
    ecr.create_repository(REPO)
    index, children = push_index(ecr, ecr_client, ("amd64", "arm64"), "multi")
    (pulled,) = ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageDigest": index}])["images"]
    update(ecr_client, "ARCHIVE", imageTag="multi")
    assert {status_of(ecr_client, d) for d in (index, *children)} == {"ARCHIVED"}
    ecr_clock.advance(hours=3)
    ecr_client.put_image(repositoryName=REPO, imageManifest=pulled["imageManifest"])
    details = ecr_client.describe_images(
        repositoryName=REPO, imageIds=[{"imageDigest": d} for d in (index, *children)]
    )["imageDetails"]
    assert {d["imageDigest"]: (d["imageStatus"], d["lastActivatedAt"]) for d in details} == {
        d: ("ACTIVE", JAN1 + timedelta(hours=3)) for d in (index, *children)
    }
    again = ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageDigest": d} for d in children])
    assert again["failures"] == []
    assert sorted(i["imageId"]["imageDigest"] for i in again["images"]) == sorted(children)


def test_pushing_a_restoring_image_again_finishes_the_restore(ecr_client, ecr_clock, image):
    _, text = image
    update(ecr_client, "ARCHIVE")
    update(ecr_client, "STANDARD")
    ecr_clock.advance(minutes=5)
    ecr_client.put_image(repositoryName=REPO, imageManifest=text)
    ecr_clock.advance(hours=1)  # the restore's own deadline passes and changes nothing
    detail = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert (detail["imageStatus"], detail["lastActivatedAt"]) == ("ACTIVE", JAN1 + timedelta(minutes=5))


def test_pushing_an_active_image_again_is_still_an_error(ecr_client, image):
    _, text = image
    with pytest.raises(ClientError) as exc:
        ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    assert error(exc)[0] == "ImageAlreadyExistsException"


def test_deleting_an_image_while_it_is_restored(ecr_client, ecr_clock, image):
    digest, _ = image
    update(ecr_client, "ARCHIVE")
    update(ecr_client, "STANDARD")
    deleted = ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": digest}])
    assert deleted["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    ecr_clock.advance(hours=1)
    assert listed(ecr_client, "ANY") == []


def test_a_restored_image_is_scanned_again(ecr_client, ecr_clock, image):
    ecr_client.put_image_scanning_configuration(
        repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True}
    )
    digest, _ = image
    # v1 was pushed before scan on push was turned on: it has no scan until it is restored.
    update(ecr_client, "ARCHIVE")
    update(ecr_client, "STANDARD")
    ecr_clock.advance(minutes=20)
    findings = ecr_client.describe_image_scan_findings(repositoryName=REPO, imageId={"imageDigest": digest})
    assert findings["imageScanStatus"]["status"] == "IN_PROGRESS"


# -- layers of archived images --------------------------------------------------------------------


def test_layers_only_archived_images_use_are_archived(ecr, ecr_client, image):
    _, text = image
    doc = json.loads(text)
    config, layer = doc["config"]["digest"], doc["layers"][0]["digest"]
    update(ecr_client, "ARCHIVE")
    check = ecr_client.batch_check_layer_availability(repositoryName=REPO, layerDigests=[config, layer])
    assert [(x["layerAvailability"], x.get("mediaType")) for x in check["layers"]] == [
        ("ARCHIVED", OCI_CONFIG),
        ("ARCHIVED", "application/vnd.oci.image.layer.v1.tar+gzip"),
    ]
    with pytest.raises(ClientError) as exc:
        ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=layer)
    assert error(exc) == (
        "LayerInaccessibleException",
        "The specified layer is not available because the images it is associated with are archived.",
    )
    # An active image sharing the layer makes it available again.
    shared = dict(doc, annotations={"another": "image"})
    ecr_client.put_image(repositoryName=REPO, imageManifest=json.dumps(shared), imageTag="v2")
    check = ecr_client.batch_check_layer_availability(repositoryName=REPO, layerDigests=[layer])
    assert check["layers"][0]["layerAvailability"] == "AVAILABLE"
    ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=layer)

"""Layer upload and download through a real boto3 client (spec §4)."""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import tarfile
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from helpers import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, add_blob, image_manifest, sha256

from pytest_ecr import FakeECR
from pytest_ecr.service import layers

REPO = "test-repo"
ACCOUNT = "123456789012"
MIB = 1024 * 1024
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
UPLOAD_NOT_FOUND = (
    "UploadNotFoundException",
    "The upload could not be found, or the specified upload ID is not valid for this repository",
)


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def initiate(client: Any, repository: str = REPO) -> str:
    return str(client.initiate_layer_upload(repositoryName=repository)["uploadId"])


def upload_parts(client: Any, upload_id: str, parts: list[bytes], repository: str = REPO) -> None:
    first = 0
    for part in parts:
        answer = client.upload_layer_part(
            repositoryName=repository,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=first + len(part) - 1,
            layerPartBlob=part,
        )
        assert answer["lastByteReceived"] == first + len(part) - 1
        first += len(part)


def push_blob(client: Any, content: bytes, repository: str = REPO) -> str:
    upload_id = initiate(client, repository)
    upload_parts(client, upload_id, [content], repository)
    return str(
        client.complete_layer_upload(
            repositoryName=repository, uploadId=upload_id, layerDigests=[sha256(content)]
        )["layerDigest"]
    )


# -- InitiateLayerUpload --------------------------------------------------------------------------


def test_initiate_gives_a_fresh_uuid4_and_the_real_part_size(ecr_client, ecr_repo):
    first = ecr_client.initiate_layer_upload(repositoryName=REPO)
    second = ecr_client.initiate_layer_upload(repositoryName=REPO)
    assert UUID_RE.fullmatch(first["uploadId"])
    assert first["uploadId"] != second["uploadId"]
    assert first["partSize"] == 10485760


def test_initiate_in_a_missing_repository(ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.initiate_layer_upload(repositoryName="nope")
    assert error(exc) == (
        "RepositoryNotFoundException",
        f"The repository with name 'nope' does not exist in the registry with id '{ACCOUNT}'",
    )


# -- UploadLayerPart and CompleteLayerUpload ------------------------------------------------------


def test_parts_of_5mib_5mib_and_1_byte_make_one_layer(ecr, ecr_client, ecr_repo):
    parts = [data(5 * MIB, 1), data(5 * MIB, 2), b"x"]
    content = b"".join(parts)
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, parts)
    done = ecr_client.complete_layer_upload(
        repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(content)]
    )
    assert {k: v for k, v in done.items() if k != "ResponseMetadata"} == {
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "uploadId": upload_id,
        "layerDigest": sha256(content),
    }
    blob = ecr.repository(REPO).blobs[sha256(content)]
    assert (blob.size, blob.content) == (len(content), content)
    assert ecr.repository(REPO).uploads == {}


def test_a_part_under_5mib_that_is_not_the_last_fails_at_completion(ecr_client, ecr_repo):
    parts = [data(4 * MIB), data(1 * MIB)]
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, parts)  # every part is accepted on upload
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(
            repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"".join(parts))]
        )
    assert error(exc) == (
        "LayerPartTooSmallException",
        "All layer parts except the last part should be at least 5MB",
    )


def test_a_single_small_part_is_a_whole_layer(ecr, ecr_client, ecr_repo):
    digest = push_blob(ecr_client, b"tiny")
    assert digest == sha256(b"tiny")
    assert ecr.repository(REPO).blobs[digest].content == b"tiny"


@pytest.mark.parametrize(
    ("first", "last", "blob", "message"),
    [
        (
            11,
            20,
            b"0123456789",
            "The layer part starting at byte 11 is not consecutive to the last byte received (9); "
            "the next part must start at byte 10",
        ),
        (
            5,
            14,
            b"0123456789",
            "The layer part starting at byte 5 is not consecutive to the last byte received (9); "
            "the next part must start at byte 10",
        ),
        (
            0,
            9,
            b"0123456789",
            "The layer part starting at byte 0 is not consecutive to the last byte received (9); "
            "the next part must start at byte 10",
        ),
        (
            10,
            19,
            b"012345678",
            "The layer part size is not valid: partLastByte - partFirstByte + 1 is 10, but the layer part has 9 bytes",
        ),
        (
            10,
            10,
            b"",
            "The layer part size is not valid: partLastByte - partFirstByte + 1 is 1, but the layer part has 0 bytes",
        ),
        (10, 9, b"", "The layer part is not valid: partLastByte 9 is before partFirstByte 10"),
    ],
    ids=["gap", "overlap", "resend", "size-mismatch", "empty", "backwards"],
)
def test_invalid_parts_after_the_first(ecr_client, ecr_repo, first, last, blob, message):
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, [b"0123456789"])
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(
            repositoryName=REPO,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=last,
            layerPartBlob=blob,
        )
    assert error(exc) == ("InvalidLayerPartException", message)
    members = {
        k: exc.value.response[k]
        for k in ("registryId", "repositoryName", "uploadId", "lastValidByteReceived")
    }
    assert members == {
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "uploadId": upload_id,
        "lastValidByteReceived": 9,
    }
    # The rejected part changed nothing: the next valid part continues the upload.
    upload_parts_from = ecr_client.upload_layer_part(
        repositoryName=REPO, uploadId=upload_id, partFirstByte=10, partLastByte=10, layerPartBlob=b"!"
    )
    assert upload_parts_from["lastByteReceived"] == 10


def test_the_first_part_must_start_at_byte_0(ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(
            repositoryName=REPO, uploadId=upload_id, partFirstByte=1, partLastByte=3, layerPartBlob=b"abc"
        )
    assert error(exc) == (
        "InvalidLayerPartException",
        "The first layer part must start at byte 0, not at byte 1",
    )
    assert exc.value.response["lastValidByteReceived"] == -1


def test_unknown_upload_id(ecr_client, ecr_repo):
    unknown = str(uuid.uuid4())
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(
            repositoryName=REPO, uploadId=unknown, partFirstByte=0, partLastByte=0, layerPartBlob=b"x"
        )
    assert error(exc) == UPLOAD_NOT_FOUND
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(repositoryName=REPO, uploadId=unknown, layerDigests=[sha256(b"x")])
    assert error(exc) == UPLOAD_NOT_FOUND


def test_an_upload_belongs_to_its_repository(ecr_client, ecr_repo):
    ecr_client.create_repository(repositoryName="other")
    upload_id = initiate(ecr_client, "other")
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(
            repositoryName=REPO, uploadId=upload_id, partFirstByte=0, partLastByte=0, layerPartBlob=b"x"
        )
    assert error(exc) == UPLOAD_NOT_FOUND
    upload_parts(ecr_client, upload_id, [b"x"], "other")  # still fine where it was initiated


def test_a_completed_upload_is_closed(ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, [b"abc"])
    ecr_client.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"abc")])
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(
            repositoryName=REPO, uploadId=upload_id, partFirstByte=3, partLastByte=3, layerPartBlob=b"d"
        )
    assert error(exc) == UPLOAD_NOT_FOUND
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(
            repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"abc")]
        )
    assert error(exc) == UPLOAD_NOT_FOUND


def test_deleting_the_repository_ends_its_uploads(ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, [b"abc"])
    ecr_client.delete_repository(repositoryName=REPO)
    part = {"uploadId": upload_id, "partFirstByte": 3, "partLastByte": 3, "layerPartBlob": b"d"}
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(repositoryName=REPO, **part)
    assert error(exc)[0] == "RepositoryNotFoundException"
    ecr_client.create_repository(repositoryName=REPO)
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(repositoryName=REPO, **part)
    assert error(exc) == UPLOAD_NOT_FOUND


def test_at_most_4200_parts(ecr, ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    # 4,199 parts through the API would take seconds; the session state is what counts them.
    session = ecr.repository(REPO).uploads[upload_id]
    session.parts, session.size = [b"p"] * 4199, 4199
    upload_parts_4200 = ecr_client.upload_layer_part(
        repositoryName=REPO, uploadId=upload_id, partFirstByte=4199, partLastByte=4199, layerPartBlob=b"p"
    )
    assert upload_parts_4200["lastByteReceived"] == 4199
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(
            repositoryName=REPO, uploadId=upload_id, partFirstByte=4200, partLastByte=4200, layerPartBlob=b"p"
        )
    assert error(exc) == (
        "LimitExceededException",
        f"The upload with id '{upload_id}' already has the maximum allowed number of layer parts which is '4200'",
    )


def test_at_most_52000_mib_per_layer(ecr, ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    limit = 52_000 * MIB
    session = ecr.repository(REPO).uploads[upload_id]
    session.parts, session.size = [b""], limit - 2  # as if 52,000 MiB less two bytes had arrived
    ecr_client.upload_layer_part(
        repositoryName=REPO,
        uploadId=upload_id,
        partFirstByte=limit - 2,
        partLastByte=limit - 1,
        layerPartBlob=b"ab",
    )
    with pytest.raises(ClientError) as exc:
        ecr_client.upload_layer_part(
            repositoryName=REPO,
            uploadId=upload_id,
            partFirstByte=limit,
            partLastByte=limit,
            layerPartBlob=b"c",
        )
    assert error(exc) == (
        "LimitExceededException",
        f"The layer of the upload with id '{upload_id}' would exceed the maximum allowed layer size which is "
        "'52000 MiB'",
    )


def test_completing_an_upload_without_parts(ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"")])
    assert error(exc) == (
        "EmptyUploadException",
        "The specified layer upload does not contain any layer parts",
    )
    assert push_blob(ecr_client, b"later") == sha256(b"later")  # other uploads are unaffected
    upload_parts(ecr_client, upload_id, [b"abc"])  # and this one stays open


INVALID_LAYER = (
    "InvalidLayerException",
    "The layer digest calculation performed by Amazon ECR upon receipt of the image layer does not match "
    "the digest specified",
)


@pytest.mark.parametrize(
    "digest",
    [sha256(b"something else"), "sha512:" + "ab" * 64, sha256(b"abc").upper().replace("SHA256", "sha256")],
    ids=["wrong-sha256", "sha512", "uppercase-hex"],
)
def test_the_digest_is_verified(ecr, ecr_client, ecr_repo, digest):
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, [b"abc"])
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[digest])
    assert error(exc) == INVALID_LAYER
    assert ecr.repository(REPO).blobs == {}
    # The upload stays open: completing it with the right digest works.
    done = ecr_client.complete_layer_upload(
        repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"abc")]
    )
    assert done["layerDigest"] == sha256(b"abc")


def test_every_digest_given_must_match(ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, [b"abc"])
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(
            repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"abc"), sha256(b"abd")]
        )
    assert error(exc) == INVALID_LAYER


def test_completion_checks_in_order(ecr_client, ecr_repo):
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, [data(MIB), b"end"])
    # Both too small a part and a wrong digest: the part size is reported first.
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"x")])
    assert error(exc)[0] == "LayerPartTooSmallException"


def test_an_existing_layer_is_reported_only_after_verification(ecr, ecr_client, ecr_repo):
    digest = push_blob(ecr_client, b"layer")
    upload_id = initiate(ecr_client)
    upload_parts(ecr_client, upload_id, [b"layer"])
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(
            repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"other")]
        )
    assert error(exc) == INVALID_LAYER
    with pytest.raises(ClientError) as exc:
        ecr_client.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[digest])
    assert error(exc) == (
        "LayerAlreadyExistsException",
        "The image layer already exists in the associated repository",
    )
    assert ecr.repository(REPO).uploads == {}  # the upload is done with
    assert ecr.repository(REPO).blobs[digest].content == b"layer"


def test_the_same_layer_in_another_repository_is_new_there(ecr, ecr_client, ecr_repo):
    push_blob(ecr_client, b"layer")
    ecr_client.create_repository(repositoryName="other")
    assert push_blob(ecr_client, b"layer", "other") == sha256(b"layer")


# -- BatchCheckLayerAvailability ------------------------------------------------------------------


def test_layer_availability(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO)
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    config, layer = json.loads(text)["config"], json.loads(text)["layers"][0]
    uploaded = push_blob(ecr_client, b"not in any image")
    absent = sha256(b"absent")
    result = ecr_client.batch_check_layer_availability(
        repositoryName=REPO,
        layerDigests=[config["digest"], layer["digest"], uploaded, absent, "sha256:xyz", "", absent],
    )
    assert result["layers"] == [
        {
            "layerDigest": config["digest"],
            "layerAvailability": "AVAILABLE",
            "layerSize": config["size"],
            "mediaType": OCI_CONFIG,
        },
        {
            "layerDigest": layer["digest"],
            "layerAvailability": "AVAILABLE",
            "layerSize": 1000,
            "mediaType": OCI_LAYER,
        },
        {"layerDigest": uploaded, "layerAvailability": "AVAILABLE", "layerSize": 16},
        {"layerDigest": absent, "layerAvailability": "UNAVAILABLE"},
    ]
    assert result["failures"] == [
        {
            "layerDigest": "sha256:xyz",
            "failureCode": "InvalidLayerDigest",
            "failureReason": "Invalid request parameters: layer digest should satisfy the regex "
            "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
        },
        {
            "layerDigest": "",
            "failureCode": "MissingLayerDigest",
            "failureReason": "Invalid request parameters: layer digest cannot be empty",
        },
    ]


def test_an_uploaded_layer_learns_its_media_type_from_the_manifest(ecr, ecr_client, ecr_repo):
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    config_digest, layer_digest = push_blob(ecr_client, config), push_blob(ecr_client, b"layer bytes")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": 11}],
        }
    )
    ecr_client.put_image(repositoryName=REPO, imageManifest=manifest)
    layers_ = ecr_client.batch_check_layer_availability(
        repositoryName=REPO, layerDigests=[config_digest, layer_digest]
    )["layers"]
    assert [x.get("mediaType") for x in layers_] == [OCI_CONFIG, OCI_LAYER]


def test_layer_availability_in_a_missing_repository(ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.batch_check_layer_availability(repositoryName="nope", layerDigests=[sha256(b"x")])
    assert error(exc)[0] == "RepositoryNotFoundException"


# -- GetDownloadUrlForLayer -----------------------------------------------------------------------


URL_RE = re.compile(
    r"https://prod-us-east-1-starport-layer-bucket\.s3\.us-east-1\.amazonaws\.com/"
    r"[0-9a-f]{4}-123456789012-[0-9a-f-]{36}/[0-9a-f-]{36}\?"
    r"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
    r"X-Amz-Credential=ASIA[A-Z0-9]{16}%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=[0-9a-f]{64}"
)


def test_download_url_of_a_referenced_layer(ecr, ecr_client, ecr_repo):
    text = image_manifest(ecr, REPO, layer_sizes=(1000, 20))
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    first, second = (d["digest"] for d in json.loads(text)["layers"])
    answer = ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=first)
    assert answer["layerDigest"] == first
    assert URL_RE.fullmatch(answer["downloadUrl"]), answer["downloadUrl"]
    # The URL names its blob: a registry endpoint can serve it back.
    now = ecr.clock.now()
    blob = layers.resolve_download_url(ecr.store, answer["downloadUrl"], now)
    assert blob is not None
    assert blob.content == bytes([0]) * 1000
    other = ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=second)["downloadUrl"]
    resolved = layers.resolve_download_url(ecr.store, other, now)
    assert resolved is not None
    assert resolved.content == bytes([1]) * 20


@pytest.mark.ecr_time("2026-01-01T00:00:00Z")  # a whole second: X-Amz-Date has no fraction
def test_a_download_url_cannot_be_altered_and_expires_after_an_hour(ecr, ecr_client, ecr_clock):
    ecr.create_repository(REPO)
    text = image_manifest(ecr, REPO)
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    url = ecr_client.get_download_url_for_layer(
        repositoryName=REPO, layerDigest=json.loads(text)["layers"][0]["digest"]
    )["downloadUrl"]
    tampered = url.replace("X-Amz-Expires=3600", "X-Amz-Expires=9999")
    assert layers.resolve_download_url(ecr.store, tampered, ecr.clock.now()) is None
    ecr_clock.advance(seconds=3600)
    assert layers.resolve_download_url(ecr.store, url, ecr.clock.now()) is not None
    ecr_clock.advance(seconds=1)
    assert layers.resolve_download_url(ecr.store, url, ecr.clock.now()) is None


def test_download_url_of_an_absent_layer(ecr_client, ecr_repo):
    digest = sha256(b"absent")
    with pytest.raises(ClientError) as exc:
        ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=digest)
    assert error(exc) == (
        "LayersNotFoundException",
        f"The layer with digest {digest} does not exist within the repository with name '{REPO}' "
        f"in the registry with id '{ACCOUNT}'",
    )


LAYER_INACCESSIBLE = (
    "LayerInaccessibleException",
    "The specified layer is not available because it is not associated with an image. "
    "Unassociated image layers may be cleaned up at any time.",
)


def test_download_url_of_an_unreferenced_layer(ecr, ecr_client, ecr_repo):
    digest = push_blob(ecr_client, b"uploaded, never used")
    with pytest.raises(ClientError) as exc:
        ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=digest)
    assert error(exc) == LAYER_INACCESSIBLE
    # A layer whose last image was deleted is unreferenced again.
    text = image_manifest(ecr, REPO)
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    layer = json.loads(text)["layers"][0]["digest"]
    ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=layer)
    ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])
    with pytest.raises(ClientError) as exc:
        ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest=layer)
    assert error(exc) == LAYER_INACCESSIBLE


def test_download_url_with_a_malformed_digest(ecr_client, ecr_repo):
    with pytest.raises(ClientError) as exc:
        ecr_client.get_download_url_for_layer(repositoryName=REPO, layerDigest="sha256:xyz")
    assert error(exc) == (
        "InvalidParameterException",
        "Invalid parameter at 'layerDigest' failed to satisfy constraint: "
        "'must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+''",
    )


# -- a push as AWS's containerd resolver makes it -------------------------------------------------


def oci_image(layer_payload: bytes) -> tuple[bytes, bytes, str]:
    """(config, gzip'd tar layer, manifest) of a one-layer OCI image."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        info = tarfile.TarInfo("app/payload.bin")
        info.size, info.mtime = len(layer_payload), 1_700_000_000
        tar.addfile(info, io.BytesIO(layer_payload))
    layer = gzip.compress(tar_bytes.getvalue(), compresslevel=1, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": ["/app/payload.bin"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(tar_bytes.getvalue())]},
        },
        separators=(",", ":"),
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
        },
        indent=2,
    )
    return config, layer, manifest


def resolver_push_blob(client: Any, content: bytes) -> bool:
    """``ecrPusher.pushBlob`` and ``layerWriter``: check, then upload in partSize chunks. Returns
    whether the blob was uploaded."""
    digest = sha256(content)
    check = client.batch_check_layer_availability(repositoryName=REPO, layerDigests=[digest])
    if not check["layers"]:
        raise AssertionError(f"the resolver fails the push on {check['failures']}")
    if check["layers"][0]["layerAvailability"] == "AVAILABLE":
        return False
    started = client.initiate_layer_upload(repositoryName=REPO)
    upload_id, part_size = started["uploadId"], started["partSize"]
    for begin in range(0, len(content), part_size):
        chunk = content[begin : begin + part_size]
        client.upload_layer_part(
            repositoryName=REPO,
            uploadId=upload_id,
            partFirstByte=begin,
            partLastByte=begin + len(chunk) - 1,
            layerPartBlob=chunk,
        )
    try:
        done = client.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[digest])
    except client.exceptions.LayerAlreadyExistsException:
        return True  # verified by ECR, as sha256: the resolver takes it as success
    assert done["layerDigest"] == digest
    return True


def resolver_push_manifest(client: Any, manifest: str, tag: str) -> bool:
    """``ecrPusher.pushManifest`` and ``manifestWriter.Commit``."""
    digest = sha256(manifest)
    found = client.batch_get_image(
        repositoryName=REPO,
        imageIds=[{"imageTag": tag}],
        acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v2+json", OCI_MANIFEST],
    )
    if found["images"] and found["images"][0]["imageId"]["imageDigest"] == digest:
        return False
    put = client.put_image(
        repositoryName=REPO,
        imageManifest=manifest,
        imageManifestMediaType=OCI_MANIFEST,
        imageDigest=digest,
        imageTag=tag,
    )
    assert put["image"]["imageId"]["imageDigest"] == digest
    return True


def test_end_to_end_push_like_the_containerd_resolver(ecr: FakeECR, ecr_client, ecr_repo):
    config, layer, manifest = oci_image(data(12 * MIB, 7))  # random bytes: gzip keeps it > 10 MiB
    assert len(layer) > 10 * MIB
    assert [resolver_push_blob(ecr_client, blob) for blob in (config, layer)] == [True, True]
    assert resolver_push_manifest(ecr_client, manifest, "v1")
    # The layer went up as a 10 MiB part and the rest.
    # (the call log keeps each part's size, not its bytes)
    parts = [c.params["layerPartBlob"] for c in ecr.calls.filter("UploadLayerPart")]
    assert [p.size for p in parts] == [len(config), 10 * MIB, len(layer) - 10 * MIB]

    pulled = ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])["images"][0]
    assert pulled["imageManifest"] == manifest
    assert pulled["imageId"]["imageDigest"] == sha256(manifest)
    stored = ecr.repository(REPO).blobs
    assert stored[sha256(config)].content == config
    assert stored[sha256(layer)].content == layer
    detail = ecr_client.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imageSizeInBytes"] == len(config) + len(layer)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(stored[sha256(layer)].content or b""))) as tar:
        assert tar.getnames() == ["app/payload.bin"]

    # Pushing again uploads nothing: both blobs are AVAILABLE and the tag already names the manifest.
    calls_before = len(ecr.calls)
    assert [resolver_push_blob(ecr_client, blob) for blob in (config, layer)] == [False, False]
    assert not resolver_push_manifest(ecr_client, manifest, "v1")
    assert [c.operation for c in ecr.calls][calls_before:] == [
        "BatchCheckLayerAvailability",
        "BatchCheckLayerAvailability",
        "BatchGetImage",
    ]


def test_a_manifest_can_use_helper_blobs_and_uploaded_blobs_together(ecr, ecr_client, ecr_repo):
    config = add_blob(ecr, REPO, b'{"os":"linux"}', OCI_CONFIG)
    layer = push_blob(ecr_client, b"uploaded layer")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config,
            "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": 14}],
        }
    )
    image = ecr_client.put_image(repositoryName=REPO, imageManifest=manifest)["image"]
    assert image["imageId"]["imageDigest"] == sha256(manifest)

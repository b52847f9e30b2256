"""The same boto3 code under moto's ``mock_aws`` and under pytest-ecr, where they answer differently.

Each scenario is plain boto3 code that works against real ECR. It runs once under moto and once
under pytest-ecr, and the test pins what each answered (docs/comparison.rst quotes these tests).
If a moto release changes an answer, the test says so and the documentation needs updating.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pytest_ecr import mock_ecr

moto = pytest.importorskip("moto")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(params=["moto", "pytest-ecr"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test under moto's mock_aws, then under pytest-ecr."""
    if request.param == "moto":
        with moto.mock_aws():
            yield "moto"
    else:
        with mock_ecr() as fake:
            yield "pytest-ecr"
        assert not fake.problems()


def upload_blob(client: Any, repository: str, data: bytes) -> dict[str, Any]:
    """Upload a blob with the layer upload API (what ``docker push`` does); its descriptor."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    upload = client.initiate_layer_upload(repositoryName=repository)["uploadId"]
    client.upload_layer_part(
        repositoryName=repository,
        uploadId=upload,
        partFirstByte=0,
        partLastByte=len(data) - 1,
        layerPartBlob=data,
    )
    with contextlib.suppress(client.exceptions.LayerAlreadyExistsException):  # already there: fine
        client.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
    return {"digest": digest, "size": len(data)}


def push(client: Any, repository: str, config: bytes, layer: bytes, tag: str) -> tuple[str, str]:
    """Push an OCI image (blobs, then manifest); (digest ECR answered, sha256 of the manifest)."""
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                **upload_blob(client, repository, config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    **upload_blob(client, repository, layer),
                }
            ],
        }
    )
    answer = client.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)
    return answer["image"]["imageId"]["imageDigest"], "sha256:" + hashlib.sha256(
        manifest.encode()
    ).hexdigest()


# -- the scenarios --------------------------------------------------------------------------------


def retag_scenario() -> list[dict[str, str]]:
    client = boto3.client("ecr", region_name="us-east-1")
    client.create_repository(repositoryName="web")
    push(client, "web", b'{"build": 1}', b"layer", "latest")
    push(client, "web", b'{"build": 2}', b"layer", "latest")  # "latest" moves to build 2
    return client.list_images(repositoryName="web")["imageIds"]  # type: ignore[no-any-return]


def test_retag(backend):
    rows = retag_scenario()
    if backend == "moto":
        assert len(rows) == 1  # the previous image is deleted
    else:
        assert len(rows) == 2  # as in ECR: the previous image stays, untagged
        assert [sorted(r) for r in rows] == [["imageDigest"], ["imageDigest", "imageTag"]]


def digest_scenario() -> list[tuple[str, str]]:
    client = boto3.client("ecr", region_name="us-east-1")
    client.create_repository(repositoryName="web")
    # Two images with the same layer and different configs.
    return [
        push(client, "web", b'{"build": 1}', b"layer", "one"),
        push(client, "web", b'{"build": 2}', b"layer", "two"),
    ]


def test_digest(backend):
    (one, one_sha), (two, two_sha) = digest_scenario()
    if backend == "moto":
        # moto hashes the layer digests only: different images, one digest.
        assert one == two
        assert (
            one
            == "sha256:"
            + hashlib.sha256(("sha256:" + hashlib.sha256(b"layer").hexdigest()).encode()).hexdigest()
        )
        assert one != one_sha
    else:
        assert (one, two) == (one_sha, two_sha)  # as in ECR: sha256 of the manifest bytes


def pagination_scenario() -> tuple[int, bool]:
    client = boto3.client("ecr", region_name="us-east-1")
    client.create_repository(repositoryName="many")
    for n in range(12):
        push(client, "many", f'{{"build": {n}}}'.encode(), f"layer-{n}".encode(), f"v{n}")
    page = client.list_images(repositoryName="many", maxResults=5)
    return len(page["imageIds"]), "nextToken" in page


def test_pagination(backend):
    rows, more = pagination_scenario()
    if backend == "moto":
        assert (rows, more) == (12, False)  # maxResults is ignored: everything, no nextToken
    else:
        assert (rows, more) == (5, True)


def immutability_scenario() -> str:
    client = boto3.client("ecr", region_name="us-east-1")
    client.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    push(client, "locked", b'{"build": 1}', b"layer-1", "v1")
    try:
        push(client, "locked", b'{"build": 2}', b"layer-2", "v1")
    except client.exceptions.ClientError as err:
        return str(err.response["Error"]["Code"])
    return "accepted"


def test_immutable_tag(backend):
    code = immutability_scenario()
    assert code == ("ImageAlreadyExistsException" if backend == "moto" else "ImageTagAlreadyExistsException")


def missing_layers_scenario() -> str:
    client = boto3.client("ecr", region_name="us-east-1")
    client.create_repository(repositoryName="web")
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "a" * 64,
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + "b" * 64,
                "size": 9,
            }
        ],
    }
    try:
        client.put_image(repositoryName="web", imageManifest=json.dumps(manifest), imageTag="v1")
    except client.exceptions.ClientError as err:
        return str(err.response["Error"]["Code"])
    return "accepted"


def test_put_image_without_blobs(backend):
    code = missing_layers_scenario()
    assert code == ("accepted" if backend == "moto" else "LayersNotFoundException")


def scan_scenario() -> tuple[str, list[str]]:
    client = boto3.client("ecr", region_name="us-east-1")
    client.create_repository(repositoryName="web")
    push(client, "web", b'{"build": 1}', b"layer", "v1")
    client.start_image_scan(repositoryName="web", imageId={"imageTag": "v1"})
    first = client.describe_image_scan_findings(repositoryName="web", imageId={"imageTag": "v1"})
    client.get_waiter("image_scan_complete").wait(repositoryName="web", imageId={"imageTag": "v1"})
    done = client.describe_image_scan_findings(repositoryName="web", imageId={"imageTag": "v1"})
    return first["imageScanStatus"]["status"], [f["name"] for f in done["imageScanFindings"]["findings"]]


def test_scan_findings(backend):
    status, findings = scan_scenario()
    if backend == "moto":
        assert (status, findings) == ("COMPLETE", ["CVE-9999-9999"])  # done at once, a canned HIGH finding
    else:
        assert (status, findings) == ("IN_PROGRESS", [])  # 10 s of virtual time; nothing unless seeded

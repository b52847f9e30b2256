"""Manifest format conversion on pull by tag: BatchGetImage's acceptedMediaTypes and the registry
API's Accept header.

Source of the expected behaviour: the ECR user guide, "Container image manifest format support"
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html): by tag, Docker
schema 2 converts to OCI and to schema 1, OCI converts to Docker schema 2, schema 1 converts to
nothing, OCI to schema 1 is "not available"; "when you pull an image by digest, there is no
translation available". aws/containers-roadmap#1075: BatchGetImage with an imageDigest (alone or
with its tag) and acceptedMediaTypes [schema 1] returns the stored schema 2 manifest. Schema 1's
format and signature: Docker's "Image Manifest Version 2, Schema 1" spec; the digest of a converted
schema 1 manifest is the digest of its unsigned payload, as distribution's manifest handler
(registry/handlers/manifests.go, convertSchema2Manifest) computes it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from helpers import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_V2,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    SCHEMA1,
    SCHEMA1_SIGNED,
    add_blob,
    sha256,
)

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer

REPO = "app"


@pytest.fixture
def client(ecr: FakeECR) -> Any:
    ecr.create_repository(REPO)
    return ecr.client()


def get_one(client: Any, image_id: dict[str, str], accepted: list[str]) -> dict[str, Any]:
    answer = client.batch_get_image(repositoryName=REPO, imageIds=[image_id], acceptedMediaTypes=accepted)
    assert answer["failures"] == [], answer["failures"]
    [image] = answer["images"]
    return image


def refused(client: Any, image_id: dict[str, str], accepted: list[str]) -> list[dict[str, Any]]:
    answer = client.batch_get_image(repositoryName=REPO, imageIds=[image_id], acceptedMediaTypes=accepted)
    assert answer["images"] == []
    return list(answer["failures"])


def assert_blobs_available(client: Any, descriptors: list[dict[str, Any]]) -> None:
    """Every descriptor names a blob the repository holds, with the descriptor's size."""
    layers = client.batch_check_layer_availability(
        repositoryName=REPO, layerDigests=[d["digest"] for d in descriptors]
    )["layers"]
    assert [(x["layerDigest"], x["layerAvailability"], x["layerSize"]) for x in layers] == [
        (d["digest"], "AVAILABLE", d["size"]) for d in descriptors
    ]


def docker_image(ecr: FakeECR, tag: str = "v1") -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """A Docker schema 2 image with two layers and a config whose history has an empty layer."""
    config = {
        "architecture": "arm64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Labels": {"team": "web"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64, "sha256:" + "2" * 64]},
        "history": [
            {"created": "2026-01-01T00:00:00Z", "created_by": "ADD rootfs.tar /"},
            {"created": "2026-01-02T00:00:00Z", "created_by": "ENV PATH=/bin", "empty_layer": True},
            {"created": "2026-01-03T00:00:00Z", "created_by": "COPY app /app"},
        ],
    }
    config_blob = add_blob(ecr, REPO, json.dumps(config).encode(), DOCKER_CONFIG)
    layers = [
        add_blob(ecr, REPO, b"base" * 100, DOCKER_LAYER),
        add_blob(ecr, REPO, b"app" * 50, DOCKER_LAYER),
    ]
    text = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_V2, "config": config_blob, "layers": layers})
    ecr.client().put_image(repositoryName=REPO, imageManifest=text, imageTag=tag)
    return text, config, [config_blob, *layers]


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_schema1(text: str) -> tuple[dict[str, Any], str]:
    """Check the JWS of a signed schema 1 manifest (manifest-v2-1 spec, "Signed manifests"); the
    manifest and its unsigned payload."""
    doc = json.loads(text)
    [signature] = doc["signatures"]
    protected = json.loads(b64decode(signature["protected"]))
    payload = text[: protected["formatLength"]] + b64decode(protected["formatTail"]).decode()
    assert json.loads(payload) == {k: v for k, v in doc.items() if k != "signatures"}
    assert signature["header"]["alg"] == "ES256"
    jwk = signature["header"]["jwk"]
    assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256")
    key = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64decode(jwk["x"]), "big"), int.from_bytes(b64decode(jwk["y"]), "big"), ec.SECP256R1()
    ).public_key()
    raw = b64decode(signature["signature"])
    signing_input = (
        signature["protected"] + "." + base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    )
    # raises InvalidSignature when the signature does not verify
    key.verify(
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        signing_input.encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    return doc, payload


# -- BatchGetImage by tag ----------------------------------------------------------------------


def test_oci_stored_docker_asked_is_converted(ecr: FakeECR, client: Any) -> None:
    pushed = ecr.push_image(REPO, "v1")  # OCI
    image = get_one(client, {"imageTag": "v1"}, [DOCKER_V2])
    assert image["imageManifestMediaType"] == DOCKER_V2
    doc = json.loads(image["imageManifest"])
    stored = json.loads(pushed.manifest)
    assert doc["mediaType"] == DOCKER_V2
    # image-spec media-types.md: the OCI config and gzip layer types' Docker counterparts
    assert doc["config"]["mediaType"] == DOCKER_CONFIG
    assert [layer["mediaType"] for layer in doc["layers"]] == [DOCKER_LAYER]
    same = [(d["digest"], d["size"]) for d in (stored["config"], *stored["layers"])]
    assert [(d["digest"], d["size"]) for d in (doc["config"], *doc["layers"])] == same
    assert_blobs_available(client, [doc["config"], *doc["layers"]])
    # the digest of the bytes returned, not the stored image's
    assert image["imageId"] == {"imageDigest": sha256(image["imageManifest"]), "imageTag": "v1"}
    assert image["imageId"]["imageDigest"] != pushed.digest
    # a valid Docker manifest: PutImage stores it under the digest BatchGetImage named
    put = client.put_image(
        repositoryName=REPO,
        imageManifest=image["imageManifest"],
        imageManifestMediaType=DOCKER_V2,
        imageTag="v1-docker",
    )
    assert put["image"]["imageId"]["imageDigest"] == image["imageId"]["imageDigest"]


def test_docker_stored_oci_asked_is_converted(ecr: FakeECR, client: Any) -> None:
    pushed = ecr.push_image(REPO, "v1", format="docker")
    image = get_one(client, {"imageTag": "v1"}, [OCI_MANIFEST])
    assert image["imageManifestMediaType"] == OCI_MANIFEST
    doc = json.loads(image["imageManifest"])
    stored = json.loads(pushed.manifest)
    assert (doc["schemaVersion"], doc["mediaType"], doc["config"]["mediaType"]) == (
        2,
        OCI_MANIFEST,
        OCI_CONFIG,
    )
    assert [layer["mediaType"] for layer in doc["layers"]] == [OCI_LAYER]
    same = [(d["digest"], d["size"]) for d in (stored["config"], *stored["layers"])]
    assert [(d["digest"], d["size"]) for d in (doc["config"], *doc["layers"])] == same
    assert_blobs_available(client, [doc["config"], *doc["layers"]])
    assert image["imageId"]["imageDigest"] == sha256(image["imageManifest"])
    put = client.put_image(repositoryName=REPO, imageManifest=image["imageManifest"], imageTag="v1-oci")
    assert put["image"]["imageManifestMediaType"] == OCI_MANIFEST


@pytest.mark.parametrize("asked", [SCHEMA1, SCHEMA1_SIGNED])
def test_docker_stored_schema1_asked_is_converted_and_signed(ecr: FakeECR, client: Any, asked: str) -> None:
    _, config, (_config_blob, base, app) = docker_image(ecr)
    image = get_one(client, {"imageTag": "v1"}, [asked])
    assert image["imageManifestMediaType"] == asked
    doc, payload = verify_schema1(image["imageManifest"])
    assert (doc["schemaVersion"], doc["name"], doc["tag"], doc["architecture"]) == (1, REPO, "v1", "arm64")
    # manifest-v2-1: fsLayers and history run from the top layer down
    assert doc["fsLayers"] == [{"blobSum": app["digest"]}, {"blobSum": base["digest"]}]
    assert_blobs_available(client, [app, base])
    top, bottom = (json.loads(h["v1Compatibility"]) for h in doc["history"])
    assert top["parent"] == bottom["id"]
    assert "parent" not in bottom
    assert len({top["id"], bottom["id"]}) == 2
    assert all(len(x["id"]) == 64 for x in (top, bottom))
    # the top entry is the image config (Docker 1.9 reads the container config from it)
    assert (top["architecture"], top["os"], top["config"]) == ("arm64", "linux", config["config"])
    assert "history" not in top
    assert "rootfs" not in top
    assert bottom["container_config"] == {"Cmd": ["ADD rootfs.tar /"]}
    assert bottom["created"] == "2026-01-01T00:00:00Z"
    # distribution: the digest of a converted schema 1 manifest is over its unsigned payload
    assert image["imageId"] == {"imageDigest": sha256(payload), "imageTag": "v1"}
    # the same digest on every pull, though each signature is fresh
    again = get_one(client, {"imageTag": "v1"}, [asked])
    assert again["imageId"]["imageDigest"] == image["imageId"]["imageDigest"]


# manifest-v2-1 ("Signed manifests"): the protected header holds formatLength, formatTail and the
# signing time, RFC 3339 in UTC to the second (its example: "time": "2015-09-11T04:13:48Z").
# Found by tools/mutants.py: `_signed_at` returning None survived every test.
@pytest.mark.ecr_time(1767323045.678)  # 2026-01-02T03:04:05.678Z
def test_schema1_signature_protects_the_signing_time(ecr: FakeECR, client: Any) -> None:
    docker_image(ecr)
    image = get_one(client, {"imageTag": "v1"}, [SCHEMA1_SIGNED])
    [signature] = json.loads(image["imageManifest"])["signatures"]
    assert json.loads(b64decode(signature["protected"]))["time"] == "2026-01-02T03:04:05Z"


def test_schema1_conversion_needs_a_readable_config(ecr: FakeECR, client: Any) -> None:
    # distribution answers MANIFEST_INVALID when the config blob is missing; the fake: not found
    config = add_blob(ecr, REPO, b"not json", DOCKER_CONFIG)
    layer = add_blob(ecr, REPO, b"layer", DOCKER_LAYER)
    text = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_V2, "config": config, "layers": [layer]})
    client.put_image(repositoryName=REPO, imageManifest=text, imageTag="v1")
    assert [f["failureCode"] for f in refused(client, {"imageTag": "v1"}, [SCHEMA1])] == ["ImageNotFound"]


def test_stored_format_wins_and_schema2_formats_before_schema1(ecr: FakeECR, client: Any) -> None:
    oci = ecr.push_image(REPO, "oci")
    docker = ecr.push_image(REPO, "docker", format="docker")
    assert get_one(client, {"imageTag": "oci"}, [DOCKER_V2, OCI_MANIFEST])["imageManifest"] == oci.manifest
    # the table's "client falls back to schema 1" is for what schema 2 cannot serve
    assert get_one(client, {"imageTag": "oci"}, [SCHEMA1, DOCKER_V2])["imageManifestMediaType"] == DOCKER_V2
    assert (
        get_one(client, {"imageTag": "docker"}, [SCHEMA1, OCI_MANIFEST])["imageManifestMediaType"]
        == OCI_MANIFEST
    )
    assert get_one(client, {"imageTag": "docker"}, [SCHEMA1, DOCKER_V2])["imageManifest"] == docker.manifest


# -- by digest: never converted ------------------------------------------------------------------


def test_by_digest_returns_the_stored_manifest_whatever_is_accepted(ecr: FakeECR, client: Any) -> None:
    pushed = ecr.push_image(REPO, "v1", format="docker")
    for image_id in ({"imageDigest": pushed.digest}, {"imageDigest": pushed.digest, "imageTag": "v1"}):
        for accepted in ([SCHEMA1], [OCI_MANIFEST], [OCI_INDEX]):
            image = get_one(client, image_id, accepted)
            assert (image["imageManifest"], image["imageManifestMediaType"]) == (pushed.manifest, DOCKER_V2)
            assert image["imageId"]["imageDigest"] == pushed.digest


# -- what cannot be converted ------------------------------------------------------------------


def test_oci_to_schema1_is_not_available(ecr: FakeECR, client: Any) -> None:
    ecr.push_image(REPO, "v1")
    assert refused(client, {"imageTag": "v1"}, [SCHEMA1, SCHEMA1_SIGNED]) == [
        {
            "imageId": {"imageTag": "v1"},
            "failureCode": "ImageNotFound",
            "failureReason": "Requested image not found",
        }
    ]


def test_schema1_converts_to_nothing(ecr: FakeECR, client: Any) -> None:
    layer = add_blob(ecr, REPO, b"old layer", DOCKER_LAYER)
    text = json.dumps(
        {
            "schemaVersion": 1,
            "name": REPO,
            "tag": "old",
            "architecture": "amd64",
            "fsLayers": [{"blobSum": layer["digest"]}],
            "history": [{"v1Compatibility": json.dumps({"id": "a" * 64})}],
        },
        indent=3,
    )
    client.put_image(repositoryName=REPO, imageManifest=text, imageTag="old")
    for accepted in ([DOCKER_V2], [OCI_MANIFEST], [DOCKER_V2, OCI_MANIFEST]):
        assert [f["failureCode"] for f in refused(client, {"imageTag": "old"}, accepted)] == ["ImageNotFound"]
    assert get_one(client, {"imageTag": "old"}, [SCHEMA1_SIGNED])["imageManifest"] == text


@pytest.mark.parametrize(
    ("fmt", "asked"), [("oci", [DOCKER_LIST, DOCKER_V2]), ("docker", [OCI_INDEX, OCI_MANIFEST])]
)
def test_manifest_lists_and_indexes_are_not_converted(
    ecr: FakeECR, client: Any, fmt: str, asked: list[str]
) -> None:
    ecr.push_image(REPO, "multi", format=fmt, platforms=["linux/amd64", "linux/arm64"])
    assert [f["failureCode"] for f in refused(client, {"imageTag": "multi"}, asked)] == ["ImageNotFound"]


def test_artifacts_and_referrers_are_not_converted(ecr: FakeECR, client: Any) -> None:
    subject = ecr.push_image(REPO, "v1")
    ecr.push_artifact(REPO, subject.digest, tags="sig")
    assert [f["failureCode"] for f in refused(client, {"imageTag": "sig"}, [DOCKER_V2])] == ["ImageNotFound"]
    # an OCI image with a layer type Docker schema 2 lacks (zstd)
    config = add_blob(ecr, REPO, b'{"architecture": "amd64", "os": "linux"}', OCI_CONFIG)
    zstd = add_blob(ecr, REPO, b"zstd layer", "application/vnd.oci.image.layer.v1.tar+zstd")
    text = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [zstd]})
    client.put_image(repositoryName=REPO, imageManifest=text, imageTag="zstd")
    assert [f["failureCode"] for f in refused(client, {"imageTag": "zstd"}, [DOCKER_V2])] == ["ImageNotFound"]


# -- the registry API ------------------------------------------------------------------------------


def pull(
    server: EcrServer, reference: str, accept: str | None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    token = base64.b64encode(f"AWS:{server.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", **({"Accept": accept} if accept else {})}
    request = urllib.request.Request(
        f"http://{server.registry}/v2/{REPO}/manifests/{reference}", headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_registry_get_by_tag_converts_to_the_accepted_type(
    ecr: FakeECR, client: Any, ecr_server: EcrServer
) -> None:
    pushed = ecr.push_image(REPO, "v1")  # OCI
    status, headers, body = pull(ecr_server, "v1", DOCKER_V2)
    assert (status, headers["Content-Type"]) == (200, DOCKER_V2)
    assert headers["Docker-Content-Digest"] == sha256(body) != pushed.digest
    assert json.loads(body)["config"]["mediaType"] == DOCKER_CONFIG
    # HEAD answers the same digest and length without the body
    status, head, empty = pull(ecr_server, "v1", DOCKER_V2, "HEAD")
    assert (status, head["Docker-Content-Digest"], head["Content-Length"], empty) == (
        200,
        sha256(body),
        str(len(body)),
        b"",
    )
    # by digest: the stored bytes whatever Accept says
    status, headers, body = pull(ecr_server, pushed.digest, DOCKER_V2)
    assert (status, headers["Content-Type"], body.decode()) == (200, OCI_MANIFEST, pushed.manifest)


def test_registry_schema1_for_an_old_client(ecr: FakeECR, client: Any, ecr_server: EcrServer) -> None:
    docker_image(ecr)
    status, headers, body = pull(ecr_server, "v1", SCHEMA1_SIGNED)
    assert (status, headers["Content-Type"]) == (200, SCHEMA1_SIGNED)
    doc, payload = verify_schema1(body.decode())
    assert headers["Docker-Content-Digest"] == sha256(payload)
    assert doc["tag"] == "v1"


def test_registry_unconvertible_is_manifest_unknown(ecr: FakeECR, client: Any, ecr_server: EcrServer) -> None:
    ecr.push_image(REPO, "v1")  # OCI: no schema 1 conversion
    status, _, body = pull(ecr_server, "v1", SCHEMA1_SIGNED)
    assert (status, json.loads(body)["errors"][0]["code"]) == (404, "MANIFEST_UNKNOWN")


# -- a real client reads what a conversion served ------------------------------------------------

SKOPEO = shutil.which("skopeo")
needs_skopeo = pytest.mark.skipif(
    SKOPEO is None, reason="skopeo is not installed (Debian: apt-get install skopeo; .ci/run installs it)"
)


def skopeo(*args: str) -> str:
    # --insecure-policy: no /etc/containers/policy.json needed; the registry is plain HTTP on loopback.
    result = subprocess.run(
        [str(SKOPEO), "--insecure-policy", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"skopeo failed ({result.returncode}):\n{result.stderr}"
    return result.stdout


def push_back(server: EcrServer, tag: str, body: bytes, media_type: str) -> None:
    token = base64.b64encode(f"AWS:{server.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{server.registry}/v2/{REPO}/manifests/{tag}",
        data=body,
        headers={"Authorization": f"Basic {token}", "Content-Type": media_type},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


@needs_skopeo
def test_skopeo_reads_a_converted_schema1_manifest(ecr: FakeECR, client: Any, ecr_server: EcrServer) -> None:
    # skopeo always accepts schema 2 and OCI, so it never asks for a conversion itself: the served
    # schema 1 manifest is stored back under a tag for skopeo (containers/image) to parse its JWS.
    pushed = ecr.push_image(REPO, "v1", format="docker")
    stored = json.loads(pushed.manifest)
    status, _, body = pull(ecr_server, "v1", SCHEMA1_SIGNED)
    assert status == 200
    _, payload = verify_schema1(body.decode())
    push_back(ecr_server, "v1-schema1", body, SCHEMA1_SIGNED)
    ref = f"docker://{ecr_server.registry}/{REPO}:v1-schema1"
    info = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", f"AWS:{ecr_server.password}", ref))
    # containers/image takes a schema 1 digest over the payload the JWS protects
    assert info["Digest"] == sha256(payload)
    assert info["Layers"] == [layer["digest"] for layer in stored["layers"]]
    assert (info["Architecture"], info["Os"]) == ("amd64", "linux")


@needs_skopeo
def test_skopeo_copies_an_image_converted_to_docker(
    ecr: FakeECR, client: Any, ecr_server: EcrServer, tmp_path: Any
) -> None:
    pushed = ecr.push_image(REPO, "v1")  # OCI, with valid gzipped tar layers
    status, headers, body = pull(ecr_server, "v1", DOCKER_V2)
    assert status == 200
    push_back(ecr_server, "v1-docker", body, DOCKER_V2)
    ref = f"docker://{ecr_server.registry}/{REPO}:v1-docker"
    creds = f"AWS:{ecr_server.password}"
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", "--creds", creds, ref))
    assert raw["mediaType"] == DOCKER_V2
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, ref, f"dir:{out}")
    # dir: keeps the manifest as served and every blob under its verified digest
    assert (out / "manifest.json").read_bytes() == body
    assert sha256(body) == headers["Docker-Content-Digest"] != pushed.digest
    for descriptor in (raw["config"], *raw["layers"]):
        assert sha256((out / descriptor["digest"].split(":")[1]).read_bytes()) == descriptor["digest"]

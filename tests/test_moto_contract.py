"""The contract: the same boto3 scenarios, asserting real ECR's behaviour, against moto and pytest-ecr.

Every scenario runs twice through the ``backend`` fixture: under moto's ``mock_aws()`` and under
``pytest_ecr.mock_ecr()`` (each parameter activates only its own backend). The assertions are real
ECR's documented or observed behaviour (spec section in each reason). pytest-ecr must pass them all.
Where moto answers differently (spec §12), its parameter carries a strict ``xfail`` whose reason says
what moto does: if a moto release fixes it, the test turns into an XPASS failure and the reason (and
docs/comparison.rst) need updating. Scenarios where moto agrees with ECR run unmarked for both.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

import pytest_ecr

moto = pytest.importorskip("moto")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"


class Backend:
    """What a scenario needs from either backend: a client and a way to push real images.

    Blobs go through the layer upload API (InitiateLayerUpload / UploadLayerPart /
    CompleteLayerUpload), which both moto 5.2.5 and pytest-ecr implement, so scenarios stay identical.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.client: Any = boto3.client("ecr", region_name="us-east-1")

    def upload_blob(self, repository: str, data: bytes, media_type: str) -> dict[str, Any]:
        """Upload one blob (what ``docker push`` does); its descriptor."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        upload = self.client.initiate_layer_upload(repositoryName=repository)["uploadId"]
        self.client.upload_layer_part(
            repositoryName=repository,
            uploadId=upload,
            partFirstByte=0,
            partLastByte=len(data) - 1,
            layerPartBlob=data,
        )
        with contextlib.suppress(self.client.exceptions.LayerAlreadyExistsException):
            # already in the repository: fine
            self.client.complete_layer_upload(
                repositoryName=repository, uploadId=upload, layerDigests=[digest]
            )
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def manifest(self, repository: str, config: bytes, layers: list[bytes], media_type: bool = True) -> str:
        """Upload the blobs of an OCI image; its manifest text (without ``mediaType`` if asked)."""
        body: dict[str, Any] = {"schemaVersion": 2}
        if media_type:
            body["mediaType"] = OCI_MANIFEST
        body["config"] = self.upload_blob(repository, config, OCI_CONFIG)
        body["layers"] = [self.upload_blob(repository, layer, OCI_LAYER) for layer in layers]
        return json.dumps(body)

    def push(self, repository: str, config: bytes, layers: list[bytes], tag: str | None) -> str:
        """Push an OCI image; the digest ECR answered."""
        manifest = self.manifest(repository, config, layers)
        extra = {"imageTag": tag} if tag is not None else {}
        answer = self.client.put_image(repositoryName=repository, imageManifest=manifest, **extra)
        return str(answer["image"]["imageId"]["imageDigest"])


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Only moto (``mock_aws``) or only pytest-ecr (``mock_ecr``) active, never both."""
    if request.param == "moto":
        with moto.mock_aws():
            yield Backend("moto")
    else:
        with pytest_ecr.mock_ecr() as fake:
            yield Backend("pytest-ecr")
        assert not fake.problems()


def contract(moto_differs: str | None = None) -> Callable[[Any], Any]:
    """Run a scenario on both backends; ``moto_differs`` (moto's answer vs ECR's) xfails moto strictly."""
    marks = [pytest.mark.xfail(strict=True, reason=f"moto: {moto_differs}")] if moto_differs else []
    return pytest.mark.parametrize(
        "backend", [pytest.param("moto", marks=marks), "pytest-ecr"], indirect=True
    )


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    """The (code, message) a call failed with."""
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


# -- images -----------------------------------------------------------------------------------------


@contract(
    "digest is sha256 of the concatenated layer digests — real ECR: sha256 of the exact manifest "
    "bytes (spec §3.3, verified; §12 item 1)"
)
def test_digest_is_sha256_of_manifest_bytes(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="web")
    manifest = backend.manifest("web", b'{"build": 1}', [b"layer"])
    digest = client.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")["image"][
        "imageId"
    ]["imageDigest"]
    assert digest == "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


@contract(
    "imageSizeInBytes is config.size only — real ECR: config.size + sum of layers[].size "
    "(spec §3.4, verified; §12 item 2)"
)
def test_image_size_is_config_plus_layers(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="web")
    config, layers = b'{"build": 1}', [b"layer-one", b"layer-two!"]
    backend.push("web", config, layers, "v1")
    [detail] = client.describe_images(repositoryName="web")["imageDetails"]
    assert detail["imageSizeInBytes"] == len(config) + sum(len(layer) for layer in layers)


@contract(
    "moving a tag deletes the image that lost its last tag — real ECR: that image stays, "
    "untagged (spec §3.5 step 7; §12 item 3)"
)
def test_retag_leaves_previous_image_untagged(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="web")
    backend.push("web", b'{"build": 1}', [b"layer-1"], "latest")
    backend.push("web", b'{"build": 2}', [b"layer-2"], "latest")  # "latest" moves to build 2
    rows = client.list_images(repositoryName="web")["imageIds"]
    assert sorted(sorted(row) for row in rows) == [["imageDigest"], ["imageDigest", "imageTag"]]
    untagged = client.list_images(repositoryName="web", filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert len(untagged) == 1


@contract(
    "an immutable tag conflict raises ImageAlreadyExistsException — real ECR: "
    "ImageTagAlreadyExistsException (spec §3.5.1, §3.5 step 7; §12 item 4)"
)
def test_immutable_tag_conflict(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    backend.push("locked", b'{"build": 1}', [b"layer-1"], "v1")
    code, _ = error_of(lambda: backend.push("locked", b'{"build": 2}', [b"layer-2"], "v1"))
    assert code == "ImageTagAlreadyExistsException"


@contract()
def test_same_digest_and_tag_again(backend: Backend) -> None:
    """Pushing the identical manifest with the tag it already has: ImageAlreadyExistsException (§3.5 step 6)."""
    client = backend.client
    client.create_repository(repositoryName="web")
    manifest = backend.manifest("web", b'{"build": 1}', [b"layer"])
    client.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")
    code, _ = error_of(lambda: client.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1"))
    assert code == "ImageAlreadyExistsException"


@contract(
    "exclusion filters are matched with unanchored re.match, so 'v1' also matches 'v10' — real ECR: "
    "anchored whole-tag wildcard match (spec §3.5.1; §12 item 6)"
)
def test_exclusion_filter_is_anchored(backend: Backend) -> None:
    client = backend.client
    # Mutable except tags matching the filter: 'v1' is immutable, 'v10' is not.
    client.create_repository(
        repositoryName="web",
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "v1"}],
    )
    backend.push("web", b'{"build": 1}', [b"layer-1"], "v10")
    backend.push("web", b'{"build": 2}', [b"layer-2"], "v10")  # v10 is mutable: it moves
    backend.push("web", b'{"build": 3}', [b"layer-3"], "v1")
    code, _ = error_of(lambda: backend.push("web", b'{"build": 4}', [b"layer-4"], "v1"))
    assert code == "ImageTagAlreadyExistsException"


@contract(
    "a manifest without mediaType (and no imageManifestMediaType) is rejected with "
    "InvalidParameterException 'image manifest mediatype not provided in manifest or parameter' — "
    "real ECR: "
    "InvalidParameterException 'Invalid JSON syntax' (spec §3.2 step 5; §12 item 5)"
)
def test_manifest_without_media_type(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="web")
    manifest = backend.manifest("web", b'{"build": 1}', [b"layer"], media_type=False)
    code, message = error_of(
        lambda: client.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")
    )
    assert code == "InvalidParameterException"
    assert "'Invalid JSON syntax'" in message


@contract(
    "BatchGetImage ignores acceptedMediaTypes and returns the OCI manifest to a schema-1-only "
    "client — real ECR: OCI has no schema 1 conversion, so no manifest (spec §3.6; §12 item 13; "
    "user guide image-manifest-formats)"
)
def test_batch_get_image_honours_accepted_media_types(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="web")
    backend.push("web", b'{"build": 1}', [b"layer"], "v1")
    accepted = client.batch_get_image(
        repositoryName="web", imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=[OCI_MANIFEST]
    )
    assert [i["imageManifestMediaType"] for i in accepted["images"]] == [OCI_MANIFEST]
    refused = client.batch_get_image(
        repositoryName="web", imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=[SCHEMA1]
    )
    assert refused["images"] == []
    assert [f["failureCode"] for f in refused["failures"]] == ["ImageNotFound"]


@contract()
def test_list_images_one_row_per_tag(backend: Backend) -> None:
    """An image with two tags is two ListImages rows with the same digest (spec §3.8)."""
    client = backend.client
    client.create_repository(repositoryName="web")
    manifest = backend.manifest("web", b'{"build": 1}', [b"layer"])
    client.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")
    client.put_image(repositoryName="web", imageManifest=manifest, imageTag="latest")
    rows = client.list_images(repositoryName="web")["imageIds"]
    assert sorted(row["imageTag"] for row in rows) == ["latest", "v1"]
    assert len({row["imageDigest"] for row in rows}) == 1


# -- pagination -------------------------------------------------------------------------------------


@contract(
    "ListImages ignores maxResults/nextToken and returns every image in one page — real ECR: "
    "pages of 100 by default (spec §9, §3.8; §12 item 12)"
)
def test_list_images_default_page_is_100(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="many")
    config = backend.upload_blob("many", b'{"build": 0}', OCI_CONFIG)
    for n in range(101):
        layer = backend.upload_blob("many", f"layer-{n}".encode(), OCI_LAYER)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        client.put_image(repositoryName="many", imageManifest=json.dumps(manifest), imageTag=f"v{n}")
    first = client.list_images(repositoryName="many")
    assert len(first["imageIds"]) == 100
    assert "nextToken" in first
    rest = client.list_images(repositoryName="many", nextToken=first["nextToken"])
    assert len(rest["imageIds"]) == 1
    assert "nextToken" not in rest


@contract(
    "DescribeRepositories ignores maxResults/nextToken and returns every repository — real ECR: "
    "pages of 100 by default (spec §9; §12 item 12)"
)
def test_describe_repositories_default_page_is_100(backend: Backend) -> None:
    client = backend.client
    for n in range(101):
        client.create_repository(repositoryName=f"repo-{n:03}")
    first = client.describe_repositories()
    assert len(first["repositories"]) == 100
    assert "nextToken" in first
    small = client.describe_repositories(maxResults=7)
    assert len(small["repositories"]) == 7
    names = [
        r["repositoryName"]
        for p in client.get_paginator("describe_repositories").paginate()
        for r in p["repositories"]
    ]
    assert sorted(names) == [f"repo-{n:03}" for n in range(101)]


# -- scanning, auth, lifecycle ----------------------------------------------------------------------


@contract(
    "the once-per-image StartImageScan limit is keyed on the calendar date, so a scan at 23:00 and "
    "another at 01:00 the next day both succeed — real ECR: once per rolling 24 h (spec §6.4, §6.1; "
    "§12 item 10)"
)
def test_start_image_scan_quota_is_rolling_24h(backend: Backend) -> None:
    client = backend.client
    with freeze_time("2026-03-01 23:00:00") as frozen:
        client.create_repository(repositoryName="web")
        backend.push("web", b'{"build": 1}', [b"layer"], "v1")
        client.start_image_scan(repositoryName="web", imageId={"imageTag": "v1"})
        frozen.tick(timedelta(hours=2))  # 01:00 the next day: a new date, but only 2 h later
        code, _ = error_of(lambda: client.start_image_scan(repositoryName="web", imageId={"imageTag": "v1"}))
        assert code == "LimitExceededException"
        frozen.tick(timedelta(hours=22, seconds=1))  # more than 24 h after the first scan
        answer = client.start_image_scan(repositoryName="web", imageId={"imageTag": "v1"})
        assert answer["imageScanStatus"]["status"] == "IN_PROGRESS"


@contract()
def test_authorization_token_format(backend: Backend) -> None:
    """One entry for the caller's registry; the token is base64 of ``AWS:<password>`` (spec §7)."""
    [data] = backend.client.get_authorization_token()["authorizationData"]
    assert base64.b64decode(data["authorizationToken"]).decode().startswith("AWS:")
    assert data["proxyEndpoint"] == "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"


@contract(
    "expiresAt is a constant 2015-01-01T00:00:00 whatever the time — real ECR: issue time + 12 h (spec §7)"
)
def test_authorization_token_expires_after_12_hours(backend: Backend) -> None:
    with freeze_time("2026-03-01 12:00:00"):
        [data] = backend.client.get_authorization_token()["authorizationData"]
    issued = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    assert data["expiresAt"] == issued + timedelta(hours=12)


def _rule(priority: int, tag_status: str = "untagged") -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "selection": {"tagStatus": tag_status, "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"},
    }


@contract(
    "PutLifecyclePolicy accepts two rules with the same rulePriority (no cross-rule checks) — real "
    "ECR: InvalidParameterException (spec §5.3; §12 item 7)"
)
def test_lifecycle_policy_rejects_duplicate_priorities(backend: Backend) -> None:
    client = backend.client
    client.create_repository(repositoryName="web")
    policy = json.dumps({"rules": [_rule(1), {**_rule(1, "any"), "description": "again"}]})
    code, _ = error_of(lambda: client.put_lifecycle_policy(repositoryName="web", lifecyclePolicyText=policy))
    assert code == "InvalidParameterException"


@contract()
def test_lifecycle_policy_round_trip(backend: Backend) -> None:
    """A valid policy is stored and read back unchanged (spec §5.1)."""
    client = backend.client
    client.create_repository(repositoryName="web")
    policy = json.dumps({"rules": [_rule(1)]})
    client.put_lifecycle_policy(repositoryName="web", lifecyclePolicyText=policy)
    stored = client.get_lifecycle_policy(repositoryName="web")["lifecyclePolicyText"]
    assert json.loads(stored) == json.loads(policy)

"""Building manifests for tests: real JSON over blobs that exist in the fake's repository; signing raw
ECR API requests as botocore does."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pytest_ecr import FakeECR
from pytest_ecr._hook import FAKE_CREDENTIALS
from pytest_ecr.protocol.model import operation_names, service_model
from pytest_ecr.server import EcrServer, cli
from pytest_ecr.store import Blob

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


#: a lifecycle policy that keeps the newest image (any tag status) and expires the rest
KEEP_ONE_LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "keep one",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                "action": {"type": "expire"},
            }
        ]
    }
)


def upload_blob(client: Any, repository: str, data: bytes) -> str:
    """Upload ``data`` in one part with the layer upload operations (as docker push does); its digest."""
    digest = sha256(data)
    upload = client.initiate_layer_upload(repositoryName=repository)["uploadId"]
    client.upload_layer_part(
        repositoryName=repository,
        uploadId=upload,
        partFirstByte=0,
        partLastByte=len(data) - 1,
        layerPartBlob=data,
    )
    client.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
    return digest


def requires_operation(*names: str) -> pytest.MarkDecorator:
    """Skip where the installed botocore's ECR model lacks an operation (tox also runs the oldest
    supported botocore, 1.41.0, which has no signing or replication-backfill operations)."""
    missing = sorted(set(names) - operation_names())
    return pytest.mark.skipif(bool(missing), reason=f"this botocore's ECR model has no {', '.join(missing)}")


def requires_member(shape: str, member: str) -> pytest.MarkDecorator:
    """Skip where the installed botocore's ECR model lacks a structure member (botocore 1.41.0 has
    no ``ReplicationRule.deleteReplication``, for instance)."""
    missing = member not in service_model().shape_for(shape).members
    return pytest.mark.skipif(missing, reason=f"this botocore's ECR model has no {shape}.{member}")


def sha256(data: bytes | str) -> str:
    return "sha256:" + hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def add_blob(ecr: FakeECR, repository: str, content: bytes, media_type: str = OCI_LAYER) -> dict[str, Any]:
    """Make ``content`` available in the repository (as a finished layer upload would) and return
    its descriptor."""
    digest = sha256(content)
    ecr.repository(repository).blobs[digest] = Blob(digest, len(content), media_type, content)
    return {"mediaType": media_type, "digest": digest, "size": len(content)}


def image_manifest(
    ecr: FakeECR,
    repository: str,
    *,
    layer_sizes: tuple[int, ...] = (1000,),
    label: str = "x",
    media_type: str | None = OCI_MANIFEST,
    indent: int | None = 3,
    **extra: Any,
) -> str:
    """An image manifest whose config and layers exist in ``repository``."""
    config = add_blob(ecr, repository, json.dumps({"label": label}).encode(), OCI_CONFIG)
    layers = [add_blob(ecr, repository, bytes([i % 256]) * size) for i, size in enumerate(layer_sizes)]
    doc: dict[str, Any] = {"schemaVersion": 2}
    if media_type is not None:
        doc["mediaType"] = media_type
    doc.update(config=config, layers=layers, **extra)
    return json.dumps(doc, indent=indent)


def index_manifest(children: list[tuple[str, int]], media_type: str = OCI_INDEX) -> str:
    """A manifest list / index over (digest, size) children."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": d,
                    "size": s,
                    "platform": {"os": "linux", "architecture": a},
                }
                for (d, s), a in zip(children, ("amd64", "arm64", "s390x", "ppc64le"), strict=False)
            ],
        }
    )


# -- OCI image layouts (what skopeo and umoci read and write) ------------------------------------


def _write_blob(root: Path, data: bytes) -> dict[str, Any]:
    digest = sha256(data)
    path = root / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _layer(content: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def make_layout(root: Path, tags: dict[str, list[str]]) -> dict[str, bytes]:
    """An OCI layout with one image per tag ({tag: [platforms]}; several platforms make an index).
    Returns every manifest's bytes by digest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests: dict[str, bytes] = {}
    index_entries = []

    def image(platform: str) -> dict[str, Any]:
        os_, arch = platform.split("/")
        layer = _layer(f"hello from {platform}\n".encode())
        config = json.dumps(
            {"architecture": arch, "os": os_, "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **_write_blob(root, config)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_write_blob(root, layer)}
            ],
        }
        data = json.dumps(doc, indent=2).encode()
        ref = _write_blob(root, data)
        manifests[ref["digest"]] = data
        return {"mediaType": OCI_MANIFEST, **ref, "platform": {"os": os_, "architecture": arch}}

    for tag, platforms in tags.items():
        if len(platforms) == 1:
            entry = image(platforms[0])
            entry.pop("platform")
        else:
            data = json.dumps(
                {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [image(p) for p in platforms]}
            ).encode()
            entry = {"mediaType": OCI_INDEX, **_write_blob(root, data)}
            manifests[entry["digest"]] = data
        index_entries.append({**entry, "annotations": {"org.opencontainers.image.ref.name": tag}})
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": index_entries}))
    return manifests


TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."


def signed_headers(
    host: str,
    operation: str,
    body: bytes = b"{}",
    *,
    region: str = "us-east-1",
    service: str = "ecr",
    key: str = FAKE_CREDENTIALS[0],
    secret: str = FAKE_CREDENTIALS[1],
) -> dict[str, str]:
    """Headers of an ECR API ``POST /`` to ``host`` (host:port) signed by botocore's own SigV4
    signer, for raw-socket tests of the server."""
    request = AWSRequest(
        "POST",
        f"http://{host}/",
        data=body,
        headers={
            "X-Amz-Target": TARGET_PREFIX + operation,
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return dict(request.headers.items())


def archive_expiry_rule(days: int) -> dict[str, Any]:
    """A lifecycle rule expiring images ``days`` after their archival (priority set by the caller).
    The user guide: an image must be in archive at least 90 days before a rule can delete it."""
    return {
        "selection": {
            "tagStatus": "any",
            "storageClass": "archive",
            "countType": "sinceImageTransitioned",
            "countUnit": "days",
            "countNumber": days,
        },
        "action": {"type": "expire"},
    }


@contextlib.contextmanager
def serve_in_thread(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], ready: Callable[[], bool] = lambda: True
) -> Iterator[EcrServer]:
    """``pytest-ecr serve`` (``cli.main(argv)``) in a thread: its server once it listens and
    ``ready()`` holds (at most 10 s); stopped afterwards."""
    made: list[EcrServer] = []

    class Recorded(EcrServer):
        def start(self) -> EcrServer:
            # recorded once start() has returned: before, the server may listen but not yet be
            # known to the transport as local (a request to it is then blocked as leaving)
            started = super().start()
            made.append(self)
            return started

    monkeypatch.setattr(cli, "EcrServer", Recorded)
    stop = threading.Event()
    thread = threading.Thread(target=cli.main, args=(argv, stop))
    thread.start()
    try:
        for _ in range(1000):
            if made and made[0].listening and ready():
                break
            threading.Event().wait(0.01)
        yield made[0]
    finally:
        stop.set()
        thread.join(timeout=10)

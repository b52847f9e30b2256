"""Layer upload and download (spec §4): InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload,
BatchCheckLayerAvailability, GetDownloadUrlForLayer.

A blob in a repository is absent, then available but unreferenced (after CompleteLayerUpload), then
referenced by the images whose manifests list it (after PutImage). An upload keeps its parts as
received and hashes them as they arrive; completing it joins them once, so the fake never holds
more than two copies of a layer.

Download URLs look like ECR's pre-signed S3 URLs and are derivable from the store: the path names
the account, the repository and the blob (name-based UUIDs), and the signature covers the rest, so
:func:`resolve_download_url` maps a URL back to its blob.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from ..store import Blob, Repository, Store, Upload
from .context import Context, dns_suffix
from .errors import (
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    LayerInaccessibleException,
    LayerPartTooSmallException,
    LayersNotFoundException,
    LimitExceededException,
    UploadNotFoundException,
)
from .manifests import DIGEST_RE
from .registry import operation

MIB = 1024 * 1024
#: what InitiateLayerUpload advises, and AWS's own clients use (spec §4.1)
PART_SIZE = 10 * MIB
#: every part but the last must be at least this big, checked at completion (spec §4.3)
MIN_PART_SIZE = 5 * MIB
MAX_PARTS = 4200
MAX_LAYER_SIZE = 52_000 * MIB
URL_EXPIRES = 3600

# -- uploads --------------------------------------------------------------------------------------


def _upload(repo: Repository, upload_id: str) -> Upload:
    upload = repo.uploads.get(upload_id)
    if upload is None:
        raise UploadNotFoundException(
            "The upload could not be found, or the specified upload ID is not valid for this repository"
        )
    return upload


@operation("InitiateLayerUpload")
def initiate_layer_upload(
    ctx: Context, *, repositoryName: str, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    upload = Upload(str(uuid.uuid4()), ctx.clock.now())
    repo.uploads[upload.upload_id] = upload
    return {"uploadId": upload.upload_id, "partSize": PART_SIZE}


def _part_problem(received: int, first: int, last: int, length: int) -> str | None:
    """Why a part cannot follow the ``received`` bytes of an upload (byte ranges are inclusive)."""
    if first != received:
        if received == 0:
            return f"The first layer part must start at byte 0, not at byte {first}"
        return (
            f"The layer part starting at byte {first} is not consecutive to the last byte received "
            f"({received - 1}); the next part must start at byte {received}"
        )
    if last < first:
        return f"The layer part is not valid: partLastByte {last} is before partFirstByte {first}"
    if last - first + 1 != length:
        return (
            f"The layer part size is not valid: partLastByte - partFirstByte + 1 is {last - first + 1}, "
            f"but the layer part has {length} bytes"
        )
    return None


@operation("UploadLayerPart")
def upload_layer_part(
    ctx: Context,
    *,
    repositoryName: str,
    uploadId: str,
    partFirstByte: int,
    partLastByte: int,
    layerPartBlob: bytes,
    registryId: str | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    upload = _upload(repo, uploadId)
    problem = _part_problem(upload.size, partFirstByte, partLastByte, len(layerPartBlob))
    if problem is not None:
        raise InvalidLayerPartException(
            problem,
            registryId=repo.registry_id,
            repositoryName=repo.name,
            uploadId=uploadId,
            lastValidByteReceived=upload.size - 1,
        )
    if len(upload.parts) >= MAX_PARTS:
        raise LimitExceededException(
            f"The upload with id '{uploadId}' already has the maximum allowed number of layer parts "
            f"which is '{MAX_PARTS}'"
        )
    if upload.size + len(layerPartBlob) > MAX_LAYER_SIZE:
        raise LimitExceededException(
            f"The layer of the upload with id '{uploadId}' would exceed the maximum allowed layer size "
            f"which is '{MAX_LAYER_SIZE // MIB} MiB'"
        )
    upload.parts.append(layerPartBlob)
    upload.sha256.update(layerPartBlob)
    upload.size += len(layerPartBlob)
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "uploadId": uploadId,
        "lastByteReceived": partLastByte,
    }


@operation("CompleteLayerUpload")
def complete_layer_upload(
    ctx: Context,
    *,
    repositoryName: str,
    uploadId: str,
    layerDigests: list[str],
    registryId: str | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    upload = _upload(repo, uploadId)
    # Failures before the digest is verified leave the upload open, so a client can still fix it.
    if not upload.parts:
        raise EmptyUploadException("The specified layer upload does not contain any layer parts")
    if any(len(part) < MIN_PART_SIZE for part in upload.parts[:-1]):
        raise LayerPartTooSmallException("All layer parts except the last part should be at least 5MB")
    digest = "sha256:" + upload.sha256.hexdigest()
    # ECR computes sha256 only: any other algorithm, like a wrong value, cannot be verified.
    if any(d != digest for d in layerDigests):
        raise InvalidLayerException(
            "The layer digest calculation performed by Amazon ECR upon receipt of the image layer "
            "does not match the digest specified"
        )
    del repo.uploads[uploadId]
    if digest in repo.blobs:
        # Only after verification: clients treat this answer as success (spec §4.3).
        raise LayerAlreadyExistsException("The image layer already exists in the associated repository")
    repo.blobs[digest] = Blob(digest, upload.size, None, b"".join(upload.parts))
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "uploadId": uploadId,
        "layerDigest": digest,
    }


# -- availability and download --------------------------------------------------------------------


def _referenced(repo: Repository) -> dict[str, bool]:
    """Digest -> whether an ACTIVE image references the blob (False: only archived or restoring
    images do). Blobs no image references are absent."""
    active: dict[str, bool] = {}
    for image in repo.images.values():
        for digest in image.blob_digests:
            active[digest] = active.get(digest, False) or image.status == "ACTIVE"
    return active


def _layer_failure(digest: str) -> dict[str, str] | None:
    if not digest:
        return {
            "layerDigest": digest,
            "failureCode": "MissingLayerDigest",
            "failureReason": "Invalid request parameters: layer digest cannot be empty",
        }
    if not DIGEST_RE.fullmatch(digest):
        return {
            "layerDigest": digest,
            "failureCode": "InvalidLayerDigest",
            "failureReason": f"Invalid request parameters: layer digest should satisfy the regex '{DIGEST_RE.pattern}'",
        }
    return None


@operation("BatchCheckLayerAvailability")
def batch_check_layer_availability(
    ctx: Context, *, repositoryName: str, layerDigests: list[str], registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    referenced = _referenced(repo)
    layers: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for digest in dict.fromkeys(layerDigests):
        failure = _layer_failure(digest)
        if failure is not None:
            failures.append(failure)
            continue
        blob = repo.blobs.get(digest)
        if blob is None:
            # Not a failure: AWS's containerd resolver uploads on UNAVAILABLE and gives up on a
            # failure, so this is what ECR answers for a blob a push has yet to upload.
            layers.append({"layerDigest": digest, "layerAvailability": "UNAVAILABLE"})
        else:
            active = referenced.get(digest)
            layers.append(
                {
                    "layerDigest": digest,
                    "layerAvailability": "ARCHIVED" if active is False else "AVAILABLE",
                    "layerSize": blob.size,
                    # the type a manifest gave it; an unreferenced upload has none
                    "mediaType": blob.media_type if active is not None else None,
                }
            )
    return {"layers": layers, "failures": failures}


def _repo_key(repo: Repository) -> uuid.UUID:
    """A name-based id of the repository; ``seq`` tells a re-created repository from the old one."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{repo.arn}#{repo.seq}")


_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SIGNING_KEY = b"pytest-ecr starport layer bucket"
_ACCESS_KEY = "ASIAPYTESTECRLAYERS0"
_HOST_RE = re.compile(r"prod-([a-z0-9-]+)-starport-layer-bucket\.s3\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
_PATH_RE = re.compile(r"/[0-9a-f]{4}-([0-9]{12})-([0-9a-f-]{36})/([0-9a-f-]{36})")


def _signature(host: str, path: str, query: str) -> str:
    return hmac.new(_SIGNING_KEY, f"GET\n{host}\n{path}\n{query}".encode(), hashlib.sha256).hexdigest()


def download_url(repo: Repository, digest: str, now: float) -> str:
    """A pre-signed-style S3 URL for a blob of ``repo``, valid for an hour from ``now``."""
    repo_key = _repo_key(repo)
    blob_key = uuid.uuid5(repo_key, digest)
    host = f"prod-{repo.region}-starport-layer-bucket.s3.{repo.region}.{dns_suffix(repo.region)}"
    path = f"/{repo_key.hex[:4]}-{repo.registry_id}-{repo_key}/{blob_key}"
    stamp = datetime.fromtimestamp(now, tz=timezone.utc)
    query = urlencode(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": stamp.strftime(_DATE_FORMAT),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Expires": str(URL_EXPIRES),
            "X-Amz-Credential": f"{_ACCESS_KEY}/{stamp:%Y%m%d}/{repo.region}/s3/aws4_request",
        },
        quote_via=quote,
    )
    return f"https://{host}{path}?{query}&X-Amz-Signature={_signature(host, path, query)}"


def resolve_download_url(store: Store, url: str, now: float) -> Blob | None:
    """The blob a URL from :func:`download_url` names, or None where S3 would refuse it: unknown,
    tampered with, or expired."""
    parts = urlsplit(url)
    host, path = parts.hostname or "", parts.path
    host_match, path_match = _HOST_RE.fullmatch(host), _PATH_RE.fullmatch(path)
    query, _, signature = parts.query.rpartition("&X-Amz-Signature=")
    if (
        parts.scheme != "https"
        or host_match is None
        or host_match.group(1) != host_match.group(2)
        or path_match is None
        or not hmac.compare_digest(signature, _signature(host, path, query))
    ):
        return None
    params = dict(parse_qsl(query))
    signed_at = datetime.strptime(params["X-Amz-Date"], _DATE_FORMAT).replace(tzinfo=timezone.utc).timestamp()
    if now > signed_at + int(params["X-Amz-Expires"]):
        return None
    account, repo_key, blob_key = path_match.groups()
    registry = store.registries.get((account, host_match.group(1)))
    for repo in registry.repositories.values() if registry is not None else ():
        key = _repo_key(repo)
        if str(key) == repo_key:
            return next((b for d, b in repo.blobs.items() if str(uuid.uuid5(key, d)) == blob_key), None)
    return None


@operation("GetDownloadUrlForLayer")
def get_download_url_for_layer(
    ctx: Context, *, repositoryName: str, layerDigest: str, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    if layerDigest not in repo.blobs:
        raise LayersNotFoundException(
            f"The layer with digest {layerDigest} does not exist within the repository with name "
            f"'{repo.name}' in the registry with id '{repo.registry_id}'"
        )
    active = _referenced(repo).get(layerDigest)
    if active is None:
        raise LayerInaccessibleException(
            "The specified layer is not available because it is not associated with an image. "
            "Unassociated image layers may be cleaned up at any time."
        )
    if not active:
        raise LayerInaccessibleException(
            "The specified layer is not available because the images it is associated with are archived."
        )
    return {"downloadUrl": download_url(repo, layerDigest, ctx.clock.now()), "layerDigest": layerDigest}

"""The OCI Distribution API (``/v2/...``) on the fake's store, as ECR's registry endpoint serves it.

Every route calls the ECR service functions (PutImage, BatchGetImage, BatchDeleteImage, the layer
upload handlers, ListImageReferrers) with a :class:`Context` for the account the credential names,
and maps their ECR errors to OCI error codes: the image rules live in the service, not here.
The only rule of its own is the OCI one that chunks may be of any size (ECR's API wants 5 MiB
parts; its registry endpoint follows the OCI spec, see the spec's registry-endpoint page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from ..service import access, images, layers, manifests, referrers
from ..service.accounts import setting
from ..service.auth import token_grant
from ..service.context import Context, aws_registry_endpoint
from ..service.errors import (
    ECRError,
    ImageAlreadyExistsException,
    ImageDigestDoesNotMatchException,
    ImageTagAlreadyExistsException,
    InvalidLayerPartException,
    InvalidParameterException,
    LayersNotFoundException,
    ReferencedImagesNotFoundException,
    RepositoryNotFoundException,
    UploadNotFoundException,
)
from ..service.pull_through_rules import pull_through
from ..service.templates import create_repository_for, matching_template
from ..store import Blob, Repository
from .messages import Reply, Request, json_reply

if TYPE_CHECKING:
    from ..fake import FakeECR

#: ECR's manifest size limit (spec: registry endpoint, manifest types)
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
DEFAULT_PAGE = 100
MAX_PAGE = 1000
#: ``n``: at most ten ASCII digits (int() of thousands of digits is refused by Python itself)
_PAGE_NUMBER = re.compile(r"[0-9]{1,10}")
_LARGEST_NUMBER = 2**31 - 1
SERVICE = "ecr.amazonaws.com"
_NAME_RE = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
#: the routes under /v2/<name>/: the name is everything before the LAST marker that leaves a valid
#: route (names contain slashes; references, digests and upload ids never do)
_ROUTE_RE = re.compile(
    r"/v2/(?P<name>.+)/(?:"
    r"blobs/uploads(?:/(?P<upload>[^/]*))?"
    r"|(?P<kind>manifests|blobs|referrers)/(?P<ref>[^/]+)"
    r"|(?P<tags>tags/list))"
)


class OciError(Exception):
    """An answer in the OCI error format: ``{"errors": [{"code", "message", "detail"}]}``."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None, **headers: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.detail = status, code, message, detail
        self.headers = headers

    def reply(self) -> Reply:
        document = {"errors": [{"code": self.code, "message": self.message, "detail": self.detail}]}
        return json_reply(self.status, document, self.headers)


def challenge(fake: FakeECR) -> dict[str, str]:
    """ECR's Basic challenge (there is no bearer token service)."""
    realm = aws_registry_endpoint(fake.account_id, fake.region) + "/"
    return {"WWW-Authenticate": f'Basic realm="{realm}",service="{SERVICE}"'}


def _unauthorized(fake: FakeECR, message: str) -> OciError:
    return OciError(401, "UNAUTHORIZED", message, None, **challenge(fake))


def _grant_context(fake: FakeECR, authorization: str | None, region: str | None) -> Context:
    """The caller the credential names: its account, region and principal. A token is regional,
    as the GetAuthorizationToken call that issued it: a registry host of another ``region`` is
    refused (inferred: ``proxyEndpoint`` names the region the token was asked in)."""
    scheme, _, credential = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not credential.strip():
        raise _unauthorized(fake, "authentication required")
    grant = token_grant(fake.store, credential.strip(), fake.clock.now())
    if grant is None:
        raise _unauthorized(fake, "Your authorization token is invalid or has expired.")
    if region is not None and region != grant.region:
        raise _unauthorized(
            fake, f"Your authorization token was issued in {grant.region}, not for a registry in {region}."
        )
    return fake.context(grant.account, grant.region, grant.principal or None)


def refuse_before_body(fake: FakeECR, headers: Mapping[str, str], region: str | None = None) -> Reply | None:
    """The 401 a ``/v2/`` request gets from its headers alone, before its body is read (every
    route needs the credential); ``region`` is the one its ``Host`` names. ``headers`` by
    lower-case name. The caller holds the fake's lock."""
    try:
        _grant_context(fake, headers.get("authorization"), region)
    except OciError as err:
        return err.reply()
    return None


def answer(fake: FakeECR, request: Request) -> Reply:
    """Serve one ``/v2/...`` request, in the registry its ``Host`` names (else the caller's own).
    The caller holds the fake's lock."""
    try:
        caller = _grant_context(fake, request.header("Authorization"), request.region)
        return _route(caller, request.account or caller.account, request)
    except OciError as err:
        return err.reply()


def _action(method: str, match: re.Match[str]) -> str:
    """The ECR API action an IAM policy must allow for a registry request (the AWS user guide's
    list of the actions ``docker pull`` and ``docker push`` need)."""
    kind = match.group("kind")
    if kind == "manifests":
        return {"PUT": "PutImage", "DELETE": "BatchDeleteImage"}.get(method, "BatchGetImage")
    if kind == "blobs":
        return "BatchCheckLayerAvailability" if method == "HEAD" else "GetDownloadUrlForLayer"
    if kind == "referrers":
        return "ListImageReferrers"
    if match.group("tags"):
        return "ListImages"
    return {"POST": "InitiateLayerUpload", "PUT": "CompleteLayerUpload"}.get(method, "UploadLayerPart")


def _in_registry(caller: Context, account: str, operation: str, name: str) -> Context:
    """The context to act in the registry of ``account`` as ``caller``, once the repository's
    policy allows it (any caller in its own account unless a policy denies it: service/access.py)."""
    params = {"registryId": account} if name == "*" else {"registryId": account, "repositoryName": name}
    try:
        access.check(caller, operation, params)
    except ECRError as err:
        raise _ecr_error(err) from None
    return caller if account == caller.account else replace(caller, account=account)


def _route(caller: Context, account: str, request: Request) -> Reply:
    method, path = request.method, request.path
    if path in ("/v2", "/v2/"):
        return _only(method, ("GET", "HEAD")) or json_reply(200, {})
    if path == "/v2/_catalog":
        return _only(method, ("GET",)) or _catalog(
            _in_registry(caller, account, "DescribeRepositories", "*"), request
        )
    match = _ROUTE_RE.fullmatch(path)
    if match is None:
        raise OciError(404, "NAME_UNKNOWN", "unknown route", {"path": path})
    name, kind, ref = match.group("name"), match.group("kind"), match.group("ref")
    if not (2 <= len(name) <= 256 and _NAME_RE.fullmatch(name)):
        raise OciError(400, "NAME_INVALID", "invalid repository name", {"name": name})
    ctx = _in_registry(caller, account, _action(method, match), name)
    reg = ctx.registry()
    if name not in reg.repositories:
        # Repositories ECR creates on the way: the first pull through a pull-through cache rule
        # (BatchGetImage, below, fetches for a repository that exists), or a push that a
        # CREATE_ON_PUSH template covers.
        if kind == "manifests" and method in ("GET", "HEAD"):
            pull_through(ctx, name, None, [_image_id(ref)])
        elif (
            method in ("POST", "PUT", "PATCH") and matching_template(reg, name, "CREATE_ON_PUSH") is not None
        ):
            create_repository_for(ctx, name, "CREATE_ON_PUSH")
    repo = _repository(ctx, name)
    if kind == "manifests":
        return _manifests(ctx, repo, ref, request)
    if kind == "blobs":
        return _blobs(ctx, repo, ref, request)
    if kind == "referrers":
        return _only(method, ("GET",)) or _referrers(ctx, repo, ref, request)
    if match.group("tags"):
        return _only(method, ("GET",)) or _tags(repo, request)
    return _uploads(ctx, repo, match.group("upload") or "", request)


def _only(method: str, allowed: tuple[str, ...]) -> Reply | None:
    if method in allowed:
        return None
    raise OciError(
        405, "UNSUPPORTED", f"method {method} is not supported here", None, Allow=", ".join(allowed)
    )


def _repository(ctx: Context, name: str) -> Repository:
    try:
        return ctx.repository(name)
    except RepositoryNotFoundException as err:
        raise OciError(404, "NAME_UNKNOWN", err.message, {"name": name}) from None


def _ecr_error(err: ECRError) -> OciError:
    """The OCI answer to an ECR error raised by a service function."""
    if isinstance(err, ImageDigestDoesNotMatchException):
        return OciError(400, "DIGEST_INVALID", err.message)
    if isinstance(err, ImageTagAlreadyExistsException):
        return OciError(400, "TAG_INVALID", err.message)
    if isinstance(err, (LayersNotFoundException, ReferencedImagesNotFoundException)):
        return OciError(400, "MANIFEST_BLOB_UNKNOWN", err.message)
    if isinstance(err, InvalidParameterException):
        if "'imageTag'" in err.message:
            return OciError(400, "TAG_INVALID", err.message)
        if "'imageDigest'" in err.message:
            return OciError(400, "DIGEST_INVALID", err.message)
        # What ECR answers for a manifest it cannot read (spec: registry endpoint, manifest types).
        return OciError(405, "UNSUPPORTED", err.message)
    if isinstance(err, UploadNotFoundException):
        return OciError(404, "BLOB_UPLOAD_UNKNOWN", err.message)
    return OciError(403, "DENIED", err.message, {"ecrError": err.code})


# -- pagination -----------------------------------------------------------------------------------


def _paged(request: Request, items: list[str]) -> tuple[list[str], dict[str, str]]:
    """``n``/``last`` pagination over sorted ``items``, with the ``Link`` header of the next page."""
    raw_n = request.param("n")
    if raw_n is None or raw_n == "":
        n = DEFAULT_PAGE
    elif not _PAGE_NUMBER.fullmatch(raw_n) or int(raw_n) > _LARGEST_NUMBER:
        # ASCII digits only (str.isdigit also takes superscripts and Arabic-Indic digits); past the 32-bit
        # maxResults it maps to is not a number of results either
        raise OciError(400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested")
    else:
        n = int(raw_n)
    if n > MAX_PAGE:
        raise OciError(
            400,
            "PAGINATION_NUMBER_INVALID",
            f"1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {MAX_PAGE}",
        )
    last = request.param("last")
    start = [i for i, item in enumerate(items) if last is None or item > last]
    selected = items[start[0] : start[0] + n] if start else []
    headers: dict[str, str] = {}
    if selected and start and start[0] + n < len(items):
        query = urlencode({"n": n, "last": selected[-1]}, quote_via=quote)
        headers["Link"] = f'<{request.path}?{query}>; rel="next"'
    return selected, headers


def _catalog(ctx: Context, request: Request) -> Reply:
    names, headers = _paged(request, sorted(ctx.registry().repositories))
    return json_reply(200, {"repositories": names}, headers)


def _tags(repo: Repository, request: Request) -> Reply:
    tags, headers = _paged(request, sorted(repo.tag_index))
    return json_reply(200, {"name": repo.name, "tags": tags}, headers)


# -- manifests ------------------------------------------------------------------------------------


def _image_id(reference: str) -> dict[str, str]:
    if ":" in reference:
        if not manifests.DIGEST_RE.fullmatch(reference):
            raise OciError(400, "DIGEST_INVALID", "invalid digest", {"digest": reference})
        return {"imageDigest": reference}
    if not manifests.TAG_RE.fullmatch(reference) or len(reference) > 300:
        raise OciError(400, "TAG_INVALID", "invalid tag", {"tag": reference})
    return {"imageTag": reference}


def _accepted(request: Request) -> list[str] | None:
    """The manifest types an ``Accept`` header allows; None when it allows anything."""
    types = [
        part.split(";")[0].strip() for part in (request.header("Accept") or "").split(",") if part.strip()
    ]
    return None if not types or "*/*" in types else types


def _manifests(ctx: Context, repo: Repository, reference: str, request: Request) -> Reply:
    method = request.method
    image_id = _image_id(reference)
    if method in ("GET", "HEAD"):
        # A pull by digest is never negotiated; by tag, BatchGetImage converts to an accepted type
        # and names the digest of what it answers (service/conversion.py).
        accepted = _accepted(request) if "imageTag" in image_id else None
        found = images.batch_get_image(
            ctx, repositoryName=repo.name, imageIds=[image_id], acceptedMediaTypes=accepted
        )
        if not found["images"]:
            failure = found["failures"][0]
            status = 404 if failure["failureCode"] == "ImageNotFound" else 403
            code = "MANIFEST_UNKNOWN" if status == 404 else "DENIED"
            raise OciError(status, code, failure["failureReason"], {"reference": reference})
        image = found["images"][0]
        text = image["imageManifest"].encode("utf-8")
        headers = {
            "Content-Type": image["imageManifestMediaType"],
            "Docker-Content-Digest": image["imageId"]["imageDigest"],
        }
        return Reply(200, headers, b"" if method == "HEAD" else text, head_length=len(text))
    if method == "PUT":
        return _put_manifest(ctx, repo, image_id, request)
    if method == "DELETE":
        deleted = images.batch_delete_image(ctx, repositoryName=repo.name, imageIds=[image_id])
        if deleted["failures"]:
            failure = deleted["failures"][0]
            if failure["failureCode"] == "ImageNotFound":
                raise OciError(404, "MANIFEST_UNKNOWN", failure["failureReason"], {"reference": reference})
            raise OciError(403, "DENIED", failure["failureReason"], {"reference": reference})
        return Reply(202)
    raise OciError(405, "UNSUPPORTED", f"method {method} is not supported here")


def _put_manifest(ctx: Context, repo: Repository, image_id: dict[str, str], request: Request) -> Reply:
    if request.size > MAX_MANIFEST_BYTES:
        raise OciError(400, "SIZE_INVALID", f"manifest size exceeds the limit of {MAX_MANIFEST_BYTES} bytes")
    try:
        text = request.content().decode("utf-8")
    except UnicodeDecodeError:
        raise OciError(400, "MANIFEST_INVALID", "the manifest is not UTF-8 JSON") from None
    content_type = (request.header("Content-Type") or "").split(";")[0].strip()
    media_type = content_type if content_type in manifests.SUPPORTED else None
    digest = manifests.digest_of(text)
    try:
        images.put_image(
            ctx,
            repositoryName=repo.name,
            imageManifest=text,
            imageManifestMediaType=media_type,
            imageTag=image_id.get("imageTag"),
            imageDigest=image_id.get("imageDigest"),
        )
    except ImageAlreadyExistsException:
        pass  # pushing what is already there succeeds, as for every registry client
    except ECRError as err:
        raise _ecr_error(err) from None
    headers = {
        "Location": f"/v2/{repo.name}/manifests/{digest}",
        "Docker-Content-Digest": digest,
    }
    subject = repo.images[digest].subject_digest
    if subject is not None:
        headers["OCI-Subject"] = subject
    return Reply(201, headers)


# -- referrers ------------------------------------------------------------------------------------


def _referrers(ctx: Context, repo: Repository, digest: str, request: Request) -> Reply:
    if not manifests.DIGEST_RE.fullmatch(digest):
        raise OciError(400, "DIGEST_INVALID", "invalid digest", {"digest": digest})
    artifact_type = request.param("artifactType")
    filters = {"artifactTypes": [artifact_type]} if artifact_type else None
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        answer = referrers.list_image_referrers(
            ctx, repositoryName=repo.name, subjectId={"imageDigest": digest}, filter=filters, nextToken=token
        )
        found.extend(answer["referrers"])
        token = answer["nextToken"]
        if token is None:
            break
    descriptors = [
        {
            key: value
            for key, value in (
                ("mediaType", item["mediaType"]),
                ("digest", item["digest"]),
                ("size", item["size"]),
                ("artifactType", item["artifactType"]),
                ("annotations", item["annotations"]),
            )
            if value is not None
        }
        for item in found
    ]
    headers = {"Content-Type": manifests.OCI_INDEX}
    if artifact_type:
        headers["OCI-Filters-Applied"] = "artifactType"
    body = {"schemaVersion": 2, "mediaType": manifests.OCI_INDEX, "manifests": descriptors}
    return Reply(200, headers, json.dumps(body).encode())


# -- blobs ----------------------------------------------------------------------------------------


def _check_digest(digest: str | None) -> str:
    if digest is None or not manifests.DIGEST_RE.fullmatch(digest):
        raise OciError(400, "DIGEST_INVALID", "invalid digest", {"digest": digest})
    return digest


def _blobs(ctx: Context, repo: Repository, digest: str, request: Request) -> Reply:
    _check_digest(digest)
    if request.method not in ("GET", "HEAD"):
        raise OciError(405, "UNSUPPORTED", "ECR does not delete blobs through the registry API")
    blob = repo.blobs.get(digest)
    if blob is None:
        raise OciError(404, "BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
    headers = {"Docker-Content-Digest": digest}
    if request.method == "HEAD":
        return Reply(200, {**headers, "Content-Type": "application/octet-stream"}, head_length=blob.size)
    url = layers.download_url(repo, digest, ctx.clock.now())
    return Reply(307, {**headers, "Location": blob_location(url, request.blob_host, request.scheme)})


def blob_location(s3_url: str, blob_host: str, scheme: str = "http") -> str:
    """Where the server serves a GetDownloadUrlForLayer URL: the S3 host becomes the first path
    segment on the blob host (``http://localhost:PORT/<s3 host>/<key>?<signed query>``)."""
    parts = urlsplit(s3_url)
    return f"{scheme}://{blob_host}/{parts.hostname}{parts.path}?{parts.query}"


# -- uploads --------------------------------------------------------------------------------------


@dataclass
class _Session:
    upload_id: str
    size: int


def _upload_headers(repo: Repository, session: _Session) -> dict[str, str]:
    return {
        "Location": f"/v2/{repo.name}/blobs/uploads/{session.upload_id}",
        "Docker-Upload-UUID": session.upload_id,
        # OCI: the inclusive range received so far ("0-0" before the first byte, as distribution)
        "Range": f"0-{max(session.size - 1, 0)}",
    }


def _session(repo: Repository, upload_id: str) -> _Session:
    upload = repo.uploads.get(upload_id)
    if upload is None:
        raise OciError(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id})
    return _Session(upload_id, upload.size)


def _append(ctx: Context, repo: Repository, upload_id: str, request: Request) -> _Session:
    session = _session(repo, upload_id)
    size = request.size
    content_range = request.header("Content-Range")
    first = session.size
    if content_range:
        match = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)", content_range.strip())
        if match is None:
            raise OciError(
                416, "RANGE_INVALID", "invalid content range", None, **_upload_headers(repo, session)
            )
        first = int(match.group(1))
        if int(match.group(2)) - first + 1 != size and size:
            raise OciError(400, "SIZE_INVALID", "the Content-Range does not match the body's length")
    if not size:
        if first != session.size:
            raise OciError(416, "RANGE_INVALID", "out-of-order chunk", None, **_upload_headers(repo, session))
        return session
    # Read from the spool only now, once: the part the upload keeps is this one bytes object.
    data = request.content()
    try:
        layers.upload_layer_part(
            ctx,
            repositoryName=repo.name,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=first + len(data) - 1,
            layerPartBlob=data,
        )
    except InvalidLayerPartException as err:
        raise OciError(416, "RANGE_INVALID", err.message, None, **_upload_headers(repo, session)) from None
    except ECRError as err:
        raise OciError(400, "SIZE_INVALID", err.message) from None
    return _session(repo, upload_id)


def _finish(repo: Repository, upload_id: str, digest: str) -> Reply:
    """Close an upload: the blob is stored only if its bytes hash to ``digest``."""
    upload = repo.uploads.pop(upload_id)
    actual = "sha256:" + upload.sha256.hexdigest()
    if digest != actual:
        raise OciError(
            400, "DIGEST_INVALID", "provided digest did not match uploaded content", {"digest": digest}
        )
    if actual not in repo.blobs:
        repo.blobs[actual] = Blob(actual, upload.size, None, b"".join(upload.parts))
    return Reply(201, {"Location": f"/v2/{repo.name}/blobs/{actual}", "Docker-Content-Digest": actual})


def _mount(ctx: Context, repo: Repository, request: Request) -> Reply | None:
    """A cross-repository mount, when BLOB_MOUNTING is ENABLED and the source has the blob; None
    means "fall back to a normal upload session", which is what ECR does otherwise."""
    digest, source = request.param("mount"), request.param("from")
    if digest is None or not source or setting(ctx, "BLOB_MOUNTING") != "ENABLED":
        return None
    other = ctx.registry().repositories.get(source)
    blob = other.blobs.get(digest) if other is not None else None
    if blob is None:
        return None
    repo.blobs.setdefault(digest, blob)
    return Reply(201, {"Location": f"/v2/{repo.name}/blobs/{digest}", "Docker-Content-Digest": digest})


def _uploads(ctx: Context, repo: Repository, upload_id: str, request: Request) -> Reply:
    method = request.method
    if not upload_id:
        if method != "POST":
            raise OciError(405, "UNSUPPORTED", f"method {method} is not supported here")
        mounted = _mount(ctx, repo, request)
        if mounted is not None:
            return mounted
        digest = request.param("digest")
        if digest is not None:
            _check_digest(digest)
        new_id = layers.initiate_layer_upload(ctx, repositoryName=repo.name)["uploadId"]
        if digest is not None:  # monolithic upload in a single POST
            _append(ctx, repo, new_id, request)
            return _finish(repo, new_id, digest)
        return Reply(202, _upload_headers(repo, _Session(new_id, 0)))
    if method == "GET":
        return Reply(204, _upload_headers(repo, _session(repo, upload_id)))
    if method == "PATCH":
        return Reply(202, _upload_headers(repo, _append(ctx, repo, upload_id, request)))
    if method == "PUT":
        digest = _check_digest(request.param("digest"))
        _append(ctx, repo, upload_id, request)
        return _finish(repo, upload_id, digest)
    if method == "DELETE":
        _session(repo, upload_id)
        del repo.uploads[upload_id]
        return Reply(204)
    raise OciError(405, "UNSUPPORTED", f"method {method} is not supported here")

"""The "pre-signed S3" blob host: where ``GET /v2/<name>/blobs/<digest>`` redirects.

It lives on another host name than the registry (``localhost`` when the registry is
``127.0.0.1``), as S3 does, so that clients drop the registry credentials on the redirect; and it
rejects a request that carries an ``Authorization`` header with S3's 400, as S3 does.
The path is the S3 URL's host followed by its key, so :func:`layers.resolve_download_url` (the
check GetDownloadUrlForLayer URLs get) decides which blob it is, and whether the URL expired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import synthetic
from ..service.layers import resolve_download_url
from .messages import Reply, Request

if TYPE_CHECKING:
    from ..fake import FakeECR

_ONE_AUTH = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
    "string parameter or the Authorization header should be specified"
)


def _s3_error(status: int, code: str, message: str, extra: str = "") -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{extra}</Error>"
    ).encode()
    return Reply(status, {"Content-Type": "application/xml"}, body)


def is_blob_path(path: str) -> bool:
    return path.startswith("/prod-") and "-starport-layer-bucket.s3." in path.split("/", 2)[1]


def answer(fake: FakeECR, request: Request) -> Reply:
    """Serve one blob download. The caller holds the fake's lock."""
    if request.method not in ("GET", "HEAD"):
        return _s3_error(
            405, "MethodNotAllowed", "The specified method is not allowed against this resource."
        )
    if request.header("Authorization") is not None:
        return _s3_error(
            400,
            "InvalidArgument",
            _ONE_AUTH,
            "<ArgumentName>Authorization</ArgumentName><ArgumentValue>null</ArgumentValue>",
        )
    host, _, key = request.path[1:].partition("/")
    blob = resolve_download_url(fake.store, f"https://{host}/{key}?{request.query}", fake.clock.now())
    if blob is None:
        return _s3_error(403, "AccessDenied", "Access Denied")
    content = blob.content if blob.content is not None else synthetic.filler(blob.size)
    headers = {"Content-Type": "application/octet-stream", "ETag": f'"{blob.digest[7:39]}"'}
    if request.method == "HEAD":
        return Reply(200, headers, head_length=len(content))
    return Reply(200, headers, content)

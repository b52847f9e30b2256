"""The "pre-signed S3" blob host: where ``GET /v2/<name>/blobs/<digest>`` redirects.

It lives on another host name than the registry (``localhost`` when the registry is
``127.0.0.1``), as S3 does, so that clients drop the registry credentials on the redirect; and it
rejects a request that carries an ``Authorization`` header with S3's 400, as S3 does.
It honours a single ``Range``, as S3 does for a presigned GET (clients resume layer downloads with
it). The path is the S3 URL's host followed by its key, so :func:`layers.resolve_download_url` (the
check GetDownloadUrlForLayer URLs get) decides which blob it is, and whether the URL expired.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .. import synthetic
from ..service.layers import resolve_download_url
from .messages import Reply, Request

if TYPE_CHECKING:
    from ..fake import FakeECR

_ONE_AUTH = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
    "string parameter or the Authorization header should be specified"
)

#: the one form of ``Range`` S3 serves: a single byte range. [0-9], not \d, which takes any Unicode
#: digit; the range unit is case-insensitive (RFC 9110).
_RANGE_RE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)
#: past this many digits a position lies beyond any blob (and int() refuses over 4,300 digits)
_MAX_DIGITS = 18


class RangeNotSatisfiable(Exception):
    """A ``Range`` no byte of the blob satisfies: S3's 416 ``InvalidRange``."""


def _s3_error(status: int, code: str, message: str, extra: str = "") -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{extra}</Error>"
    ).encode()
    return Reply(status, {"Content-Type": "application/xml"}, body)


def is_blob_path(path: str) -> bool:
    return path.startswith("/prod-") and "-starport-layer-bucket.s3." in path.split("/", 2)[1]


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) a ``Range`` header selects from ``size`` bytes, or None
    to serve them all; raises :class:`RangeNotSatisfiable` where S3 answers 416.

    S3 ignores a ``Range`` it does not serve and answers 200 with the whole object: a malformed
    one (RFC 9110 lets a server ignore it), an inverted ``bytes=5-1`` (even past the end), and
    several ranges (S3 serves one range per GET; observed to answer 200, not 416 or multipart).
    An end past the last byte, or a suffix longer than the object, is clamped (RFC 9110, as S3).
    """
    match = _RANGE_RE.fullmatch((header or "").strip())
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text:
        if not last_text:
            return None  # "bytes=-" names no range: malformed
        suffix = _position(last_text)
        # "-0" selects nothing; an empty blob has no byte range a 206 could name
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - suffix, 0), size - 1
    first = _position(first_text)
    last = _position(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # checked before the size: S3 answers bytes=15-1 of 12 bytes with all 12
    if first >= size:
        raise RangeNotSatisfiable
    return first, min(last, size - 1)


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
    header = request.header("Range")
    try:
        selected = requested_range(header, blob.size)
    except RangeNotSatisfiable:
        # S3's 416 names the range and the size; HEAD gets the same status and headers, no body.
        reply = _s3_error(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
            f"<RangeRequested>{escape(header or '')}</RangeRequested>"
            f"<ActualObjectSize>{blob.size}</ActualObjectSize>",
        )
        reply.headers.update({"Accept-Ranges": "bytes", "Content-Range": f"bytes */{blob.size}"})
        return reply
    headers = {
        "Content-Type": "application/octet-stream",
        "ETag": f'"{blob.digest[7:39]}"',
        "Accept-Ranges": "bytes",
    }
    status, (first, last) = 200, (0, blob.size - 1)
    if selected is not None:
        status, (first, last) = 206, selected
        headers["Content-Range"] = f"bytes {first}-{last}/{blob.size}"
    if request.method == "HEAD":
        return Reply(status, headers, head_length=last - first + 1)
    content = blob.content if blob.content is not None else synthetic.filler(blob.size)
    # A view, not a copy: a resumed download of a large layer sends only its tail.
    return Reply(status, headers, memoryview(content)[first : last + 1])

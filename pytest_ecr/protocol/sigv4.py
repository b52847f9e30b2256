"""Signature Version 4 on the ECR JSON API: what AWS's front end refuses before ECR sees a request.

Two stages, as the server reads a request (the in-process transport applies the first: botocore
signed its request itself):

* :func:`refuse_header` needs only the headers: an ``Authorization`` header is present, has
  SigV4's structure, and its credential scope names service ``ecr`` and a valid region on the
  date of ``X-Amz-Date``;
* :func:`refuse_signature` needs the body too: it recomputes the signature for an access key whose
  secret the fake knows (the keys it issues to its own clients) and compares.

Limits: a key the fake did not issue is accepted unverified (the fake never saw its secret), and
the request time is not compared with the fake's clock (AWS refuses a request signed more than 15
minutes away from its own time, ``Signature expired``), since that clock is virtual: a test that
advances it by a day must not see its real-time clients refused.

The codes, statuses and wordings are those of AWS JSON-protocol services, from recorded answers:
see each message's comment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import parse_qsl, quote

from .dispatch import CONTENT_TYPE


class Headers(Protocol):
    """Request headers by name (lower-case, or a case-insensitive lookup)."""

    def get(self, name: str, /) -> str | None: ...


ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "ecr"
_TERMINATOR = "aws4_request"
_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")


@dataclass(frozen=True)
class Refusal:
    """What AWS answers instead of the service: an HTTP status and a JSON error."""

    status: int
    code: str
    message: str

    @property
    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()

    def headers(self) -> dict[str, str]:
        return {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())}


@dataclass(frozen=True)
class Signed:
    """The parts of a well-formed SigV4 ``Authorization`` header."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str
    #: the request time, ``YYYYMMDDTHHMMSSZ``
    timestamp: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


# n8n-io/n8n#20023 (Comprehend Medical, a JSON 1.1 service, unsigned):
# {"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"};
# status 403 as the AWS API references' Common Errors list MissingAuthenticationToken.
MISSING = Refusal(403, "MissingAuthenticationTokenException", "Missing Authentication Token")


def _incomplete(message: str) -> Refusal:
    # IncompleteSignature is 400 (Common Errors); the JSON services' code carries "Exception"
    # (iann0036/cloud9-sync#10: statusCode 400, "__type":"IncompleteSignatureException").
    return Refusal(400, "IncompleteSignatureException", message)


def _invalid(message: str) -> Refusal:
    # aws/aws-sdk-ruby#431 (EMR, JSON 1.1): 400 {"__type":"InvalidSignatureException", ...}
    return Refusal(400, "InvalidSignatureException", message)


#: an access key id AWS does not know: 400 "UnrecognizedClientException" (optoolco/beta#18, an
#: SDK's recorded error with statusCode 400). The fake answers it for a key of its own form
#: (``AKIAPYTESTECR...``) that it never issued.
UNRECOGNIZED = Refusal(
    400, "UnrecognizedClientException", "The security token included in the request is invalid."
)

#: the first sentences of AWS's answer to a wrong signature (grafana/k6-jslib-aws#109)
MISMATCH = _invalid(
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)


def _timestamp(headers: Headers) -> str | None:
    """The request time from ``X-Amz-Date`` (or an HTTP ``Date``), ``YYYYMMDDTHHMMSSZ``."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        return amz_date.strip()
    http_date = headers.get("date")
    if http_date is None:
        return None
    try:
        return parsedate_to_datetime(http_date).strftime("%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError, IndexError):
        return ""


def parse(authorization: str, headers: Headers) -> Signed | Refusal:
    """The parts of an ``Authorization`` header, or what AWS answers a malformed one."""
    scheme, _, rest = authorization.strip().partition(" ")
    fields: dict[str, str] = {}
    if scheme == ALGORITHM:
        # parts are separated by commas and/or white space (a space inside a value splits it)
        for part in (p for p in re.split(r"[\s,]+", rest) if p):
            name, equals, value = part.partition("=")
            if not equals:
                # cloud9-sync#10, aws-sdk-go#289: the part and the whole header, quoted
                return _incomplete(
                    f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization "
                    f"header: '{authorization}'."
                )
            fields[name] = value
    timestamp = _timestamp(headers)
    # aws/chalice#828, brendanhay/amazonka#316, aws/aws-sdk-ruby#317: every missing part named,
    # then the header as given (also for another scheme, e.g. "AWS AKIA...:..." or a bearer token)
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if timestamp is None:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        return _incomplete(" ".join(missing) + f" Authorization={authorization}")
    credential = fields["Credential"]
    elements = credential.split("/")
    if len(elements) != 5:
        # mhart/aws4#97
        return _incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential}'"
        )
    access_key, date, region, service, terminator = elements
    assert timestamp is not None
    return Signed(
        access_key,
        date,
        region,
        service,
        terminator,
        tuple(fields["SignedHeaders"].split(";")),
        fields["Signature"],
        timestamp,
    )


def refuse_header(headers: Headers, valid_region: re.Pattern[str]) -> Signed | Refusal:
    """The signed request's parts, or the refusal AWS answers from the headers alone.

    ``headers`` are keyed by lower-case name; ``valid_region`` is what a region name looks like.
    """
    authorization = headers.get("authorization")
    if authorization is None:
        return MISSING
    signed = parse(authorization, headers)
    if isinstance(signed, Refusal):
        return signed
    if signed.service != SERVICE:
        # aws/aws-sdk-ruby#431, disneystreaming/smithy4s#1568: the trailing space is AWS's
        return _invalid(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if not valid_region.fullmatch(signed.region):
        # aws/aws-sdk-ruby#508, joona/aws-es-curl#15
        return _invalid(f"Credential should be scoped to a valid region, not '{signed.region}'. ")
    if signed.terminator != _TERMINATOR:
        # no recorded answer found: worded as the two scope messages above, for the fifth element
        return _invalid(
            f"Credential should be scoped with a valid terminator: '{_TERMINATOR}', not '{signed.terminator}'. "
        )
    if not _DATE.fullmatch(signed.timestamp) or signed.timestamp[:8] != signed.date:
        # disneystreaming/smithy4s#387 (Kinesis, JSON 1.1)
        return _invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP. "
        )
    if "host" not in signed.signed_headers:
        # SigV4 signs the host always; a signature without it is not one AWS accepts
        return MISMATCH
    return signed


def _canonical_query(query: str) -> str:
    pairs = sorted(
        (quote(name, safe="-_.~"), quote(value, safe="-_.~"))
        for name, value in parse_qsl(query, keep_blank_values=True)
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def _canonical_value(value: str) -> str:
    return " ".join(value.split())


def refuse_signature(
    signed: Signed,
    secret: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Refusal | None:
    """:data:`MISMATCH` unless ``signed`` is the signature of this request under ``secret``,
    computed as AWS's *Create a signed AWS API request* says."""
    unsigned = headers.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    payload = "UNSIGNED-PAYLOAD" if unsigned else hashlib.sha256(body).hexdigest()
    canonical_headers = "".join(
        f"{name}:{_canonical_value(headers.get(name, ''))}\n" for name in signed.signed_headers
    )
    canonical = "\n".join(
        (
            method,
            path or "/",
            _canonical_query(query),
            canonical_headers,
            ";".join(signed.signed_headers),
            payload,
        )
    )
    to_sign = "\n".join(
        (ALGORITHM, signed.timestamp, signed.scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = f"AWS4{secret}".encode()
    for part in (signed.date, signed.region, signed.service, signed.terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    # bytes: compare_digest refuses str with non-ASCII characters, and a client may send them
    given = signed.signature.encode("utf-8", "surrogateescape")
    return None if hmac.compare_digest(expected.encode(), given) else MISMATCH

"""No client input gives a 5xx: the server answers every request line, header, query, body and
chunking a client can send with a 1xx-4xx (or hangs up), and keeps serving.

Raw sockets to the server's port, so nothing a client library would refuse to send is left out.
Bounded examples (hypothesis) keep the file well under a minute. The regressions the issue named
(#16: ``n=%C2%B2``, ``n=`` and 5,000 nines, ``n=%D9%A1`` read as 1, deeply nested JSON as an API
body or a manifest) are checked exactly first.
"""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError
from helpers import OCI_MANIFEST, signed_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer

REPO = "team/app"
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")
#: the error page http.server sends without a status line to a request line it could not read
_PAGE = re.compile(rb"Error code: (\d{3})")


def exchange(server: EcrServer, raw: bytes) -> bytes:
    """Send ``raw``, half-close (a body shorter than announced ends there), read to the end."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may hang up on garbage before reading it all
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in _STATUS.findall(answer) or _PAGE.findall(answer)]


def request(server: EcrServer, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: {server.registry}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode("utf-8", "surrogateescape") + b"Connection: close\r\n\r\n" + body


@pytest.fixture
def basic(ecr: FakeECR, ecr_server: EcrServer) -> str:
    ecr.create_repository(REPO)
    ecr.push_image(REPO, "v1")
    return "Basic " + base64.b64encode(f"AWS:{ecr_server.password}".encode()).decode()


def api_call(server: EcrServer, operation: str, body: bytes) -> tuple[int, Any]:
    answer = exchange(
        server, request(server, "POST", "/", signed_headers(server.registry, operation, body), body)
    )
    head, _, payload = answer.partition(b"\r\n\r\n")
    return statuses(head)[0], json.loads(payload)


def alive(server: EcrServer, basic: str) -> None:
    """The server still answers both APIs, and has met no failure of its own."""
    assert api_call(server, "DescribeRepositories", b"{}")[0] == 200
    assert statuses(exchange(server, request(server, "GET", "/v2/", {"Authorization": basic}))) == [200]
    assert server.errors == []


# -- the regressions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "n", ["%C2%B2", "9" * 5000, "%D9%A1", "%EF%BC%91", "-1", "1e3", "0x10", "2147483648"]
)
def test_a_page_size_that_is_not_ascii_digits_is_refused(ecr_server: EcrServer, basic: str, n: str) -> None:
    for path in (f"/v2/{REPO}/tags/list", "/v2/_catalog"):
        answer = exchange(ecr_server, request(ecr_server, "GET", f"{path}?n={n}", {"Authorization": basic}))
        assert statuses(answer) == [400]
        error = json.loads(answer.partition(b"\r\n\r\n")[2])["errors"][0]
        assert (error["code"], error["message"]) == (
            "PAGINATION_NUMBER_INVALID",
            "invalid number of results requested",
        )
    alive(ecr_server, basic)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_as_an_api_body(ecr_server: EcrServer, basic: str, depth: int) -> None:
    body = b'{"repositoryName": ' + b"[" * depth + b"]" * depth + b"}"
    status, document = api_call(ecr_server, "CreateRepository", body)
    # what ECR answers a body it cannot read (the fake's SerializationException for bad JSON)
    assert (status, document["__type"]) == (400, "SerializationException")
    alive(ecr_server, basic)


@pytest.mark.parametrize("depth", [500, 100_000])
def test_deeply_nested_json_as_a_manifest(ecr_server: EcrServer, basic: str, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    for manifest in (nested, '{"schemaVersion": 2, "annotations": {"a": ' + nested + "}}"):
        answer = exchange(
            ecr_server,
            request(
                ecr_server,
                "PUT",
                f"/v2/{REPO}/manifests/deep",
                {"Authorization": basic, "Content-Type": OCI_MANIFEST},
                manifest.encode(),
            ),
        )
        assert statuses(answer)[0] in (400, 405), answer[:200]
        assert b"MANIFEST_INVALID" in answer or b"UNSUPPORTED" in answer
    alive(ecr_server, basic)


@pytest.mark.parametrize(
    ("line", "status"),
    [(b"GET /v2/ HTTP/2.0", 400), (b"BREW /v2/ HTTP/1.1", 405), (b"BREW / HTTP/1.1", 405)],
)
def test_what_http_server_answered_with_a_5xx(
    ecr_server: EcrServer, basic: str, line: bytes, status: int
) -> None:
    # http.server's own answers: 505 to an HTTP/2 request line, 501 to an unknown method
    assert statuses(exchange(ecr_server, line + b"\r\nHost: 127.0.0.1\r\n\r\n")) == [status]
    alive(ecr_server, basic)


# -- in process: deeply nested JSON in every JSON-valued member -----------------------------------


def _deep(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [400, 900, 100_000])
def test_deeply_nested_json_in_process_never_gives_server_exception(ecr: FakeECR, depth: int) -> None:
    client = ecr.client()
    client.create_repository(repositoryName=REPO)
    deep = _deep(depth)
    statement = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": %s, "Action": "ecr:*"}]}'
    )
    lifecycle = '{"rules": [{"rulePriority": 1, "selection": %s, "action": {"type": "expire"}}]}'
    token = base64.urlsafe_b64encode(deep.encode()).decode()
    calls = [
        lambda: client.put_image(repositoryName=REPO, imageManifest=deep),
        lambda: client.put_image(
            repositoryName=REPO, imageManifest='{"schemaVersion": 2, "layers": ' + deep + "}"
        ),
        lambda: client.set_repository_policy(repositoryName=REPO, policyText=deep),
        lambda: client.set_repository_policy(repositoryName=REPO, policyText=statement % deep),
        lambda: client.put_registry_policy(policyText=statement % deep),
        lambda: client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=deep),
        lambda: client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=lifecycle % deep),
        lambda: client.start_lifecycle_policy_preview(repositoryName=REPO, lifecyclePolicyText=deep),
        lambda: client.list_images(repositoryName=REPO, nextToken=token),
        lambda: client.describe_repositories(nextToken=token),
        lambda: client.create_repository_creation_template(
            prefix="deep", appliedFor=["PULL_THROUGH_CACHE"], repositoryPolicy=deep, lifecyclePolicy=deep
        ),
    ]
    answered = []
    for call in calls:
        try:
            call()
            answered.append(200)
        except ClientError as err:
            answered.append(err.response["ResponseMetadata"]["HTTPStatusCode"])
    assert set(answered) <= {200, 400}, answered
    assert [c.operation for c in ecr.problems()] == []


# -- fuzz ---------------------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30)
_PATHS = st.sampled_from(
    [
        "/",
        "",
        "*",
        "/v2/",
        f"/v2/{REPO}/tags/list",
        "/v2/_catalog",
        f"/v2/{REPO}/manifests/v1",
        f"/v2/{REPO}/manifests/sha256:{'0' * 64}",
        f"/v2/{REPO}/blobs/sha256:{'0' * 64}",
        f"/v2/{REPO}/blobs/uploads/",
        f"/v2/{REPO}/blobs/uploads/x",
        f"/v2/{REPO}/referrers/sha256:{'0' * 64}",
        "/prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/x",
        "http://127.0.0.1/v2/",
        "/%00",
        "/v2/%ZZ",
    ]
)
_QUERY_NAMES = st.sampled_from(["n", "last", "digest", "mount", "from", "artifactType", "X-Amz-Credential"])
_QUERIES = st.dictionaries(
    _QUERY_NAMES,
    st.one_of(_TEXT, st.sampled_from(["%C2%B2", "9" * 5000, "%D9%A1", "%", "%G0", "-1", "0", "1001"])),
    max_size=3,
).map(lambda q: "&".join(f"{k}={v if v.startswith(('%', '9' * 10)) else quote(v)}" for k, v in q.items()))
_HEADER_NAMES = st.sampled_from(
    [
        "Authorization",
        "X-Amz-Target",
        "X-Amz-Date",
        "Content-Type",
        "Content-Range",
        "Accept",
        "Range",
        "Expect",
        "Date",
        "X-Amz-Content-Sha256",
        "Content-Encoding",
    ]
)
_HEADER_VALUES = st.one_of(
    _TEXT,
    st.sampled_from(
        [
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKIAPYTESTECRFAKE000/20260101/us-east-1/ecr/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
            "Basic",
            "Basic !!!",
            "Basic " + base64.b64encode(b"AWS:").decode(),
            "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
            "AmazonEC2ContainerRegistry_V20150921.Nope",
            "bytes=0-",
            "bytes=5-1",
            "0-99999999999999999999",
            "100-continue",
            "Mon, 99 Foo 2026 99:99:99 GMT",
        ]
    ),
)


def _nested(depth: int) -> bytes:
    return b'{"repositoryName": ' + b"[" * depth + b"]" * depth + b"}"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=10,
).map(lambda v: json.dumps(v).encode())
_BODIES = st.one_of(
    st.binary(max_size=100),
    _JSON,
    st.sampled_from([5, 1_000, 50_000]).map(_nested),
    st.just(b'{"repositoryName": "fuzzed"}'),
)


def _chunked(body: bytes, mode: str) -> bytes:
    if mode == "valid":
        return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    return {
        "bad size": b"zz\r\n" + body + b"\r\n0\r\n\r\n",
        "negative": b"-5\r\n" + body,
        "huge": b"ffffffffffffffff\r\n" + body,
        "unterminated": f"{len(body) + 10:x}\r\n".encode() + body,
        "extension": f"{len(body):x};name=value\r\n".encode() + body + b"\r\n0\r\nTrailer: x\r\n\r\n",
    }[mode]


@st.composite
def raw_requests(draw: Any, basic: str, server: EcrServer) -> bytes:
    kind = draw(st.sampled_from(["structured", "signed", "tampered", "garbage"]))
    if kind == "garbage":
        return draw(st.binary(max_size=300)) + draw(st.sampled_from([b"", b"\r\n", b"\r\n\r\n"]))
    body = draw(_BODIES)
    if kind in ("signed", "tampered"):
        # a correctly signed ECR API call with a fuzzed body: it reaches the service
        operation = draw(
            st.sampled_from(["CreateRepository", "ListImages", "PutImage", "Nope", "SetRepositoryPolicy"])
        )
        headers = signed_headers(server.registry, operation, body)
        if kind == "tampered":
            # signed, then one header changed: the signature check meets arbitrary text
            name = draw(st.sampled_from(sorted(headers)))
            value = draw(_HEADER_VALUES)
            if name == "Authorization":
                value = headers[name].rsplit("=", 1)[0] + "=" + value
            headers[name] = value
        return request(server, "POST", "/", headers, body)
    method = draw(
        st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW", "G\x7fT"])
    )
    target = draw(_PATHS)
    query = draw(_QUERIES)
    if query:
        target += "?" + query
    version = draw(
        st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.1 x", "HTTP/x", ""])
    )
    headers = draw(st.dictionaries(_HEADER_NAMES, _HEADER_VALUES, max_size=4))
    if draw(st.booleans()):
        headers["Authorization"] = basic
    framing = draw(st.sampled_from(["length", "short", "long", "bad length", "unicode length", "chunked"]))
    if framing == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        body = _chunked(
            body,
            draw(st.sampled_from(["valid", "bad size", "negative", "huge", "unterminated", "extension"])),
        )
    elif framing != "length":
        headers["Content-Length"] = {
            "short": str(max(len(body) - 3, 0)),
            "long": str(len(body) + 50),
            "bad length": draw(st.sampled_from(["x", "-1", "1e3", "", " 5", "99999999999999999999"])),
            "unicode length": "\u0661",
        }[framing]
    head = f"{method} {target} {version}".rstrip() + f"\r\nHost: {server.registry}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


@pytest.fixture
def fuzz_target(ecr_server: EcrServer, basic: str) -> Iterator[tuple[EcrServer, str]]:
    yield ecr_server, basic
    alive(ecr_server, basic)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
@given(data=st.data())
def test_no_input_gives_a_5xx(fuzz_target: tuple[EcrServer, str], data: st.DataObject) -> None:
    server, basic = fuzz_target
    raw = data.draw(raw_requests(basic, server))
    answer = exchange(server, raw)
    assert all(status < 500 for status in statuses(answer)), answer[:300]
    assert server.errors == []

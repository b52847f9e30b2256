"""Server mode: ``Range`` on the "pre-signed" blob URL, served as S3 serves a presigned GET.

Clients reach the blob URL through the registry's 307 and may send ``Range`` there (containerd
resumes an interrupted layer download with ``bytes=<received>-``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import xml.etree.ElementTree as ET
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest
from helpers import add_blob, sha256
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer
from pytest_ecr.server.messages import Request

REPO = "team/app"
DATA = bytes(range(256)) * 4  # 1024 bytes, each position distinguishable from its neighbours
SIZE = len(DATA)

Answer = tuple[int, dict[str, str], bytes]


def download_url(ecr_server: EcrServer, digest: str, **headers: str) -> str:
    """Where the registry redirects a blob GET (the client's Range goes to the registry too)."""
    token = base64.b64encode(f"AWS:{ecr_server.password}".encode()).decode()
    conn = HTTPConnection(ecr_server.registry, timeout=10)
    try:
        conn.request(
            "GET", f"/v2/{REPO}/blobs/{digest}", headers={"Authorization": f"Basic {token}", **headers}
        )
        answer = conn.getresponse()
        answer.read()
    finally:
        conn.close()
    assert answer.status == 307
    return answer.getheader("Location") or ""


def fetch(url: str, method: str = "GET", **headers: str) -> Answer:
    parts = urlsplit(url)
    conn = HTTPConnection(parts.netloc, timeout=10)
    try:
        conn.request(method, f"{parts.path}?{parts.query}", headers=headers)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


@pytest.fixture
def url(ecr: FakeECR, ecr_server: EcrServer) -> str:
    ecr.create_repository(REPO)
    return download_url(ecr_server, add_blob(ecr, REPO, DATA)["digest"])


def test_without_range_the_whole_blob_and_accept_ranges(url: str) -> None:
    status, headers, body = fetch(url)
    assert (status, body) == (200, DATA)
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-length"] == str(SIZE)
    assert "content-range" not in headers


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=1023-1023", 1023, 1023),  # the last byte alone
        ("bytes=100-", 100, 1023),
        ("bytes=0-", 0, 1023),
        ("bytes=-10", 1014, 1023),  # suffix: the last 10 bytes
        ("bytes=1000-5000", 1000, 1023),  # an end past the last byte is clamped
        ("bytes=-5000", 0, 1023),  # so is a suffix longer than the blob
        ("bytes=0-" + "9" * 5000, 0, 1023),  # however long the number
        ("bytes=000000000000000000000000000005-6", 5, 6),  # leading zeros are just zeros
        ("BYTES=5-5", 5, 5),  # the unit is case-insensitive
    ],
)
def test_a_single_range_is_206_with_exactly_those_bytes(url: str, header: str, first: int, last: int) -> None:
    status, headers, body = fetch(url, Range=header)
    assert status == 206
    assert body == DATA[first : last + 1]
    assert headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert headers["content-length"] == str(last - first + 1)
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "header", ["bytes=1024-", "bytes=1024-2000", "bytes=-0", "bytes=" + "9" * 5000 + "-"]
)
def test_an_unsatisfiable_range_is_416_invalid_range(url: str, header: str) -> None:
    status, headers, body = fetch(url, Range=header)
    assert status == 416
    assert headers["content-range"] == f"bytes */{SIZE}"
    assert headers["content-type"] == "application/xml"
    error = ET.fromstring(body)
    assert error.tag == "Error"
    assert {child.tag: child.text for child in error} == {
        "Code": "InvalidRange",
        "Message": "The requested range is not satisfiable",
        "RangeRequested": header,
        "ActualObjectSize": str(SIZE),
    }


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,4-5",  # several ranges: S3 serves one range per GET and answers 200 to more
        "bytes=5-1",  # inverted
        "bytes=2000-1",  # inverted, even starting past the end
        "bytes=-",
        "bytes=a-b",
        "bytes 0-1",
        "items=0-1",
        "",
    ],
)
def test_a_range_s3_does_not_serve_is_ignored(url: str, header: str) -> None:
    status, headers, body = fetch(url, Range=header)
    assert (status, body) == (200, DATA)
    assert "content-range" not in headers


def test_head_answers_what_get_would_without_the_body(url: str) -> None:
    status, headers, body = fetch(url, "HEAD")
    assert (status, body, headers["content-length"], headers["accept-ranges"]) == (
        200,
        b"",
        str(SIZE),
        "bytes",
    )
    status, headers, body = fetch(url, "HEAD", Range="bytes=-24")
    assert (status, body) == (206, b"")
    assert (headers["content-range"], headers["content-length"]) == (f"bytes 1000-1023/{SIZE}", "24")
    status, headers, body = fetch(url, "HEAD", Range="bytes=4096-")
    assert (status, body, headers["content-range"]) == (416, b"", f"bytes */{SIZE}")


def test_a_resumed_download_is_the_layer(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository(REPO)
    pushed = ecr.push_image(REPO, "v1", size=300_000)  # a synthetic (filler) layer
    [layer] = json.loads(pushed.manifest)["layers"]
    url = download_url(ecr_server, layer["digest"], Range="bytes=0-99")  # the registry still redirects
    half = layer["size"] // 2

    first_status, first_headers, first = fetch(url, Range=f"bytes=0-{half - 1}")
    rest_status, rest_headers, rest = fetch(url, Range=f"bytes={half}-")

    assert (first_status, rest_status) == (206, 206)
    assert first_headers["content-range"] == f"bytes 0-{half - 1}/{layer['size']}"
    assert rest_headers["content-range"] == f"bytes {half}-{layer['size'] - 1}/{layer['size']}"
    whole = first + rest
    assert len(whole) == layer["size"]
    assert "sha256:" + hashlib.sha256(whole).hexdigest() == layer["digest"]


def test_authorization_is_still_refused_with_a_range(url: str) -> None:
    status, _, body = fetch(url, Range="bytes=0-9", Authorization="Basic eA==")
    assert status == 400
    assert b"<Code>InvalidArgument</Code>" in body


def test_an_empty_blob_has_no_satisfiable_range(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository(REPO)
    url = download_url(ecr_server, add_blob(ecr, REPO, b"")["digest"])
    assert fetch(url)[0::2] == (200, b"")
    for header in ("bytes=0-", "bytes=0-0", "bytes=-1"):
        status, headers, _ = fetch(url, Range=header)
        assert (status, headers["content-range"]) == (416, "bytes */0"), header


def _request(url: str, method: str = "GET", **headers: str) -> Request:
    parts = urlsplit(url)
    return Request(method, parts.path, parts.query, {k.lower(): v for k, v in headers.items()}, b"")


def test_a_range_is_a_view_of_the_stored_bytes(ecr: FakeECR, ecr_server: EcrServer, url: str) -> None:
    reply = ecr_server.answer(_request(url, Range="bytes=512-"))
    assert reply.status == 206
    assert isinstance(reply.body, memoryview)
    assert reply.body.obj is ecr.repository(REPO).blobs[sha256(DATA)].content  # not a copy


def test_unicode_digits_are_not_positions(ecr_server: EcrServer, url: str) -> None:
    # "\u0661" is ARABIC-INDIC DIGIT ONE: int() reads it, HTTP does not
    reply = ecr_server.answer(_request(url, Range="bytes=0-\u0661"))
    assert (reply.status, bytes(reply.body)) == (200, DATA)


_HEADERS = st.one_of(
    st.text(st.sampled_from("bytes=-0123456789, "), max_size=24),
    st.builds(
        lambda first, last: f"bytes={first}-{last}",
        st.one_of(st.just(""), st.integers(0, 2 * SIZE).map(str)),
        st.one_of(st.just(""), st.integers(0, 2 * SIZE).map(str)),
    ),
)


def expected_range(header: str, size: int) -> tuple[int, int] | str | None:
    """What docs/server.rst ("Blob ranges") says a ``Range`` of ``size`` bytes gets, computed
    here from that text alone: (first, last) for a 206, "416", or None for the whole blob (200).

    One range ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` (the unit case-insensitive, RFC 9110
    §14.1), its end clamped to the blob; 416 when it starts at or past the end or is ``-0``;
    anything else (several ranges, inverted, malformed) ignored."""
    text = header.strip()
    if not text.lower().startswith("bytes="):
        return None
    first_text, dash, last_text = text[len("bytes=") :].partition("-")
    if not dash or not (first_text + last_text).isascii():
        return None
    if not all(part == "" or part.isdigit() for part in (first_text, last_text)):
        return None  # e.g. a comma: several ranges, or spaces inside
    if first_text == "" and last_text == "":
        return None
    if first_text == "":
        suffix = int(last_text)
        return "416" if suffix == 0 else (max(size - suffix, 0), size - 1)
    first = int(first_text)
    if last_text != "" and int(last_text) < first:
        return None
    if first >= size:
        return "416"
    return first, min(int(last_text), size - 1) if last_text else size - 1


def test_the_range_reference_follows_the_documented_examples() -> None:
    # The examples docs/server.rst names, on 12 bytes as its "bytes=15-1 of 12 bytes" note does.
    assert expected_range("bytes=0-1,4-5", 12) is None
    assert expected_range("bytes=5-1", 12) is None
    assert expected_range("bytes=15-1", 12) is None
    assert expected_range("bytes=-", 12) is None
    assert expected_range("items=0-1", 12) is None
    assert expected_range("bytes=-0", 12) == "416"
    assert expected_range("bytes=12-", 12) == "416"
    assert expected_range("bytes=2-100", 12) == (2, 11)
    assert expected_range("bytes=-100", 12) == (0, 11)
    assert expected_range("bytes=-3", 12) == (9, 11)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(header=_HEADERS, method=st.sampled_from(["GET", "HEAD"]))
def test_any_range_header_gets_a_coherent_answer(
    ecr_server: EcrServer, url: str, header: str, method: str
) -> None:
    reply = ecr_server.answer(_request(url, method, Range=header))
    assert reply.headers["Accept-Ranges"] == "bytes"
    want = expected_range(header, SIZE)
    body = bytes(reply.body)
    if want is None:
        assert (reply.status, "Content-Range" in reply.headers) == (200, False)
        assert body == (DATA if method == "GET" else b"")
    elif want == "416":
        assert (reply.status, reply.headers["Content-Range"]) == (416, f"bytes */{SIZE}")
    else:
        first, last = want
        assert (reply.status, reply.headers["Content-Range"]) == (206, f"bytes {first}-{last}/{SIZE}")
        if method == "GET":
            assert body == DATA[first : last + 1]
        else:
            assert (body, reply.head_length) == (b"", last - first + 1)

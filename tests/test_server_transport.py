"""Server mode's transport (issue #16): no Nagle stall on keep-alive connections, bodies refused
before they are read and never buffered, uploads spooled, logs bounded and free of blob bytes.

Memory is measured on a ``pytest-ecr serve`` subprocess through /proc/PID/status (VmRSS, VmHWM),
after a warm-up; the bounds are the issue's.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import serve_in_thread, sha256, signed_headers

from pytest_ecr import FakeECR
from pytest_ecr.calls import LoggedBytes
from pytest_ecr.server import EcrServer, LoggedRequest, bodies
from pytest_ecr.server import http as server_http
from pytest_ecr.server.bodies import BadBody, Body, IncompleteBody
from pytest_ecr.server.messages import Reply

MIB = 1024 * 1024
REPO = "team/app"
TARGET = "AmazonEC2ContainerRegistry_V20150921."
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")


def basic(server: EcrServer) -> str:
    return "Basic " + base64.b64encode(f"AWS:{server.password}".encode()).decode()


def exchange(sock: socket.socket, data: bytes) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    sock.sendall(data)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


# -- item 1: no Nagle stall ------------------------------------------------------------------------


@dataclass
class Accepted:
    nodelay: list[int]
    writes: list[int]


@pytest.fixture
def accepted(monkeypatch: pytest.MonkeyPatch) -> Accepted:
    """What the server's handler sees of each accepted socket: TCP_NODELAY, and the number of
    socket writes of each reply."""
    seen = Accepted([], [])
    setup = server_http._Handler.setup

    class Counting:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def write(self, data: bytes) -> int:
            seen.writes.append(len(data))
            return int(self.inner.write(data))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    def recording(handler: Any) -> None:
        setup(handler)
        seen.nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        handler.wfile = Counting(handler.wfile)

    monkeypatch.setattr(server_http._Handler, "setup", recording)
    return seen


def test_keep_alive_replies_leave_without_nagle(
    ecr: FakeECR, ecr_server: EcrServer, accepted: Accepted
) -> None:
    # Nagle's algorithm holds a reply's second write until the client ACKs the first, which a
    # client delays by up to 40 ms: TCP_NODELAY is set, and a small reply is one write.
    ecr.create_repository(REPO)
    ecr.push_image(REPO, "v1")
    conn = http.client.HTTPConnection(ecr_server.registry, timeout=10)
    api = signed_headers(ecr_server.registry, "DescribeRepositories")
    for _ in range(3):
        conn.request("POST", "/", body=b"{}", headers=api)
        answer = conn.getresponse()
        assert (answer.status, json.loads(answer.read())["repositories"][0]["repositoryName"]) == (200, REPO)
        conn.request("GET", f"/v2/{REPO}/manifests/v1", headers={"Authorization": basic(ecr_server)})
        answer = conn.getresponse()
        assert (answer.status, len(answer.read()) > 0) == (200, True)
    conn.close()
    assert len(accepted.nodelay) == 1  # one keep-alive connection
    assert accepted.nodelay[0] != 0
    assert len(accepted.writes) == 6  # one write per reply, headers and body together


def test_a_large_reply_still_arrives_whole(ecr: FakeECR, ecr_server: EcrServer) -> None:
    data = bytes(range(256)) * (4 * 1024)  # 1 MiB: headers and body in two writes
    ecr.create_repository(REPO)
    conn = http.client.HTTPConnection(ecr_server.registry, timeout=10)
    auth = {"Authorization": basic(ecr_server)}
    conn.request("POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(data)}", body=data, headers=auth)
    assert conn.getresponse().read() == b""
    conn.request("GET", f"/v2/{REPO}/blobs/{sha256(data)}", headers=auth)
    answer = conn.getresponse()
    answer.read()
    location = urlsplit_location(answer.getheader("Location") or "")
    blob = http.client.HTTPConnection(ecr_server.blob_host, timeout=10)
    blob.request("GET", location)
    assert blob.getresponse().read() == data
    blob.close()
    conn.close()


def urlsplit_location(location: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


# -- item 3: refused before the body is read -------------------------------------------------------


def test_an_unauthenticated_body_is_dropped_and_the_connection_kept(
    ecr: FakeECR, ecr_server: EcrServer
) -> None:
    ecr.create_repository(REPO)
    upload = ecr.client().initiate_layer_upload(repositoryName=REPO)["uploadId"]
    conn = http.client.HTTPConnection(ecr_server.registry, timeout=10)
    conn.request("PATCH", f"/v2/{REPO}/blobs/uploads/{upload}", body=b"x" * (3 * MIB))
    answer = conn.getresponse()
    assert (answer.status, json.loads(answer.read())["errors"][0]["code"]) == (401, "UNAUTHORIZED")
    # the body was read off the connection, which carries the next request
    conn.request("GET", "/v2/", headers={"Authorization": basic(ecr_server)})
    answer = conn.getresponse()
    assert (answer.status, answer.read()) == (200, b"{}")
    conn.close()
    assert ecr.repository(REPO).uploads[upload].size == 0
    assert [(e.method, e.status) for e in ecr_server.log] == [("PATCH", 401), ("GET", 200)]


def test_a_client_waiting_for_100_continue_never_sends_a_refused_body(ecr_server: EcrServer) -> None:
    # RFC 9110 section 10.1.1: a server may answer with the final status instead of 100 Continue.
    with socket.create_connection(("127.0.0.1", ecr_server.port), timeout=10) as sock:
        answer = exchange(
            sock,
            f"PATCH /v2/{REPO}/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nContent-Length: {64 * MIB}\r\n"
            "Expect: 100-continue\r\n\r\n".encode(),
        )
    head = answer.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("HTTP/1.1 401 "), head
    assert "Connection: close" in head.split("\r\n")


def test_an_authenticated_client_gets_100_continue(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository(REPO)
    data = b"layer bytes"
    with socket.create_connection(("127.0.0.1", ecr_server.port), timeout=10) as sock:
        sock.sendall(
            f"POST /v2/{REPO}/blobs/uploads/?digest={sha256(data)} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {basic(ecr_server)}\r\nContent-Length: {len(data)}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        answer = exchange(sock, data + b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:100]
    assert ecr.repository(REPO).blobs[sha256(data)].content == data


def test_api_requests_are_refused_from_their_headers(
    ecr: FakeECR, ecr_server: EcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ECR API's header checks (api.refuse_before_body) run before the body is read: a refusal
    # reaches neither the fake nor the call log, and the body does not stay in the connection.
    from pytest_ecr.server import api

    seen: list[str | None] = []

    def refuse(fake: FakeECR, headers: Any) -> Reply | None:
        seen.append(headers.get("x-amz-target"))
        return Reply(403, {"Content-Type": "application/x-amz-json-1.1"}, b'{"__type": "Refused"}')

    monkeypatch.setattr(api, "refuse_before_body", refuse)
    conn = http.client.HTTPConnection(ecr_server.registry, timeout=10)
    target = {"X-Amz-Target": TARGET + "CreateRepository"}
    conn.request("POST", "/", body=json.dumps({"repositoryName": "a" * 100}).encode() * 1000, headers=target)
    answer = conn.getresponse()
    assert (answer.status, answer.read()) == (403, b'{"__type": "Refused"}')
    monkeypatch.undo()
    create = json.dumps({"repositoryName": "app"}).encode()
    conn.request(
        "POST", "/", body=create, headers=signed_headers(ecr_server.registry, "CreateRepository", create)
    )
    assert conn.getresponse().status == 200
    conn.close()
    assert seen == [TARGET + "CreateRepository"]
    assert [c.operation for c in ecr.calls] == ["CreateRepository"]
    assert [str(e) for e in ecr_server.log] == [
        "POST / CreateRepository -> 403",
        "POST / CreateRepository -> 200",
    ]


def test_an_upload_past_the_in_memory_spool_is_stored_whole(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository(REPO)
    data = bytes(range(256)) * (12 * 1024)  # 3 MiB, past the 1 MiB kept in memory while spooling
    conn = http.client.HTTPConnection(ecr_server.registry, timeout=10)
    auth = {"Authorization": basic(ecr_server)}
    conn.request("POST", f"/v2/{REPO}/blobs/uploads/", headers=auth)
    answer = conn.getresponse()
    answer.read()
    location = answer.getheader("Location") or ""
    pieces = [data[i : i + 100_000] for i in range(0, len(data), 100_000)]
    conn.request("PATCH", location, body=iter(pieces), headers=auth, encode_chunked=True)
    answer = conn.getresponse()
    answer.read()
    assert (answer.status, answer.getheader("Range")) == (202, f"0-{len(data) - 1}")
    conn.request("PUT", f"{location}?digest={sha256(data)}", headers=auth)
    assert conn.getresponse().status == 201
    conn.close()
    assert ecr.repository(REPO).blobs[sha256(data)].content == data


# -- item 6 (part): one line per disconnect, a cut chunked body is incomplete ----------------------


def verbose_server(fake: FakeECR) -> EcrServer:
    return EcrServer(fake, verbose=True)


def test_a_cut_chunked_upload_is_an_incomplete_body(ecr: FakeECR, capsys: pytest.CaptureFixture[str]) -> None:
    ecr.create_repository(REPO)
    with verbose_server(ecr) as server:
        upload = ecr.client().initiate_layer_upload(repositoryName=REPO)["uploadId"]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                f"PATCH /v2/{REPO}/blobs/uploads/{upload} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {basic(server)}\r\nTransfer-Encoding: chunked\r\n\r\n"
                "a\r\n0123456789\r\n10\r\n01234".encode()
            )
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(100) == b""  # not answered
        conn = http.client.HTTPConnection(server.registry, timeout=10)  # still serving
        conn.request("GET", "/v2/", headers={"Authorization": basic(server)})
        assert conn.getresponse().status == 200
        conn.close()
    err = capsys.readouterr().err.splitlines()
    assert err == [f"pytest-ecr: PATCH /v2/{REPO}/blobs/uploads/{upload} -> incomplete body: 15 bytes received; "
                   "connection closed"]  # fmt: skip
    assert ecr.repository(REPO).uploads[upload].size == 0
    assert server.errors == []


def test_a_client_disconnect_is_one_line(ecr: FakeECR, capsys: pytest.CaptureFixture[str]) -> None:
    with verbose_server(ecr) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
        # SO_LINGER 0: close with a reset, as a killed client does, in the middle of the headers
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        conn = http.client.HTTPConnection(server.registry, timeout=10)  # still serving
        conn.request("GET", "/v2/")
        assert conn.getresponse().status == 401
        conn.close()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("pytest-ecr: client 127.0.0.1:")
    assert "disconnected (ConnectionResetError" in err[0]


# -- item 2: bounded logs, no blob bytes in them ---------------------------------------------------


def test_the_call_log_keeps_the_size_of_layer_parts_not_their_bytes(ecr: FakeECR, ecr_client: Any) -> None:
    ecr_client.create_repository(repositoryName=REPO)
    upload = ecr_client.initiate_layer_upload(repositoryName=REPO)["uploadId"]
    ecr_client.upload_layer_part(
        repositoryName=REPO, uploadId=upload, partFirstByte=0, partLastByte=9, layerPartBlob=b"0123456789"
    )
    # a refused part (it does not start at byte 10) is logged the same way
    with pytest.raises(ecr_client.exceptions.InvalidLayerPartException):
        ecr_client.upload_layer_part(
            repositoryName=REPO, uploadId=upload, partFirstByte=0, partLastByte=2, layerPartBlob=b"abc"
        )
    parts = [c.params["layerPartBlob"] for c in ecr.calls.filter("UploadLayerPart")]
    assert parts == [LoggedBytes(10), LoggedBytes(3)]
    assert ecr.repository(REPO).uploads[upload].size == 10


def test_logs_keep_the_latest_entries_when_bounded() -> None:
    from pytest_ecr.calls import CallLog

    fake = FakeECR()
    fake.calls = CallLog(limit=3)
    with EcrServer(fake, log_limit=2) as server:
        client = server.client()
        for n in range(5):
            client.create_repository(repositoryName=f"r{n}")
    assert [c.params["repositoryName"] for c in fake.calls] == ["r2", "r3", "r4"]
    assert list(server.log) == [LoggedRequest("POST", "/", 200, "CreateRepository")] * 2
    assert len(fake.store.registries[(fake.account_id, fake.region)].repositories) == 5


# -- memory, on a `pytest-ecr serve` subprocess -----------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], int]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_ecr.server.cli", "serve", "--quiet"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split("ECR API at ")[1].split()[0]
        yield process, int(url.rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid``, in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM")}


def call(conn: http.client.HTTPConnection, headers: dict[str, str], body: bytes) -> bytes:
    conn.request("POST", "/", body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    assert answer.status == 200, data
    return data


def connect_with_repository(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection to the server, whose registry now holds the repository."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    create = json.dumps({"repositoryName": REPO}).encode()
    call(conn, signed_headers(f"127.0.0.1:{port}", "CreateRepository", create), create)
    return conn


def test_ten_thousand_api_calls_grow_the_server_by_at_most_8_mb(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = served
    conn = connect_with_repository(port)
    headers = signed_headers(f"127.0.0.1:{port}", "DescribeRepositories", b"{}")
    for _ in range(2000):  # warm-up, past the default log limit of 1000 entries
        call(conn, headers, b"{}")
    before = memory(process.pid)["VmRSS"]
    for _ in range(10_000):
        call(conn, headers, b"{}")
    after = memory(process.pid)["VmRSS"]
    conn.close()
    assert after - before <= 8 * MIB, f"RSS grew {(after - before) / MIB:.1f} MiB"


def unauthenticated_patch(port: int, size: int, chunked: bool) -> bytes:
    piece = b"u" * MIB
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        sock.sendall(
            f"PATCH /v2/{REPO}/blobs/uploads/x HTTP/1.1\r\nHost: x\r\n{framing}\r\nConnection: close\r\n\r\n".encode()
        )
        for _ in range(size // MIB):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
        return exchange(sock, b"")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_unauthenticated_200_mib_patch_raises_peak_memory_by_at_most_32_mb(
    served: tuple[subprocess.Popen[str], int], chunked: bool
) -> None:
    process, port = served
    assert unauthenticated_patch(port, 2 * MIB, chunked).startswith(b"HTTP/1.1 401 ")  # warm-up
    before = memory(process.pid)["VmHWM"]
    assert unauthenticated_patch(port, 200 * MIB, chunked).startswith(b"HTTP/1.1 401 ")
    after = memory(process.pid)["VmHWM"]
    assert after - before <= 32 * MIB, f"peak RSS grew {(after - before) / MIB:.1f} MiB"


def test_an_authenticated_upload_costs_one_copy_of_its_bytes(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    # The body is spooled, then read once into the part the upload keeps: not held twice.
    process, port = served
    conn = connect_with_repository(port)
    token = json.loads(call(conn, signed_headers(f"127.0.0.1:{port}", "GetAuthorizationToken", b"{}"), b"{}"))
    auth = {"Authorization": "Basic " + token["authorizationData"][0]["authorizationToken"]}
    size = 64 * MIB
    locations = []
    for _ in range(2):
        conn.request("POST", f"/v2/{REPO}/blobs/uploads/", headers=auth)
        answer = conn.getresponse()
        answer.read()
        locations.append(answer.getheader("Location") or "")
    piece = b"a" * MIB
    conn.request("PATCH", locations[0], body=iter([piece] * 2), headers=auth, encode_chunked=True)  # warm-up
    assert conn.getresponse().read() == b""
    before = memory(process.pid)["VmHWM"]
    conn.request("PATCH", locations[1], body=iter([piece] * (size // MIB)), headers=auth, encode_chunked=True)
    answer = conn.getresponse()
    answer.read()
    assert (answer.status, answer.getheader("Range")) == (202, f"0-{size - 1}")
    after = memory(process.pid)["VmHWM"]
    conn.close()
    assert after - before <= size + 32 * MIB, f"peak RSS grew {(after - before) / MIB:.1f} MiB"


# -- body framing, without sockets ------------------------------------------------------------------


def body(data: bytes, chunked: bool = True, length: str | None = None) -> Body:
    return Body(io.BufferedReader(io.BytesIO(data)), "chunked" if chunked else None, length)


def test_chunked_bodies_are_read_in_pieces_with_their_trailers() -> None:
    # RFC 9112 section 7.1: chunk sizes in hex, optional extensions after ';', trailer fields
    framed = b"5;ext=1\r\nhello\r\n7\r\n chunks\r\n0\r\nX-Trailer: 1\r\n\r\n"
    assert body(framed).read() == b"hello chunks"
    spool, size = body(b"3\r\nabc\r\n0\r\n\r\n").spool()
    with spool:
        assert (spool.read(), size) == (b"abc", 3)


@pytest.mark.parametrize(
    ("framed", "received"),
    [(b"", 0), (b"5\r\nhel", 3), (b"5\r\nhello", 5), (b"5\r\nhello\r\n", 5), (b"5\r\nhello\r\n0\r\n", 5)],
    ids=["nothing", "inside a chunk", "before its end of line", "before the next size", "in the trailers"],
)
def test_a_cut_chunked_body_is_incomplete(framed: bytes, received: int) -> None:
    with pytest.raises(IncompleteBody, match="incomplete body") as cut:
        body(framed).discard()
    assert cut.value.received == received


@pytest.mark.parametrize(
    ("framed", "problem"),
    [
        (b"zz\r\n", "bad chunk size"),
        (b"-5\r\n", "body too large"),
        (b"%x\r\n" % (bodies.MAX_BODY + 1), "body too large"),
        (b"5" * 2000 + b"\r\n", "chunk line too long"),
    ],
)
def test_bad_chunk_framing_is_refused(framed: bytes, problem: str) -> None:
    with pytest.raises(BadBody, match=problem):
        body(framed).discard()


def test_content_length_bodies() -> None:
    assert body(b"abcdef", chunked=False, length="4").read() == b"abcd"
    with pytest.raises(IncompleteBody, match="2 of 4 bytes"):
        body(b"ab", chunked=False, length="4").read()
    # "\u0661" is an Arabic-Indic one, which str.isdigit takes and int() reads as 1; 5,000 nines
    # are past what int() converts
    for bad in ("-1", "4x", str(bodies.MAX_BODY + 1), "\u0661", "9" * 5000):
        with pytest.raises(BadBody, match="bad Content-Length"):
            body(b"", chunked=False, length=bad)


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "", "\u00b2"])
def test_serve_refuses_a_bad_log_limit(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_ecr.server.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--log-limit", value])
    assert exit_.value.code == 2
    assert "argument --log-limit: expected a whole number of entries, 0 or more" in capsys.readouterr().err


def test_serve_bounds_both_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve_in_thread(monkeypatch, ["serve", "--quiet", "--log-limit", "2"]) as server:
        client = server.client()
        for n in range(4):
            client.create_repository(repositoryName=f"r{n}")
    assert [c.params["repositoryName"] for c in server.fake.calls] == ["r2", "r3"]
    assert len(server.log) == 2


def test_concurrent_large_api_bodies_are_read_into_memory_one_at_a_time(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    # Four 48 MiB bodies arrive at once: each is spooled to disk, then read (and refused, it is
    # not JSON) one at a time under the fake's lock, so peak memory holds one body and its
    # decoding, not four.
    process, port = served
    size, clients = 48 * MIB, 4
    headers = signed_headers(f"127.0.0.1:{port}", "UploadLayerPart", b"")

    def send(total: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length")
            sock.sendall(
                f"POST / HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {total}\r\nConnection: close\r\n\r\n".encode()
            )
            piece = b" " * MIB
            for _ in range(total // MIB - 1):
                sock.sendall(piece)
            sock.sendall(b" " * (MIB - 1) + b"x")
            return exchange(sock, b"").split(b"\r\n")[0]

    assert send(2 * MIB).startswith(b"HTTP/1.1 400 ")  # warm-up
    before = memory(process.pid)["VmHWM"]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(send, [size] * clients))
    after = memory(process.pid)["VmHWM"]
    assert all(s.startswith(b"HTTP/1.1 400 ") for s in statuses), statuses
    assert after - before <= 2 * size + 32 * MIB, f"peak RSS grew {(after - before) / MIB:.1f} MiB"

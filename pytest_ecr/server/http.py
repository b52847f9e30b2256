"""The threaded stdlib HTTP server: one port, three hosts' worth of routes, one fake.

* ``POST /`` with ``X-Amz-Target``: the ECR JSON API (:mod:`.api`);
* ``/v2/...``: the OCI Distribution API (:mod:`.distribution`);
* ``/prod-<region>-starport-layer-bucket.s3...``: the blob host (:mod:`.blobs`), reached as
  ``localhost`` while the registry is ``127.0.0.1``.

Every request body is read in full before it is answered (a 401 must not leave a body in a
keep-alive connection), and a TLS ClientHello on this plain-HTTP port gets a plain-HTTP 400, which
is what makes skopeo and podman fall back to HTTP.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .. import transport
from . import api, blobs, distribution
from .messages import Reply, Request

if TYPE_CHECKING:
    from ..fake import FakeECR

LOOPBACK = "127.0.0.1"
#: the host name blob redirects use: another name for the loopback address
BLOB_HOST_NAME = "localhost"
#: a request body larger than this is refused. Bodies are held in memory, so this bounds what one
#: request can cost the test process; a monolithic layer upload of up to 1 GiB passes (ECR takes
#: layers of up to 52,000 MiB, a size no test should need).
MAX_BODY = 1024 * 1024 * 1024
_TLS_HANDSHAKE = 0x16
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_ECR"


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: EcrServer


#: http.server's own 5xx answers to requests it cannot read, as the client errors they are
_CLIENT_ERRORS: dict[int, int] = {
    HTTPStatus.NOT_IMPLEMENTED: HTTPStatus.METHOD_NOT_ALLOWED,
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: HTTPStatus.BAD_REQUEST,
}


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    #: seconds an idle or stalled connection may hold a thread
    timeout = 30

    def handle_one_request(self) -> None:
        try:
            first = self.rfile.peek(1)[:1]  # type: ignore[attr-defined]  # a BufferedReader
        except OSError:
            self.close_connection = True
            return
        if first and first[0] == _TLS_HANDSHAKE:
            # A TLS ClientHello: answer in plain HTTP, as Go's servers do, and hang up.
            self.wfile.write(
                b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                b"Client sent an HTTP request to an HTTPS server.\n"
            )
            self.close_connection = True
            return
        super().handle_one_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server answers a method it has no do_ for with a 501 and an HTTP/2 request line
        # with a 505: no client input gets a 5xx here
        code = _CLIENT_ERRORS.get(code, code)
        super().send_error(code, message, explain)

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    raise _BadRequest("bad chunk size") from None
                total += size
                if size < 0 or total > MAX_BODY:
                    raise _BadRequest("body too large")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    raise ConnectionError("connection closed in the middle of a chunk")
                chunks.append(chunk)
                self.rfile.readline(3)
        raw = self.headers.get("Content-Length") or "0"
        if not raw.strip().isdigit() or int(raw) > MAX_BODY:
            raise _BadRequest("bad Content-Length")
        length = int(raw)
        body = self.rfile.read(length)
        if len(body) < length:
            # An interrupted request is never answered, so it leaves nothing behind.
            raise ConnectionError("connection closed before the end of the body")
        return body

    def _serve(self) -> None:
        owner = self.server.owner
        try:
            body = self._read_body()
        except _BadRequest as bad:
            self.close_connection = True
            self._send(Reply(400, {"Content-Type": "text/plain"}, f"{bad}\n".encode()))
            return
        except (ConnectionError, OSError, ValueError):
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        request = Request(
            self.command,
            path,
            query,
            _header_dict(self.headers.items()),
            body,
            owner.registry,
            owner.blob_host,
        )
        reply = owner.answer(request)
        owner.log.append(LoggedRequest(self.command, self.path, reply.status))
        if owner.verbose:
            print(f"{self.command} {self.path} -> {reply.status}", flush=True)
        if reply.drop:
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        length = reply.head_length if reply.head_length is not None else len(reply.body)
        self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the server keeps its own log (EcrServer.log), printed by the CLI


def _header_dict(items: list[tuple[str, str]]) -> dict[str, str]:
    """Headers by lower-case name; repeated headers joined with commas (Go clients send one
    ``Accept`` line per media type)."""
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


class EcrServer:
    """Serve ``fake`` over HTTP on 127.0.0.1 (an ephemeral port unless ``port`` is given).

    Use as a context manager, or ``start()`` / ``stop()``. ``url`` is the ECR API endpoint for
    ``endpoint_url`` / ``AWS_ENDPOINT_URL_ECR``; ``registry`` is the ``host:port`` of the OCI
    registry, the same for every account: the credential picks the account.
    """

    def __init__(self, fake: FakeECR, port: int = 0, verbose: bool = False) -> None:
        self.fake = fake
        self.verbose = verbose
        self.log: list[LoggedRequest] = []
        #: tracebacks of requests the server failed on (its own bugs; answered 500)
        self.errors: list[str] = []
        self._login: tuple[str, str] | None = None
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return int(self._server.server_address[1])

    @property
    def registry(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def blob_host(self) -> str:
        return f"{BLOB_HOST_NAME}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.registry}"

    def start(self) -> EcrServer:
        if self._server is not None:
            raise RuntimeError("the server is already running")
        server = _Server((LOOPBACK, self._port), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="pytest-ecr-server", daemon=True
        )
        self._thread.start()
        transport.LOCAL_SERVERS.add(self.url + "/")
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        transport.LOCAL_SERVERS.discard(self.url + "/")
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def login(self, account: str | None = None, region: str | None = None) -> tuple[str, str]:
        """(username, password) for the registry, from a fresh GetAuthorizationToken of
        ``account`` in ``region`` (the fake's by default): ``("AWS", <password>)``."""
        data = self.fake._call("GetAuthorizationToken", {}, account, region)["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        return username, password

    @property
    def username(self) -> str:
        return self._credentials()[0]

    @property
    def password(self) -> str:
        """A registry password of the fake's account (``aws ecr get-login-password``), issued on
        first use; it expires 12 hours later on the fake's clock, as ECR's do."""
        return self._credentials()[1]

    def _credentials(self) -> tuple[str, str]:
        if self._login is None:
            self._login = self.login()
        return self._login

    def client(self, region: str | None = None, account: str | None = None, **kwargs: Any) -> Any:
        """A boto3 ECR client that really talks HTTP to this server (while a fake is active,
        other ECR clients are answered in-process, without a request on the wire)."""
        from .._hook import before_send

        client = self.fake.client(region, account, endpoint_url=self.url, **kwargs)
        client.meta.events.unregister("before-send.ecr", before_send)
        return client

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """Point subprocesses' AWS SDKs at this server (``AWS_ENDPOINT_URL_ECR``) meanwhile."""
        saved = os.environ.get(ENDPOINT_VARIABLE)
        os.environ[ENDPOINT_VARIABLE] = self.url
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(ENDPOINT_VARIABLE, None)
            else:
                os.environ[ENDPOINT_VARIABLE] = saved

    def __enter__(self) -> EcrServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, request: Request) -> Reply:
        """Route one request (no sockets: tests of the routes may call this directly)."""
        try:
            if request.path == "/" or request.path == "":
                if request.method != "POST":
                    return Reply(404, {"Content-Type": "text/plain"}, b"Not Found\n")
                return api.answer(self.fake, request)
            # The fake's lock: the registry API reads and writes the same state as API calls.
            with self.fake._lock:
                self.fake.settle_due()  # as FakeECR.handle does for API requests
                if request.path.startswith("/v2"):
                    return distribution.answer(self.fake, request)
                if blobs.is_blob_path(request.path):
                    return blobs.answer(self.fake, request)
            return Reply(404, {"Content-Type": "text/plain"}, b"Not Found\n")
        except Exception as exc:  # a bug of the fake: answer 500 and keep serving
            import traceback

            self.errors.append(traceback.format_exc())
            return Reply(
                500, {"Content-Type": "text/plain"}, f"pytest-ecr internal error: {exc!r}\n".encode()
            )

"""The threaded stdlib HTTP(S) server: one port on every loopback address, one fake.

* ``POST /`` with ``X-Amz-Target``: the ECR JSON API (:mod:`.api`);
* ``/v2/...``: the OCI Distribution API (:mod:`.distribution`);
* ``/prod-<region>-starport-layer-bucket.s3...``: the blob host (:mod:`.blobs`).

Routes are told apart by path, so every host name serves them all; the ``Host`` picks the
registry and the name blob downloads are redirected to (:mod:`.hosts`). The port is the same on
127.0.0.1 and, where the system has it, ::1. With TLS (:mod:`.tls`) the handshake runs in the
connection's thread, not the accepting one.

Every request is authenticated from its headers before its body is read: a refused body is
read and dropped in bounded pieces (a 401 must not leave a body in a keep-alive connection), or
never sent at all when the client waits for ``100 Continue``; an accepted registry body is spooled
(see :mod:`.bodies`). Responses leave with ``TCP_NODELAY`` and, when small, in one write, so a
keep-alive connection never waits on Nagle's algorithm. A TLS ClientHello on a plain-HTTP port
gets a plain-HTTP 400, which is what makes skopeo and podman fall back to HTTP.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import transport
from . import api, blobs, control, distribution, hosts
from .bodies import BadBody, Body, IncompleteBody
from .hosts import Naming
from .messages import Reply, Request

if TYPE_CHECKING:
    from ..fake import FakeECR

LOOPBACK = "127.0.0.1"
LOOPBACK6 = "::1"
#: the host name blob redirects use when the client names the registry 127.0.0.1
BLOB_HOST_NAME = "localhost"
#: a reply with a body up to this size leaves in the same write as its headers
ONE_WRITE = 64 * 1024
_TLS_HANDSHAKE = 0x16
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_ECR"
CA_BUNDLE_VARIABLE = "AWS_CA_BUNDLE"
#: node's own: the JavaScript SDK v3 ignores AWS_CA_BUNDLE (measured, tests/test_js_sdk_v3.py)
NODE_CA_VARIABLE = "NODE_EXTRA_CA_CERTS"
_T = TypeVar("_T")


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    #: the ECR API operation (``X-Amz-Target``'s), None for registry and blob requests
    operation: str | None = None

    def __str__(self) -> str:
        operation = f" {self.operation}" if self.operation else ""
        return f"{self.method} {self.path}{operation} -> {self.status}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: EcrServer
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            # the handshake happens on the first read, in the connection's own thread
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # the client went away (reset, broken pipe, timeout)
            self.disconnected(client_address, error)
            return
        super().handle_error(request, client_address)

    def disconnected(self, client_address: Any, error: OSError) -> None:
        self.owner.note(f"client {client_address[0]}:{client_address[1]} disconnected ({error!r})")


#: http.server's own 5xx answers to requests it cannot read, as the client errors they are
_CLIENT_ERRORS: dict[int, int] = {
    HTTPStatus.NOT_IMPLEMENTED: HTTPStatus.METHOD_NOT_ALLOWED,
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: HTTPStatus.BAD_REQUEST,
}


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    #: seconds an idle or stalled connection may hold a thread
    timeout = 30
    #: TCP_NODELAY on every accepted socket: a reply's last segment leaves without waiting for the
    #: client's (delayed) ACK of the one before
    disable_nagle_algorithm = True
    #: the request carries ``Expect: 100-continue``; the 100 goes out once its headers pass
    expects_continue = False

    def handle_one_request(self) -> None:
        self.expects_continue = False
        try:
            first = self.rfile.peek(1)[:1]  # type: ignore[attr-defined]  # a BufferedReader
        except OSError as error:
            self.close_connection = True
            if not isinstance(error, TimeoutError):  # an idle keep-alive connection timing out
                self.server.disconnected(self.client_address, error)
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

    def handle_expect_100(self) -> bool:
        self.expects_continue = True  # answered in _serve, after the checks made on headers alone
        return True

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        owner = self.server.owner
        path, _, query = self.path.partition("?")
        headers = _header_dict(self.headers.items())
        api_call = self.command == "POST" and path in ("/", "")
        operation = _operation(headers) if api_call else None
        to = hosts.addressed(headers.get("host"))
        request = Request(self.command, path, query, headers, b"", owner.registry, owner.blob_host_for(to))
        request.account, request.region, request.scheme = to.account, to.region, owner.scheme
        try:
            body = Body(self.rfile, headers.get("transfer-encoding"), headers.get("content-length"))
            refusal = owner.refuse_before_body(self.command, path, headers)
            if refusal is not None:
                self._refuse(body, refusal, operation)
                return
            if self.expects_continue:
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if body.small:
                request.body = body.read()
            elif api_call or path.startswith("/v2"):
                request.spool, request.spool_size = body.spool()
            else:
                body.discard()  # the blob host and unknown routes take no body
        except BadBody as bad:
            self.close_connection = True
            owner.record(LoggedRequest(self.command, self.path, 400, operation))
            self._send(Reply(400, {"Content-Type": "text/plain"}, f"{bad}\n".encode()))
            return
        except IncompleteBody as cut:
            # Never answered: nothing of the request reaches the fake.
            self.close_connection = True
            owner.note(f"{self.command} {self.path} -> {cut}; connection closed")
            return
        try:
            reply = owner.answer(request)
        finally:
            if request.spool is not None:
                request.spool.close()
        owner.record(LoggedRequest(self.command, self.path, reply.status, operation))
        if reply.drop:
            self.close_connection = True
            return
        self._send(reply)

    def _refuse(self, body: Body, refusal: Reply, operation: str | None) -> None:
        """Answer ``refusal`` keeping none of the body: a client waiting for ``100 Continue``
        never sends it (the connection closes); any other body is read and dropped."""
        self.server.owner.record(LoggedRequest(self.command, self.path, refusal.status, operation))
        if not body.empty:
            if self.expects_continue:
                self.close_connection = True
            else:
                body.discard()
        self._send(refusal)

    def _send(self, reply: Reply) -> None:
        length = reply.head_length if reply.head_length is not None else len(reply.body)
        phrase = self.responses.get(reply.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {reply.status} {phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            *(f"{name}: {value}" for name, value in reply.headers.items()),
            f"Content-Length: {length}",
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        body = b"" if self.command == "HEAD" else reply.body
        if len(body) <= ONE_WRITE:
            self.wfile.write(head + body)  # one write: nothing for Nagle's algorithm to hold back
        else:
            self.wfile.write(head)
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the server keeps its own log (EcrServer.log), printed by the CLI


def _operation(headers: Mapping[str, str]) -> str:
    """The operation an ECR API request names, for the log (``-`` when it names none)."""
    return (headers.get("x-amz-target") or "").rpartition(".")[2][:64] or "-"


def _header_dict(items: list[tuple[str, str]]) -> dict[str, str]:
    """Headers by lower-case name; repeated headers joined with commas (Go clients send one
    ``Accept`` line per media type)."""
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


class EcrServer:
    """Serve ``fake`` over HTTP, or HTTPS with ``tls=True``, on 127.0.0.1 and ::1 (an ephemeral
    port unless ``port`` is given).

    Use as a context manager, or ``start()`` / ``stop()``. ``url`` is the ECR API endpoint for
    ``endpoint_url`` / ``AWS_ENDPOINT_URL_ECR``; ``registry`` is a ``host:port`` of the OCI
    registry that serves every account (the credential picks the account), and
    :meth:`registry_host` the per-account one, as ECR names it. ``naming`` is how API answers
    (``proxyEndpoint``, ``repositoryUri``) name registries: ``"account"`` (the per-account
    hosts) or ``"loopback"`` (``127.0.0.1:PORT``).
    """

    def __init__(
        self,
        fake: FakeECR,
        port: int = 0,
        verbose: bool = False,
        log_limit: int | None = None,
        tls: bool = False,
        naming: Naming = "account",
    ) -> None:
        if naming not in hosts.NAMINGS:
            raise ValueError(f"naming must be one of {', '.join(hosts.NAMINGS)}, got {naming!r}")
        self.fake = fake
        self.verbose = verbose
        self.naming: Naming = naming
        #: the requests served, oldest first: the last ``log_limit`` of them (all if None)
        self.log: deque[LoggedRequest] = deque(maxlen=log_limit)
        #: tracebacks of requests the server failed on (its own bugs; answered 500)
        self.errors: list[str] = []
        self._login: tuple[str, str] | None = None
        self._port = port
        self._tls = tls
        self._ca: Any = None
        self._files: str | None = None
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        if not self._servers:
            raise RuntimeError("the server is not running")
        return int(self._servers[0].server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    @property
    def registry(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def blob_host(self) -> str:
        """Where blob downloads go when the registry is addressed as 127.0.0.1."""
        return f"{BLOB_HOST_NAME}:{self.port}"

    def blob_host_for(self, to: hosts.Addressed) -> str:
        return f"{to.blob_host_name}:{self.port}"

    def registry_host(self, account: str | None = None, region: str | None = None) -> str:
        """``<account>.dkr.ecr.<region>.localhost:PORT``: the registry of ``account`` in
        ``region`` (the fake's by default), as ECR names it. ``*.localhost`` must resolve to
        the loopback address (see the server docs where it does not)."""
        return hosts.account_host(account or self.fake.account_id, region or self.fake.region, self.port)

    def registry_endpoint(self, account: str, region: str) -> str:
        """How this server's API answers name the registry of ``account`` in ``region``."""
        return hosts.registry_endpoint(self.scheme, self.port, self.naming)(account, region)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.registry}"

    @property
    def listening(self) -> list[str]:
        """The addresses the server listens on (``127.0.0.1``, and ``::1`` where there is one)."""
        return [str(server.server_address[0]) for server in self._servers]

    @property
    def ca_file(self) -> str | None:
        """With TLS: the PEM file of the run's CA (for ``AWS_CA_BUNDLE``, ``--cacert``)."""
        return None if self._files is None else os.path.join(self._files, "ca.pem")

    @property
    def certs_dir(self) -> str | None:
        """With TLS: a directory of ``<host:port>/ca.crt`` for the loopback names and the fake's
        account host, the layout podman, buildah, skopeo (``--cert-dir``) and containerd read."""
        return None if self._files is None else os.path.join(self._files, "certs.d")

    def start(self) -> EcrServer:
        if self._servers:
            raise RuntimeError("the server is already running")
        context: ssl.SSLContext | None = None
        if self._tls:
            from .tls import RunCA

            self._ca = RunCA((self.fake.region,))
            context = self._ca.server_context()
        first = _Server((LOOPBACK, self._port), _Handler)
        self._servers.append(first)
        with contextlib.suppress(OSError):  # no IPv6 loopback here, or the port is taken on it
            self._servers.append(_Server6((LOOPBACK6, first.server_address[1]), _Handler))
        for server in self._servers:
            server.owner, server.tls = self, context
            thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name="pytest-ecr-server", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        if self._ca is not None:
            self._files = tempfile.mkdtemp(prefix="pytest-ecr-tls-")
            self._ca.write_ca(self.ca_file)
            names = [self.registry, self.blob_host, f"[{LOOPBACK6}]:{self.port}", self.registry_host()]
            self._ca.write_certs_dir(Path(str(self.certs_dir)), names)
        transport.LOCAL_SERVERS.add(self.url + "/")
        return self

    def write_ca(self, path: str) -> None:
        """Write the run's CA certificate (PEM) to ``path`` (TLS servers only)."""
        if self._ca is None:
            raise RuntimeError("the server does not serve TLS")
        self._ca.write_ca(path)

    def stop(self) -> None:
        if not self._servers:
            return
        transport.LOCAL_SERVERS.discard(self.url + "/")
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers, self._threads = [], []
        if self._files is not None:
            shutil.rmtree(self._files, ignore_errors=True)
            self._files = None

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
        """A boto3 ECR client that really talks HTTP(S) to this server (while a fake is active,
        other ECR clients are answered in-process, without a request on the wire)."""
        from .._hook import before_send

        if self.ca_file is not None:
            kwargs.setdefault("verify", self.ca_file)
        client = self.fake.client(region, account, endpoint_url=self.url, **kwargs)
        client.meta.events.unregister("before-send.ecr", before_send)
        return client

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """Point subprocesses' AWS SDKs at this server (``AWS_ENDPOINT_URL_ECR``, and with TLS
        ``AWS_CA_BUNDLE`` and node's ``NODE_EXTRA_CA_CERTS``, which adds to node's CAs) meanwhile."""
        changes = {ENDPOINT_VARIABLE: self.url}
        if self.ca_file is not None:
            changes[CA_BUNDLE_VARIABLE] = self.ca_file
            changes[NODE_CA_VARIABLE] = self.ca_file
        saved = {name: os.environ.get(name) for name in changes}
        os.environ.update(changes)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def __enter__(self) -> EcrServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, entry: LoggedRequest) -> None:
        self.log.append(entry)
        if self.verbose:
            print(entry, flush=True)

    def note(self, line: str) -> None:
        """One line about a request that was not answered (a client disconnect, a cut body)."""
        if self.verbose:
            print(f"pytest-ecr: {line}", file=sys.stderr, flush=True)

    def refuse_before_body(self, method: str, path: str, headers: Mapping[str, str]) -> Reply | None:
        """The answer a request gets from its headers alone (``headers`` by lower-case name), or
        None when its body should be read."""

        def check() -> Reply | None:
            if path in ("/", ""):
                return api.refuse_before_body(self.fake, headers) if method == "POST" else None
            if path.startswith("/v2"):
                to = hosts.addressed(headers.get("host"))
                with self.fake._lock:
                    return distribution.refuse_before_body(self.fake, headers, to.region)
            return None

        return self._guarded(check)

    def answer(self, request: Request) -> Reply:
        """Route one request (no sockets: tests of the routes may call this directly)."""
        return self._guarded(lambda: self._route(request))

    def _route(self, request: Request) -> Reply:
        if control.is_control_path(request.path):  # the control API (its module says why there)
            return control.answer(self.fake, request)
        if request.path == "/" or request.path == "":
            if request.method != "POST":
                return Reply(404, {"Content-Type": "text/plain"}, b"Not Found\n")
            if request.spool is not None:
                # Under the lock, one large API body at a time is read into memory: the others
                # wait in their spools.
                with self.fake._lock:
                    request.body = request.content()
                    return api.answer(self.fake, request, self.registry_endpoint)
            return api.answer(self.fake, request, self.registry_endpoint)
        # The fake's lock: the registry API reads and writes the same state as API calls.
        with self.fake._lock:
            self.fake.settle_due()  # as FakeECR.handle does for API requests
            if request.path.startswith("/v2"):
                return distribution.answer(self.fake, request)
            if blobs.is_blob_path(request.path):
                return blobs.answer(self.fake, request)
        return Reply(404, {"Content-Type": "text/plain"}, b"Not Found\n")

    def _guarded(self, serve: Callable[[], _T]) -> _T | Reply:
        try:
            return serve()
        except Exception as exc:  # a bug of the fake: answer 500 and keep serving
            import traceback

            self.errors.append(traceback.format_exc())
            return Reply(
                500, {"Content-Type": "text/plain"}, f"pytest-ecr internal error: {exc!r}\n".encode()
            )

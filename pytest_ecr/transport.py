"""The botocore transport: answer ECR requests at ``before-send``, block everything else.

Answering at ``before-send`` means the real client has already serialized, validated and signed the
request; the response goes back through botocore's real parser, retry logic and error factory.
A request for another AWS service reaches ``Endpoint._send`` only if no before-send handler (ours,
or moto's) answered it: that is the one place where it would leave the process, so that is where
the blocker stands.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import botocore.endpoint
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from ._hook import FAKE_CREDENTIALS
from .sessions import LazyBoto3Session

_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_SERVICE_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/")

#: Variables that could point botocore at a real account, profile, endpoint or credential source.
_ISOLATED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ECR",
    "AWS_CA_BUNDLE",
)


class NetworkBlocked(Exception):
    """A request for an AWS service the fake does not serve tried to leave the process."""


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def request_identity(request: AWSPreparedRequest) -> tuple[str | None, str | None]:
    """(access key id, region) from a SigV4 Authorization header."""
    return credential_scope(header(request, "Authorization") or "")


def credential_scope(authorization: str) -> tuple[str | None, str | None]:
    """(access key id, region) from the value of a SigV4 Authorization header."""
    match = _CREDENTIAL_SCOPE.search(authorization)
    return (match.group(1), match.group(2)) if match else (None, None)


#: Base URLs of running pytest-ecr servers (``http://127.0.0.1:PORT/``): the network blocker lets
#: requests to them through, since they are answered by a fake in this process.
LOCAL_SERVERS: set[str] = set()


class RequestHeaders:
    """A botocore request's headers as the SigV4 checks read them: ``get(name)``, decoded (the
    names are case-insensitive)."""

    def __init__(self, request: AWSPreparedRequest) -> None:
        self._request = request

    def get(self, name: str) -> str | None:
        return header(self._request, name)


def header(request: AWSPreparedRequest, name: str) -> str | None:
    value = request.headers.get(name)
    return value.decode() if isinstance(value, bytes) else value


def body_bytes(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    data = body.read()
    return data.encode() if isinstance(data, str) else data


def response(url: str, status: int, headers: dict[str, str], body: bytes) -> AWSResponse:
    all_headers: Any = {**headers, "Content-Length": str(len(body))}
    return AWSResponse(url, status, all_headers, _Body(body))


def _service_of(request: AWSPreparedRequest) -> str:
    """The signing name of the service (``s3``, ``sts``...), else the host for unsigned requests."""
    match = _SERVICE_SCOPE.search(header(request, "Authorization") or "")
    return match.group(1) if match else str(urlsplit(request.url).hostname)


def _blocked(service: str, request: AWSPreparedRequest) -> NetworkBlocked:
    return NetworkBlocked(
        f"pytest-ecr blocked a request to AWS service '{service}' ({request.method} {request.url}): "
        "while the ECR fake is active no AWS request leaves this process. Answer it with another "
        "fake (moto's mock_aws works alongside pytest-ecr), or allow the service to reach the network "
        f"with the ini option `ecr_allow_services = {service}` (or FakeECR(allow_services=[...]))."
    )


def check_network(request: AWSPreparedRequest) -> None:
    """Raise :class:`NetworkBlocked` unless every active isolation lets ``request`` through, as the
    chain of patched ``Endpoint._send`` does; for transports that send without it (aiobotocore)."""
    service = _service_of(request)
    if _to_local_server(request):
        return
    if any(service not in isolation._allowed for isolation in _ACTIVE_ISOLATIONS):
        raise _blocked(service, request)


def _to_local_server(request: AWSPreparedRequest) -> bool:
    return any(request.url.startswith(url) for url in LOCAL_SERVERS)


#: Active isolations, in the order they were entered (fakes may stop in any order).
_ACTIVE_ISOLATIONS: list[Isolation] = []


@functools.cache
def _absent_file() -> str:
    """A path that exists nowhere, for the AWS config files of every isolation in the process: in
    a directory of pytest-ecr's own, made once and removed at exit (a directory per fake cost a
    mkdir and an rmdir per test, a quarter of a bare test's time on a busy disk)."""
    directory = tempfile.TemporaryDirectory(prefix="pytest-ecr-")
    _DIRECTORIES.append(directory)  # kept alive: its finalizer removes it at exit
    return os.path.join(directory.name, "absent")


_DIRECTORIES: list[tempfile.TemporaryDirectory[str]] = []


class Isolation:
    """Fake credentials, isolated AWS config and a network blocker, undone exactly on exit."""

    def __init__(self, region: str, allowed_services: frozenset[str]) -> None:
        self._region = region
        self._allowed = allowed_services
        self._saved_env: dict[str, str | None] = {}
        self._saved_send: Callable[..., Any] | None = None
        self._saved_boto3_session: Any = None

    def __enter__(self) -> Isolation:
        missing = _absent_file()
        values: dict[str, str | None] = dict.fromkeys(_ISOLATED_VARIABLES)
        values.update(
            AWS_ACCESS_KEY_ID=FAKE_CREDENTIALS[0],
            AWS_SECRET_ACCESS_KEY=FAKE_CREDENTIALS[1],
            AWS_DEFAULT_REGION=self._region,
            AWS_REGION=self._region,
            AWS_CONFIG_FILE=missing,
            AWS_SHARED_CREDENTIALS_FILE=missing,
            AWS_EC2_METADATA_DISABLED="true",
        )
        for key, value in values.items():
            self._saved_env[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._install_blocker()
        self._reset_boto3_default_session(save=True)
        _ACTIVE_ISOLATIONS.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        position = next((i for i, iso in enumerate(_ACTIVE_ISOLATIONS) if iso is self), None)
        if position is not None:
            del _ACTIVE_ISOLATIONS[position]
            if position < len(_ACTIVE_ISOLATIONS):
                # Not the innermost: the isolation entered after this one saved what this one set,
                # so it takes over what this one saved, and the live state stays the innermost's.
                later = _ACTIVE_ISOLATIONS[position]
                later._saved_env, self._saved_env = self._saved_env, {}
                later._saved_send, self._saved_send = self._saved_send, None
                later._saved_boto3_session, self._saved_boto3_session = self._saved_boto3_session, None
                return
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if self._saved_send is not None:
            botocore.endpoint.Endpoint._send = self._saved_send  # type: ignore[attr-defined]
            self._saved_send = None
        self._reset_boto3_default_session(save=False)

    def _install_blocker(self) -> None:
        original = botocore.endpoint.Endpoint._send  # type: ignore[attr-defined]
        allowed = self._allowed

        def send(endpoint: Any, request: AWSPreparedRequest) -> Any:
            service = _service_of(request)
            if service in allowed or _to_local_server(request):
                return original(endpoint, request)
            raise _blocked(service, request)

        self._saved_send = original
        botocore.endpoint.Endpoint._send = send  # type: ignore[attr-defined]

    def _reset_boto3_default_session(self, save: bool) -> None:
        try:
            import boto3
        except ImportError:  # pragma: no cover - boto3 is a dependency
            return
        if save:
            self._saved_boto3_session = boto3.DEFAULT_SESSION
            # A fresh default session (made under the isolated environment), not the user's.
            boto3.DEFAULT_SESSION = LazyBoto3Session()  # type: ignore[assignment]  # a stand-in, see sessions.py
        else:
            boto3.DEFAULT_SESSION = self._saved_boto3_session
            self._saved_boto3_session = None

"""The ECR JSON 1.1 control plane over HTTP: ``POST /`` with ``X-Amz-Target``.

A request is first checked as AWS's front end checks it (:mod:`pytest_ecr.protocol.sigv4`): unsigned and malformed
requests are refused before the service sees them, so they are not in ``ecr.calls``. The rest is
answered by :meth:`FakeECR.handle`, the seam the in-process transport uses too, so a client over
HTTP gets the same bytes, status and headers as one answered in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._hook import FAKE_CREDENTIALS
from ..config import REGION_NAME
from ..faults import ConnectionDropped
from ..protocol import sigv4
from ..service.context import RegistryEndpoint
from .messages import Reply, Request

if TYPE_CHECKING:
    from ..fake import FakeECR

#: the form of the access keys the fake issues (``FakeECR.client`` and the isolation's default)
_FAKE_KEY_PREFIX = "AKIAPYTESTECR"


def _refusal_reply(refusal: sigv4.Refusal) -> Reply:
    return Reply(refusal.status, refusal.headers(), refusal.body)


def _check_headers(fake: FakeECR, headers: Mapping[str, str]) -> sigv4.Signed | Reply:
    signed = sigv4.refuse_header(headers, REGION_NAME)
    if isinstance(signed, sigv4.Refusal):
        return _refusal_reply(signed)
    if _secret(fake, signed.access_key) is None and signed.access_key.startswith(_FAKE_KEY_PREFIX):
        # a key of the fake's own form that it never issued: the fake knows it does not exist
        return _refusal_reply(sigv4.UNRECOGNIZED)
    return signed


def refuse_before_body(fake: FakeECR, headers: Mapping[str, str]) -> Reply | None:
    """What AWS answers an ECR API request from its headers alone (``headers`` by lower-case
    name), or None: no or a malformed ``Authorization``, a credential scope of another service
    or an invalid region, an access key of the fake's form it never issued. The server asks this
    before it reads a body."""
    checked = _check_headers(fake, headers)
    return checked if isinstance(checked, Reply) else None


def _secret(fake: FakeECR, access_key: str) -> str | None:
    """The secret of a key the fake issued (all its clients sign with the same one), else None."""
    issued = access_key == FAKE_CREDENTIALS[0] or fake.issued_key(access_key)
    return FAKE_CREDENTIALS[1] if issued else None


def answer(fake: FakeECR, request: Request, registry_endpoint: RegistryEndpoint | None = None) -> Reply:
    """Answer one API request; ``registry_endpoint`` names registries in the answer (the
    server's hosts; None: AWS's)."""
    checked = _check_headers(fake, request.headers)
    if isinstance(checked, Reply):
        return checked
    secret = _secret(fake, checked.access_key)
    if secret is not None:
        refusal = sigv4.refuse_signature(
            checked, secret, request.method, request.path, request.query, request.headers, request.body
        )
        if refusal is not None:
            return _refusal_reply(refusal)
    account, principal = fake.caller_for_key(checked.access_key)
    try:
        exchange = fake.handle(
            request.header("X-Amz-Target"),
            request.body,
            account,
            checked.region,
            principal,
            registry_endpoint,
        )
    except ConnectionDropped:
        return Reply(0, drop=True)
    return Reply(exchange.status, exchange.headers(), exchange.body)

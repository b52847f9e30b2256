"""The ECR JSON 1.1 control plane over HTTP: ``POST /`` with ``X-Amz-Target``.

The request is answered by :meth:`FakeECR.handle`, the seam the in-process transport uses too,
so a client over HTTP gets the same bytes, status and headers as one answered in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..faults import ConnectionDropped
from ..transport import credential_scope
from .messages import Reply, Request

if TYPE_CHECKING:
    from ..fake import FakeECR


def answer(fake: FakeECR, request: Request) -> Reply:
    key, region = credential_scope(request.header("Authorization") or "")
    account, principal = fake.caller_for_key(key)
    try:
        exchange = fake.handle(
            request.header("X-Amz-Target"), request.body, account, region or fake.region, principal
        )
    except ConnectionDropped:
        return Reply(0, drop=True)
    return Reply(exchange.status, exchange.headers(), exchange.body)


def refuse_before_body(fake: FakeECR, headers: Mapping[str, str]) -> Reply | None:
    """Header-only checks made before the body is read (SigV4 structure: see the signing checks)."""
    return None

"""One ECR JSON 1.1 request in, one response out: the seam every transport shares."""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..service import access
from ..service.catalog import handlers
from ..service.context import Context
from ..service.errors import (
    ECRError,
    InvalidParameterException,
    NotImplementedByFake,
    SerializationException,
    ServerException,
    UnknownOperationException,
    ValidationException,
)
from . import decode, encode
from .model import TARGET_PREFIX, error_codes, operation, operation_names

CONTENT_TYPE = "application/x-amz-json-1.1"
#: Response bodies: compact, as ECR writes them, and without the circular-reference check (a result
#: is a tree the encoder just built): a page of 100 image ids is written on every call of a walk.
_BODY = json.JSONEncoder(check_circular=False, separators=(",", ":"))


@dataclass
class Exchange:
    """A request and what the fake answered, as the call log keeps it."""

    operation: str
    params: dict[str, Any]
    account: str
    region: str
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    #: set when the fake itself failed (a bug) or met an operation it does not implement
    traceback: str | None = None
    #: answered by a fault rule (``ecr.faults``), not by the fake; status 0 for a dropped connection
    injected: bool = False
    #: the caller's IAM principal ARN (None where no request context made one, e.g. injected faults)
    principal: str | None = None

    @property
    def body(self) -> bytes:
        if self.error_code is None:
            return _BODY.encode(self.response).encode()
        return _BODY.encode(
            {"__type": self.error_code, "message": self.error_message, **self.response}
        ).encode()

    def headers(self) -> dict[str, str]:
        return {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())}


def _operation_name(target: str | None) -> str | None:
    if not target or not target.startswith(TARGET_PREFIX):
        return None
    name = target[len(TARGET_PREFIX) :]
    return name if name in operation_names() else None


def _fail(error_codes_: frozenset[str]) -> Callable[[str], ECRError]:
    if "InvalidParameterException" in error_codes_:
        return InvalidParameterException
    return ValidationException


def _error_members(op_name: str, err: ECRError) -> dict[str, Any]:
    """Extra members the error shape declares (e.g. InvalidLayerPartException's upload id)."""
    shapes = {s.name: s for s in operation(op_name).error_shapes}
    shape = shapes.get(err.code)
    if shape is None or not err.members:
        return {}
    return dict(encode.write(shape, err.members))


def handle(target: str | None, body: bytes, ctx: Context) -> Exchange:
    """Decode, validate, run and encode one request. Never raises."""
    op_name = _operation_name(target)
    exchange = Exchange(op_name or str(target), {}, ctx.account, ctx.region, principal=ctx.principal)
    try:
        if op_name is None:
            raise UnknownOperationException(f"Unknown operation {target!r} for Amazon ECR")
        op = operation(op_name)
        try:
            raw = json.loads(body or b"{}")
        except (ValueError, RecursionError):  # nested deeper than the parser goes
            raise SerializationException("The request body is not valid JSON") from None
        params = decode.read(op.input_shape, raw, op_name, _fail(error_codes(op))) if op.input_shape else {}
        exchange.params = params
        access.check(ctx, op_name, params)
        handler = handlers().get(op_name)
        if handler is None:
            raise NotImplementedByFake(
                f"pytest-ecr does not implement {op_name} yet; see the operations table in its docs"
            )
        result = handler(ctx, **params)
        exchange.response = encode.write(op.output_shape, result) if op.output_shape is not None else {}
    except ECRError as err:
        exchange.status = err.status
        exchange.error_code = err.code
        exchange.error_message = err.message
        if op_name is not None:
            exchange.response = _error_members(op_name, err)
        if isinstance(err, NotImplementedByFake):
            exchange.traceback = err.message
    except Exception as exc:
        # A bug in the fake: answer as ECR would (500), keep the traceback to fail the test with.
        exchange.status = ServerException.status
        exchange.error_code = "ServerException"
        exchange.error_message = f"pytest-ecr internal error: {type(exc).__name__}: {exc}"
        exchange.response = {}
        exchange.traceback = traceback.format_exc()
    return exchange

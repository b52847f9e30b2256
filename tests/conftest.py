"""Suite-wide checks: every response the fake sends is checked against botocore's output shape, and
every error code against the operation's modelled error list."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

from pytest_ecr import FakeECR
from pytest_ecr.protocol.dispatch import Exchange
from pytest_ecr.protocol.model import error_codes, operation

#: Errors the fake may return for any operation; not ECR error shapes, so never in a model list:
#: the protocol's, and IAM's refusal (common to every AWS operation).
PROTOCOL_ERRORS = frozenset({"SerializationException", "UnknownOperationException", "AccessDeniedException"})


def shape_violations(call: Exchange) -> list[str]:
    """What is wrong with one answered call, judged by botocore's model alone."""
    try:
        op = operation(call.operation)
    except Exception:
        return [] if call.error_code in PROTOCOL_ERRORS else [f"unknown operation {call.operation}"]
    if call.error_code is not None:
        allowed = error_codes(op) | PROTOCOL_ERRORS
        return (
            []
            if call.error_code in allowed or call.injected  # a fault rule may answer common AWS errors
            else [f"{call.operation}: {call.error_code} is not a modelled error"]
        )
    if op.output_shape is None:
        return [] if call.response == {} else [f"{call.operation}: body for an operation without output"]
    parsed = create_parser("json").parse(
        {"body": json.dumps(call.response).encode(), "headers": {}, "status_code": 200}, op.output_shape
    )
    parsed.pop("ResponseMetadata", None)
    report = ParamValidator().validate(parsed, op.output_shape)
    # Model minimums describe requests: real responses carry empty lists such as `failures: []`
    # and `imageIds: []` (spec §1.1), so only a list's minimum length is not checked here.
    errors = [
        e
        for e in report._errors
        if not (e[0] == "invalid length" and _shape_at(op.output_shape, e[1]).type_name == "list")
    ]
    return [f"{call.operation}: {e}" for e in errors]


def _shape_at(shape: Any, path: str) -> Any:
    """The shape that botocore's error path (``images[0].imageId``) names."""
    for part in re.split(r"\.|(?=\[)", path):
        if part.startswith("["):
            shape = shape.member
        elif part:
            shape = shape.members[part]
    return shape


@pytest.fixture
def ecr(ecr: FakeECR) -> Iterator[FakeECR]:
    """The plugin's fixture, plus the model checks on everything it answered during the test."""
    yield ecr
    problems = [v for call in ecr.calls for v in shape_violations(call)]
    assert not problems, "\n".join(problems)


@pytest.fixture
def raw_client(ecr: FakeECR) -> Any:
    """A client with botocore's own parameter validation off: only the fake validates."""
    from botocore.config import Config

    return ecr.client(config=Config(parameter_validation=False))


@pytest.fixture
def limiter_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the ``adaptive`` retry mode's rate limiter passes on the fake's clock, in seconds
    (botocore's and aiobotocore's buckets alike)."""
    from pytest_ecr import sleeps

    waits: list[float] = []
    refill_wait = sleeps.refill_wait

    def spy(bucket: Any, amount: float) -> float:
        waits.append(refill_wait(bucket, amount))
        return waits[-1]

    monkeypatch.setattr(sleeps, "refill_wait", spy)
    return waits

"""Fault injection: make the fake fail the way real ECR and real networks do, on purpose.

``ecr.faults`` (a :class:`Faults`) holds rules. Each request a client sends is checked against the
rules in the order they were added; the first that matches decides what happens instead of (or, for
``drop_connection(after_processing=True)``, after) the normal answer::

    ecr.faults.fail("PutImage", error="ThrottlingException", times=2)   # 400 "Rate exceeded", twice
    ecr.faults.fail("BatchGetImage", status=500)                        # ServerException, every call
    ecr.faults.fail("DescribeImages", probability=0.3)                  # seeded: ecr.faults.seed(7)
    ecr.faults.fail("PutImage", error="ImageTagAlreadyExistsException",
                    when=lambda params: params.get("imageTag") == "latest")
    ecr.faults.drop_connection("DescribeImages", times=1)               # botocore sees a closed socket
    ecr.faults.clear()

Errors are answered exactly as ECR answers them (JSON 1.1 ``{"__type": ..., "message": ...}``,
status 400, 500 for ``ServerException``), so botocore's real retry logic classifies them:
``ThrottlingException`` is retried as throttling, 5xx as transient, modelled errors surface as
``client.exceptions.<Code>``. Dropped connections are raised from the ``before-send`` handler as
botocore's own connection errors, which its retry logic treats as a network failure.

Injected answers are logged in ``ecr.calls`` with ``call.injected = True``; they are never reported
as the fake's own problems. Faults apply to requests from clients only, never to the fake's helpers
(``ecr.push_image``, ``ecr.create_repository``...), so test setup is not disturbed.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .names import did_you_mean, operation_name
from .protocol.model import TARGET_PREFIX, error_codes, operation, operation_names

if TYPE_CHECKING:
    from .protocol.dispatch import Exchange

#: Errors any AWS JSON service may answer for any operation, beyond the model's lists, with the
#: HTTP status and message real AWS sends.
COMMON_ERRORS: dict[str, tuple[int, str]] = {
    "ThrottlingException": (400, "Rate exceeded"),
    "ServiceUnavailable": (503, "Service Unavailable"),
    "InternalFailure": (
        500,
        "The request processing has failed because of an unknown error, exception or failure.",
    ),
    "AccessDeniedException": (400, "User is not authorized to perform this operation"),
    "ExpiredTokenException": (400, "The security token included in the request is expired"),
    "UnrecognizedClientException": (400, "The security token included in the request is invalid."),
    "RequestTimeoutException": (408, "Request timed out"),
}

#: The error code a bare ``status=`` stands for.
STATUS_ERRORS: dict[int, str] = {
    500: "ServerException",
    503: "ServiceUnavailable",
    408: "RequestTimeoutException",
    400: "ThrottlingException",
}

_ANY = "*"

Predicate = Callable[[dict[str, Any]], bool]
DropKind = Literal["closed", "connect", "read_timeout"]


@dataclass(eq=False)
class Fault:
    """One rule. ``fired`` counts the requests it has answered."""

    operation: str
    kind: Literal["error", "drop"]
    error: str | None = None
    status: int = 400
    message: str = ""
    times: int | None = None
    probability: float | None = None
    when: Predicate | None = None
    drop: DropKind = "closed"
    after_processing: bool = False
    fired: int = 0
    _owner: Faults | None = field(default=None, repr=False, compare=False)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def remove(self) -> None:
        """Stop this rule (the others stay)."""
        if self._owner is not None:
            self._owner._remove(self)


class ConnectionDropped(Exception):
    """Raised by :meth:`pytest_ecr.FakeECR.handle` when a rule drops the connection; each
    transport turns it into its own failure (botocore: ``ConnectionClosedError``...)."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"connection dropped by a pytest-ecr fault for {fault.operation}")
        self.fault = fault


def _check_operation(name: str) -> str:
    """The operation a rule is for: ``"*"``, an ECR operation or a boto3 method name."""
    __tracebackhide__ = True
    return name if name == _ANY else operation_name(name)


def _resolve_error(name: str, error: str | None, status: int | None) -> tuple[str, int]:
    __tracebackhide__ = True
    if error is None:
        if status is None:
            return "ServerException", 500
        if status not in STATUS_ERRORS:
            raise ValueError(
                f"give error= with status={status}; a bare status can be {sorted(STATUS_ERRORS)}"
            )
        error = STATUS_ERRORS[status]
    modelled = (
        frozenset({"ServerException"}) if name == _ANY else error_codes(operation(name))
    )  # ServerException is modelled for every ECR operation
    if error in COMMON_ERRORS:
        default_status = COMMON_ERRORS[error][0]
    elif error in modelled:
        default_status = 500 if error == "ServerException" else 400
    else:
        allowed = sorted(modelled | COMMON_ERRORS.keys())
        raise ValueError(
            f"{error!r} is not an error {name if name != _ANY else 'every operation'} can answer"
            + did_you_mean(error, allowed)
            + f" Allowed: {', '.join(allowed)}"
        )
    return error, status if status is not None else default_status


def _check_frequency(times: int | None, probability: float | None) -> None:
    __tracebackhide__ = True
    if times is not None and times < 1:
        raise ValueError(f"times must be at least 1, got {times}")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be between 0 and 1, got {probability}")


class Faults:
    """The fault rules of one fake (``ecr.faults``)."""

    def __init__(self, seed: int | None = None) -> None:
        # Without a seed, draw one from the global RNG: pytest-randomly reseeds it per test, so a
        # run repeated with the same ``--randomly-seed`` draws the same faults.
        self._rng = random.Random(random.getrandbits(64) if seed is None else seed)
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def seed(self, seed: int) -> None:
        """Restart the random draws of ``probability=`` rules from ``seed``."""
        with self._lock:
            self._rng.seed(seed)

    def fail(
        self,
        operation: str,
        error: str | None = None,
        *,
        status: int | None = None,
        message: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        when: Predicate | None = None,
    ) -> Fault:
        """Answer ``operation`` (``"*"``: any) with an error instead of running it.

        ``error`` is one of the operation's modelled error codes or a common AWS error
        (:data:`COMMON_ERRORS`: ``ThrottlingException``...); default ``ServerException``, or the
        error a bare ``status`` stands for (500 ServerException, 503 ServiceUnavailable).
        ``times`` limits how often it fires (default: every matching call until cleared);
        ``probability`` fires it at random (seeded, see :meth:`seed`); ``when`` receives the
        request members and decides whether the call matches.
        """
        __tracebackhide__ = True
        operation = _check_operation(operation)
        _check_frequency(times, probability)
        code, code_status = _resolve_error(operation, error, status)
        default_message = COMMON_ERRORS.get(code, (0, f"Injected {code} (pytest-ecr fault)"))[1]
        return self._add(
            Fault(operation, "error", code, code_status, message or default_message, times, probability, when)
        )

    def drop_connection(
        self,
        operation: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        when: Predicate | None = None,
        error: DropKind = "closed",
        after_processing: bool = False,
    ) -> Fault:
        """Fail ``operation`` (``"*"``: any) at the network level: botocore raises
        ``ConnectionClosedError`` (``error="closed"``), ``EndpointConnectionError`` (``"connect"``)
        or ``ReadTimeoutError`` (``"read_timeout"``) and its retry logic takes over.

        With ``after_processing=True`` the fake does the work first and the response is lost, as
        when a connection drops after ECR committed: the way to test that retries are idempotent.
        """
        __tracebackhide__ = True
        operation = _check_operation(operation)
        _check_frequency(times, probability)
        if error not in ("closed", "connect", "read_timeout"):
            raise ValueError(f"error must be 'closed', 'connect' or 'read_timeout', got {error!r}")
        if after_processing and error == "connect":
            raise ValueError("a connection that was never made cannot drop after processing")
        return self._add(
            Fault(operation, "drop", times=times, probability=probability, when=when, drop=error,
                  after_processing=after_processing)
        )  # fmt: skip

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def __iter__(self) -> Iterator[Fault]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"Faults({self.rules})"

    def _add(self, fault: Fault) -> Fault:
        fault._owner = self
        with self._lock:
            self._rules.append(fault)
        return fault

    def _remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._rules:
                self._rules.remove(fault)

    def match(self, operation: str, params: dict[str, Any]) -> Fault | None:
        """The rule that fires for this request, counted as fired; None to answer normally."""
        if not self._rules:
            return None
        with self._lock:
            for fault in self._rules:
                if fault.exhausted or fault.operation not in (operation, _ANY):
                    continue
                if fault.when is not None and not fault.when(params):
                    continue
                if fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
        return None


_DROP_CODES: dict[str, str] = {
    "closed": "ConnectionClosedError",
    "connect": "EndpointConnectionError",
    "read_timeout": "ReadTimeoutError",
}


def requested(target: str | None, body: bytes) -> tuple[str, dict[str, Any]]:
    """The operation and request members a fault rule is matched against: decoded as the
    dispatcher decodes them (blobs as bytes), or the raw JSON if the request is invalid."""
    import json

    from .protocol import decode
    from .service.errors import ECRError, ValidationException

    name = target[len(TARGET_PREFIX) :] if target and target.startswith(TARGET_PREFIX) else str(target)
    try:
        raw = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return name, {}
    if not isinstance(raw, dict):
        return name, {}
    shape = operation(name).input_shape if name in operation_names() else None
    if shape is None:
        return name, raw
    try:
        return name, dict(decode.read(shape, raw, name, ValidationException))
    except ECRError:
        return name, raw


def injected_exchange(fault: Fault, name: str, params: dict[str, Any], account: str, region: str) -> Exchange:
    """What the call log keeps for a request a rule answered instead of the fake."""
    from .protocol.dispatch import Exchange

    exchange = Exchange(name, params, account, region, injected=True)
    if fault.kind == "error":
        exchange.status = fault.status
        exchange.error_code = fault.error
        exchange.error_message = fault.message
    else:  # no HTTP response at all
        exchange.status = 0
        exchange.error_code = _DROP_CODES[fault.drop]
        exchange.error_message = "connection dropped by a pytest-ecr fault"
    return exchange


def botocore_error(fault: Fault, url: str) -> Exception:
    """The exception botocore's HTTP layer raises for the network failure ``fault`` stands for."""
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

    if fault.drop == "connect":
        return EndpointConnectionError(endpoint_url=url, error="pytest-ecr fault: connection refused")
    if fault.drop == "read_timeout":
        return ReadTimeoutError(endpoint_url=url, error="pytest-ecr fault: read timed out")
    return ConnectionClosedError(endpoint_url=url)

"""The control API: what the pytest fixtures do, for test suites in other processes and languages.

Everything lives under :data:`PREFIX`, a path ECR never uses (its API is ``POST /``, the
registry ``/v2/...``, blob URLs ``/prod-<region>-starport-layer-bucket...``). JSON in, JSON out;
errors are ``{"error": code, "message": text}`` with a 4xx status:

* ``GET clock``: ``{"now": epoch seconds, "time": ISO 8601, "frozen": bool}``;
* ``POST clock/advance`` ``{"seconds": N}`` and ``POST clock/freeze`` ``{"at": epoch or ISO}``
  (``at`` optional: now): the clock as ``GET clock`` shows it, afterwards;
* ``POST seed`` with a seed file's object (``repositories``, ``images``, ``upstream``,
  ``account``, ``region``): checked as a whole, then applied;
* ``POST reset``: every account and region empty again (and the call log), the clock untouched;
* ``GET state``: the whole state as ``serve --state`` writes it (:mod:`.state`).

There is no token: the server listens on 127.0.0.1 only, and two checks keep a web page the
user visits from driving it: the ``Host`` must be a loopback name (no DNS rebinding), and a
``POST`` must say ``Content-Type: application/json`` (a cross-site page cannot send that without
a CORS preflight, which the fake never grants).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..clock import to_timestamp
from ..fake import FakeError
from ..seed_schema import SeedError, check_seed
from .messages import Reply, Request
from .state import encode_state, reset

if TYPE_CHECKING:
    from ..fake import FakeECR

PREFIX = "/_pytest_ecr/"
#: Host names a control request may carry: the loopback address and ``localhost`` (and names
#: under it, RFC 6761), with or without a port
_LOOPBACK_HOST = re.compile(r"(127\.0\.0\.1|\[::1\]|(?:[a-z0-9-]+\.)*localhost)(:[0-9]{1,5})?", re.IGNORECASE)
MAX_CONTROL_BODY = 1024 * 1024
#: the latest time the clock may be set to: far past any test, and with room before datetime's
#: year 9999 for the work scheduled after it
LATEST_TEXT = "9000-01-01T00:00:00Z"
LATEST = 221845392000.0


class ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def is_control_path(path: str) -> bool:
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


def answer(fake: FakeECR, request: Request) -> Reply:
    """Serve one control request (under the fake's lock: it reads and writes the whole state)."""
    try:
        route = _ROUTES.get(request.path[len(PREFIX) :])
        if route is None:
            raise ControlError(
                404, "NotFound", f"no control route {request.path}; the routes are {', '.join(_ROUTE_NAMES)}"
            )
        method, handle = route
        if request.method != method:
            raise ControlError(
                405, "MethodNotAllowed", f"{request.path} takes {method}, not {request.method}"
            )
        _check_origin(request)
        body = _json_body(request) if method == "POST" else {}
        with fake._lock:
            return _json(200, handle(fake, body))
    except ControlError as err:
        return _json(err.status, {"error": err.code, "message": str(err)})


def _check_origin(request: Request) -> None:
    host = request.header("host") or ""
    if not _LOOPBACK_HOST.fullmatch(host):
        raise ControlError(403, "Forbidden", f"control requests must name a loopback host, not {host!r}")
    if request.method == "POST":
        kind = (request.header("content-type") or "").partition(";")[0].strip().lower()
        if kind != "application/json":
            raise ControlError(
                415,
                "UnsupportedMediaType",
                f"a control POST must be Content-Type: application/json, not {kind!r}",
            )


def _json_body(request: Request) -> dict[str, Any]:
    if request.header("transfer-encoding") or int(request.header("content-length") or 0) > MAX_CONTROL_BODY:
        raise ControlError(
            413,
            "TooLarge",
            f"a control request body must have a Content-Length of at most {MAX_CONTROL_BODY}",
        )
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise ControlError(400, "BadJSON", f"the request body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ControlError(400, "BadJSON", "the request body must be a JSON object")
    return data


def _only(body: dict[str, Any], *allowed: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) or "none"
        raise ControlError(400, "BadParameter", f"unknown key(s) {', '.join(unknown)}; accepted: {accepted}")


def _clock(fake: FakeECR, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "now": fake.clock.now(),
        "time": fake.clock.now_datetime().isoformat(),
        "frozen": fake.clock.frozen,
    }


def _advance(fake: FakeECR, body: dict[str, Any]) -> dict[str, Any]:
    _only(body, "seconds")
    seconds = _number(body.get("seconds"), "seconds must be a number")
    if seconds < 0:
        raise ControlError(
            400, "BadParameter", f"the ECR clock never goes backwards (asked to advance {seconds} s)"
        )
    _before_latest(fake.clock.now() + seconds)
    fake.clock.advance(seconds)
    return _clock(fake, body)


def _number(value: Any, message: str) -> float:
    """A finite JSON number as a float (JSON's integers have no size limit; floats must hold it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(400, "BadParameter", f"{message}, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ControlError(400, "BadParameter", f"{message}, got a number too large for a time")
    return number


def _before_latest(moment: float) -> None:
    if moment > LATEST:
        raise ControlError(
            400, "BadParameter", f"the clock cannot pass {LATEST_TEXT} (asked for epoch second {moment:.0f})"
        )


def _freeze(fake: FakeECR, body: dict[str, Any]) -> dict[str, Any]:
    _only(body, "at")
    at = body.get("at")
    if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float, str))):
        raise ControlError(400, "BadParameter", f"at must be epoch seconds or an ISO 8601 time, got {at!r}")
    if isinstance(at, (int, float)):
        at = _number(at, "at must be epoch seconds")
    try:
        moment = None if at is None else to_timestamp(at)
        if moment is not None:
            _before_latest(moment)
        fake.clock.freeze(moment)
    except (ValueError, OverflowError, OSError) as err:  # an unparsable or impossible time
        raise ControlError(400, "BadParameter", str(err)) from None
    fake.settle_due()
    return _clock(fake, body)


def _seed(fake: FakeECR, body: dict[str, Any]) -> dict[str, Any]:
    try:
        check_seed(body, "the seed")
        fake.seed(**body)
    except (SeedError, FakeError) as err:
        raise ControlError(400, "BadSeed", str(err)) from None
    return _summary(fake)


def _reset(fake: FakeECR, body: dict[str, Any]) -> dict[str, Any]:
    _only(body)
    reset(fake)
    return _summary(fake)


def _state(fake: FakeECR, body: dict[str, Any]) -> dict[str, Any]:
    return encode_state(fake)


def _summary(fake: FakeECR) -> dict[str, Any]:
    repos = [repo for reg in fake.store.registries.values() for repo in reg.repositories.values()]
    return {"repositories": len(repos), "images": sum(len(repo.images) for repo in repos)}


def _json(status: int, data: dict[str, Any]) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(data).encode() + b"\n")


_ROUTES: dict[str, tuple[str, Callable[[FakeECR, dict[str, Any]], dict[str, Any]]]] = {
    "clock": ("GET", _clock),
    "clock/advance": ("POST", _advance),
    "clock/freeze": ("POST", _freeze),
    "seed": ("POST", _seed),
    "reset": ("POST", _reset),
    "state": ("GET", _state),
}
_ROUTE_NAMES = [f"{method} {PREFIX}{name}" for name, (method, _) in _ROUTES.items()]

"""The asyncio transport: aiobotocore (and so aioboto3) ECR clients answered by the same fake.

aiobotocore sessions copy botocore's built-in handlers, ours included, but emit them through an
emitter that awaits what handlers return and expects responses whose ``content`` is awaitable. It
swaps some built-in handlers for async twins through its ``aiobotocore.hooks._HANDLER_MAPPING``;
mapping ours there, as soon as that module is imported, gives every aiobotocore session the async
dispatcher below. It answers from the same fake as the sync one (same state, same call log, same
fault rules, same errors), so the response goes through aiobotocore's real parser and retries.

While a fake is active, three more things hold for aiobotocore, undone when the last fake stops:

* its endpoint's ``_send`` (the one place an aiohttp/httpx request leaves the process) is guarded
  by the same network blocker as botocore's (:func:`pytest_ecr.transport.check_network`);
* its retry and waiter sleeps are virtual: ``asyncio.sleep`` as seen from ``aiobotocore.endpoint``
  and ``aiobotocore.waiter`` advances the active fake's clock and only yields to the event loop,
  so ``ImageScanComplete`` polls on its real 5-second schedule in no real time. The global
  ``asyncio.sleep`` is left alone. The httpx backend's anyio sleeps are still real;
* the ``adaptive`` retry mode's rate limiter (``AsyncTokenBucket``) waits in virtual time, as
  botocore's does (:mod:`pytest_ecr.sleeps`, whose stand-in clock it reads through botocore's
  ``Clock``): its ``_acquire``, looked up on the class by every bucket, old ones included, passes
  the refill time on the fake's clock instead of waiting on the bucket's condition.

aiobotocore is reached through ``importlib`` (it is no dependency, so it has no stubs here).
This module is imported only by the import hook in :mod:`pytest_ecr._hook`, when aiobotocore
itself is being imported: pytest-ecr neither depends on aiobotocore nor loads it.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
import warnings
from types import ModuleType
from typing import Any

from . import _hook, sleeps
from ._hook import FAKE_CREDENTIALS

_ENDPOINT = "aiobotocore.endpoint"
_WAITER = "aiobotocore.waiter"
_BUCKET = "aiobotocore.retries.bucket"

_lock = threading.RLock()
#: aiobotocore modules whose import has completed (a module in sys.modules may still be executing).
_loaded: set[str] = set()
#: Per patched module: (owner, attribute, original), restored when the last fake stops.
_patched: dict[str, list[tuple[Any, str, Any]]] = {}


async def before_send(request: Any, event_name: str = "", **kwargs: Any) -> Any:
    """aiobotocore's twin of :func:`pytest_ecr._hook.before_send`: the same answer, awaitable."""
    answer = _hook.before_send(request, event_name, **kwargs)
    if answer is None:
        return None
    response_class = importlib.import_module("aiobotocore.awsrequest").AioAWSResponse
    return response_class(answer.url, answer.status_code, answer.headers, _Body(answer.content))


def before_sign(request_signer: Any = None, **_: Any) -> None:
    """aiobotocore's twin of :func:`pytest_ecr._hook.before_sign` (its signer awaits credentials)."""
    if _hook.lacks_credentials(request_signer):
        credentials_class = importlib.import_module("aiobotocore.credentials").AioCredentials
        request_signer._credentials = credentials_class(*FAKE_CREDENTIALS)


class _Body:
    """The ``raw`` of an answered response: what ``AioAWSResponse.content`` reads (ECR has no
    streaming output, so nothing else of aiohttp's response is ever asked for)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        return self._data


class _VirtualAsyncio:
    """Stands in for ``asyncio`` inside aiobotocore's endpoint and waiter: ``sleep`` advances the
    active fake's clock instead of waiting."""

    async def sleep(self, delay: float, result: Any = None) -> Any:
        active = _hook.ACTIVE
        if active:
            active[-1].clock.advance(max(0.0, float(delay)))
            delay = 0
        return await asyncio.sleep(delay, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


_VIRTUAL_ASYNCIO = _VirtualAsyncio()


def loaded(module: ModuleType) -> None:
    """Called by the import hook once an aiobotocore module it watches has been imported."""
    with _lock:
        if module.__name__ == "aiobotocore.hooks":
            _map_handlers(module)
        _loaded.add(module.__name__)
        if refresh not in _hook.LISTENERS:
            _hook.LISTENERS.append(refresh)
        refresh()


def _map_handlers(hooks: ModuleType) -> None:
    mapping = getattr(hooks, "_HANDLER_MAPPING", None)
    if not isinstance(mapping, dict):
        warnings.warn(
            "pytest-ecr cannot answer this aiobotocore's clients: aiobotocore.hooks has no "
            "_HANDLER_MAPPING (pytest-ecr knows aiobotocore 2.x and 3.x)",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    mapping[_hook.before_send] = before_send
    mapping[_hook.before_sign] = before_sign


def refresh() -> None:
    """Patch aiobotocore while any fake is active, restore it when none is."""
    with _lock:
        if not _hook.ACTIVE:
            for saved in _patched.values():
                for owner, attribute, original in reversed(saved):
                    setattr(owner, attribute, original)
            _patched.clear()
            return
        for name in (_ENDPOINT, _WAITER, _BUCKET):
            module = sys.modules.get(name)
            if module is not None and name in _loaded and name not in _patched:
                _patched[name] = _patch(module)


def _patch(module: Any) -> list[tuple[Any, str, Any]]:
    if module.__name__ == _BUCKET:
        return _patch_bucket(module)
    saved: list[tuple[Any, str, Any]] = [(module, "asyncio", module.asyncio)]
    module.asyncio = _VIRTUAL_ASYNCIO
    if module.__name__ == _ENDPOINT:
        endpoint_class = module.AioEndpoint
        original_send = endpoint_class.__dict__["_send"]

        async def _send(endpoint: Any, request: Any) -> Any:
            from .transport import check_network

            check_network(request)
            return await original_send(endpoint, request)

        saved.append((endpoint_class, "_send", original_send))
        endpoint_class._send = _send
    return saved


def _patch_bucket(module: Any) -> list[tuple[Any, str, Any]]:
    bucket_class: Any = getattr(module, "AsyncTokenBucket", None)
    original = getattr(bucket_class, "__dict__", {}).get("_acquire")
    if original is None or not hasattr(bucket_class, "_sleep_amount"):
        return []  # an aiobotocore with another bucket: its limiter waits for real
    from botocore.exceptions import CapacityNotAvailableError

    async def _acquire(bucket: Any, amount: float = 1, block: bool = True) -> Any:
        # As sleeps._acquire_in_virtual_time for botocore's bucket: aiobotocore's own attempt,
        # non-blocking, and the refill time passed on the fake's clock instead of awaiting the
        # bucket's condition. Nothing is awaited in between: the caller holds the condition, so
        # no other task could change the rate anyway, and not yielding suits anyio's backends too.
        for _ in range(sleeps.MAX_VIRTUAL_WAITS):
            try:
                return await original(bucket, amount=amount, block=False)
            except CapacityNotAvailableError:
                if not block:
                    raise
            if not sleeps.advance_innermost(sleeps.refill_wait(bucket, amount)):
                break
        return await original(bucket, amount=amount, block=block)

    bucket_class._acquire = _acquire
    return [(bucket_class, "_acquire", original)]


def patched() -> list[str]:
    """The aiobotocore modules patched now (for tests of the isolation)."""
    with _lock:
        return sorted(_patched)

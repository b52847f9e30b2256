"""Install pytest-ecr's ``before-send`` dispatcher into botocore without importing botocore.

botocore copies its built-in handlers (``botocore.handlers.BUILTIN_HANDLERS``) into every new
session, and every client copies its session's handlers. Appending one dispatcher there, as soon as
``botocore.handlers`` is imported, therefore reaches every session and client made afterwards,
including clients created before a fake is activated. The dispatcher does nothing unless a fake is
active. Importing this module costs microseconds: botocore is only touched once something else
imports it, which keeps the plugin free for test runs that never use ECR. The same import hook
hands aiobotocore's modules, when something imports them, to :mod:`pytest_ecr.aio`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Protocol

_HANDLERS_MODULE = "botocore.handlers"


class Responder(Protocol):
    """What an active fake offers the dispatcher."""

    def answer_botocore(self, request: Any, event_name: str) -> Any: ...

    @property
    def clock(self) -> Any: ...


#: Active fakes, innermost last. Only the innermost answers.
ACTIVE: list[Responder] = []

#: Called after a fake starts or stops (the asyncio transport, once aiobotocore is loaded).
LISTENERS: list[Callable[[], None]] = []


def activate(responder: Responder) -> None:
    ACTIVE.append(responder)
    for listener in LISTENERS:
        listener()


def deactivate(responder: Responder) -> None:
    ACTIVE.remove(responder)
    for listener in LISTENERS:
        listener()


def before_send(request: Any, event_name: str = "", **_: Any) -> Any:
    """botocore ``before-send.ecr`` handler: answer from the active fake, else let botocore send."""
    if not ACTIVE:
        return None
    answer = ACTIVE[-1].answer_botocore(request, event_name)
    # botocore calls every before-send handler even after one answered. Pointing the answered
    # request at a reserved host keeps the others (moto's mock_aws, a proxy recorder) from acting
    # on it a second time; botocore reuses the request only for retries, which we answer again.
    if not request.url.startswith(ANSWERED_PREFIX):
        request.url = ANSWERED_PREFIX + request.url
    return answer


#: What an answered request's URL starts with (``.invalid`` is reserved: it never resolves).
ANSWERED_PREFIX = "https://answered-by-pytest-ecr.invalid/"


def before_sign(request_signer: Any = None, **_: Any) -> None:
    """botocore ``before-sign.ecr`` handler: give a client that found no credentials fake ones.

    A client created before the fake started, on a machine without AWS credentials, has none and
    could not sign; the fake answers it anyway, so it gets the same static fake credentials.
    """
    if lacks_credentials(request_signer):
        from botocore.credentials import Credentials

        request_signer._credentials = Credentials(*FAKE_CREDENTIALS)


def lacks_credentials(request_signer: Any) -> bool:
    """Whether a fake is active and the client about to sign found no credentials."""
    if not ACTIVE or request_signer is None:
        return False
    return getattr(request_signer, "_credentials", True) is None


FAKE_CREDENTIALS = ("AKIAPYTESTECRFAKE000", "pytest-ecr-fake-secret-access-key")


def _register(handlers: ModuleType) -> None:
    for spec in (
        ("before-send.ecr", before_send, handlers.REGISTER_FIRST),
        ("before-sign.ecr", before_sign, handlers.REGISTER_FIRST),
    ):
        if spec not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append(spec)


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped: importlib.abc.Loader) -> None:
        self._wrapped = wrapped

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._wrapped.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._wrapped.exec_module(module)
        _WATCHED[module.__name__](module)


def _aio_loaded(module: ModuleType) -> None:
    # aiobotocore is being imported: pytest_ecr.aio adapts the transport to it (see there).
    importlib.import_module("pytest_ecr.aio").loaded(module)


#: Modules whose import triggers a registration. aiobotocore's are only ever seen where it is installed.
_WATCHED: dict[str, Callable[[ModuleType], None]] = {
    _HANDLERS_MODULE: _register,
    "aiobotocore.hooks": _aio_loaded,
    "aiobotocore.endpoint": _aio_loaded,
    "aiobotocore.waiter": _aio_loaded,
    "aiobotocore.retries.bucket": _aio_loaded,
}


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _WATCHED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Make sure every botocore session created from now on carries the dispatcher."""
    for name, register in _WATCHED.items():
        module = sys.modules.get(name)
        if module is not None:
            register(module)
    if not all(name in sys.modules for name in _WATCHED) and not any(
        isinstance(f, _Finder) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _Finder())

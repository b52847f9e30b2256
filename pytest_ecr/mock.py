"""``mock_ecr()``: the fake without pytest, as a context manager or a decorator."""

from __future__ import annotations

import functools
import inspect
import unittest
from collections.abc import Callable
from typing import Any, TypeVar

from .fake import FakeECR

F = TypeVar("F", bound=Callable[..., Any])


class _MockECR:
    def __init__(self, **options: Any) -> None:
        self._options = options
        self.fake: FakeECR | None = None

    def __enter__(self) -> FakeECR:
        self.fake = FakeECR(**self._options).start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        if self.fake is not None:
            self.fake.stop()
            self.fake = None

    def __call__(self, func: F) -> F:
        if inspect.isclass(func):
            return self._decorate_class(func)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):
            raise TypeError("mock_ecr() does not decorate coroutine functions yet")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # A fresh fake for every call: decorated tests never share state.
            with _MockECR(**self._options):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _decorate_class(self, klass: type[Any]) -> type[Any]:
        """A fresh fake per test, as moto's ``mock_aws`` does for classes.

        unittest.TestCase: the fake starts before ``setUp`` and stops after ``tearDown`` and the
        cleanups, so all of them see the same fake. Other classes: the fake starts before
        ``setup_method`` and stops after ``teardown_method`` when the class has a ``setup_method``,
        else each ``test*`` method is wrapped like a decorated function. Class-level setup
        (``setUpClass``, ``setup_class``) runs outside any fake.
        """
        options = self._options
        if issubclass(klass, unittest.TestCase):
            set_up = klass.setUp

            @functools.wraps(set_up)
            def set_up_in_fake(test: unittest.TestCase) -> None:
                fake = FakeECR(**options).start()
                test.addCleanup(fake.stop)  # runs last: after tearDown and the test's own cleanups
                set_up(test)

            klass.setUp = set_up_in_fake  # type: ignore[method-assign,assignment]
            return klass
        setup_method = getattr(klass, "setup_method", None)
        if setup_method is None:
            for name in dir(klass):
                value = inspect.getattr_static(klass, name)
                if name.startswith("test") and inspect.isfunction(value):
                    setattr(klass, name, self(value))
            return klass
        teardown_method = getattr(klass, "teardown_method", None)

        @functools.wraps(setup_method)
        def setup_in_fake(instance: Any, method: Any = None) -> None:
            # Two parameters, so pytest passes the test method (it looks at the argument count).
            fake = FakeECR(**options).start()
            try:
                _call_with_method(setup_method, instance, method)
            except BaseException:
                fake.stop()
                raise
            instance._pytest_ecr_fake = fake

        def teardown_in_fake(instance: Any, method: Any = None) -> None:
            try:
                if teardown_method is not None:
                    _call_with_method(teardown_method, instance, method)
            finally:
                fake = instance.__dict__.pop("_pytest_ecr_fake", None)
                if fake is not None:
                    fake.stop()

        if teardown_method is not None:
            functools.update_wrapper(teardown_in_fake, teardown_method)
        klass.setup_method = setup_in_fake
        klass.teardown_method = teardown_in_fake
        return klass


def _call_with_method(func: Callable[..., Any], instance: Any, method: Any) -> None:
    """Call ``setup_method``/``teardown_method`` with the test method if it takes one (as pytest does)."""
    if len(inspect.signature(func).parameters) > 1:
        func(instance, method)
    else:
        func(instance)


def mock_ecr(**options: Any) -> _MockECR:
    """A fresh fake ECR while the block or decorated function runs.

    Decorating a class gives each of its tests a fresh fake; for a unittest.TestCase, ``setUp``,
    ``tearDown`` and cleanups run inside the test's fake (as with moto's ``mock_aws``).

    ``options`` are those of :class:`~pytest_ecr.FakeECR` (``account_id``, ``region``...).
    """
    return _MockECR(**options)

"""``--ecr-replace-moto``: ECR inside moto's ``mock_aws`` is answered by a pytest-ecr fake.

moto answers every AWS service from one ``before-send`` handler. pytest-ecr's handler is registered
for ``before-send.ecr``, which botocore calls before the generic ``before-send`` handlers, and it
marks each request it answers so that moto leaves it alone (see :mod:`pytest_ecr._hook`). So all
the bridge has to do is keep a fake active exactly while a ``mock_aws`` scope is: it wraps
``MockAWS.start`` / ``MockAWS.stop`` (a shim checked against moto's version; moto 5.x keeps one
nesting counter on the class, and only the outermost start and stop change its state, so the fake
follows the outermost scope too). moto keeps every other service. moto's server and proxy modes
(subclasses of ``MockAWS``) answer from another process and are left alone.

A fake already active when the scope starts (the ``ecr`` fixture) is used instead of a new one, and
the ``ecr`` fixture adopts the bridge's fake when the scope started first: one fake, not two.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from . import _hook

if TYPE_CHECKING:
    from .fake import FakeECR
    from .migration import Classified

#: moto major versions whose ``MockAWS`` (start/stop, class-level ``_nested_count``) the shim knows
SUPPORTED_MOTO_MAJOR = (5,)
INI_NAME = "ecr_replace_moto"
REPORT_OPTION = "ecr_migration_report"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def add_options(parser: pytest.Parser) -> None:
    """The bridge's options, in a block of their own."""
    group = parser.getgroup("ecr")
    parser.addini(
        INI_NAME,
        help="answer ECR inside moto's mock_aws with pytest-ecr (true/false; default: false)",
        default="false",
    )
    group.addoption(
        "--ecr-replace-moto",
        dest=INI_NAME,
        action="store_true",
        default=None,
        help="while moto's mock_aws is active, ECR is answered by a fresh pytest-ecr fake (moto keeps "
        "the other services); failures are summed up in a migration report",
    )
    group.addoption(
        "--ecr-migration-report",
        dest=REPORT_OPTION,
        metavar="PATH",
        default=None,
        help="with --ecr-replace-moto: also write the migration report to PATH",
    )


def enabled(config: pytest.Config) -> bool:
    """Whether the bridge is asked for (command line over ini); a UsageError for a bad ini value."""
    if config.getoption(INI_NAME, default=None):
        return True
    value = str(config.getini(INI_NAME)).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise pytest.UsageError(f"ini option {INI_NAME} must be true or false, got {value!r}")


def moto_account_id() -> str:
    """The account moto answers for: ``MOTO_ACCOUNT_ID`` if set, else moto's default."""
    from moto.core.models import DEFAULT_ACCOUNT_ID

    return os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID


def _moto_mock_class() -> type[Any]:
    """moto's in-process ``MockAWS``, after checking that the installed moto is one the shim knows."""
    try:
        import moto
        from moto.core.models import MockAWS
    except ImportError:
        raise pytest.UsageError(
            "--ecr-replace-moto / ecr_replace_moto needs moto installed (pip install 'moto>=5,<6')"
        ) from None
    version = getattr(moto, "__version__", "0")
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major not in SUPPORTED_MOTO_MAJOR or not all(
        hasattr(MockAWS, name) for name in ("start", "stop", "_nested_count")
    ):
        raise pytest.UsageError(
            f"--ecr-replace-moto supports moto 5.x (mock_aws's MockAWS.start/stop); moto {version} is "
            "installed"
        )
    return MockAWS


class MotoBridge:
    """Keeps a fake active while moto's ``mock_aws`` is; records which fakes each test saw."""

    def __init__(self, make_fake: Callable[[], FakeECR], report_path: str | None = None) -> None:
        self._make_fake = make_fake
        self._report_path = report_path
        #: the failed tests a fake answered, classified (the migration report)
        self.classified: list[Classified] = []
        #: ECR repositories moto's own store held, and the fake did not, when a scope ended
        self.moto_only: set[str] = set()
        self._mock_class: type[Any] | None = None
        self._saved: dict[str, Any] = {}
        #: the fake the bridge started for the active scope (None: no scope, or a fake it reused)
        self.fake: FakeECR | None = None
        #: the fake of a scope that ended keeping its data (moto's remove_data=False), for the next
        #: scope that starts without reset (a decorated class's setUp, then the test method)
        self._kept: FakeECR | None = None
        self._classified_this_test = False
        #: fakes that answered while the current test ran
        self.seen: list[FakeECR] = []

    def install(self) -> None:
        mock_class = self._mock_class = _moto_mock_class()
        start, stop = mock_class.start, mock_class.stop
        self._saved = {"start": start, "stop": stop}
        bridge = self

        def bridged_start(mock: Any, reset: bool = True) -> None:
            start(mock, reset)
            # the outermost scope has just started (moto counts on the mock's own class)
            if type(mock) is mock_class and mock_class._nested_count == 1:
                bridge.scope_started(reset)

        def bridged_stop(mock: Any, remove_data: bool = True) -> None:
            if type(mock) is mock_class and mock_class._nested_count == 1:
                bridge.scope_stopping(remove_data)  # before moto restores its environment
            stop(mock, remove_data)

        mock_class.start = bridged_start
        mock_class.stop = bridged_stop

    def uninstall(self) -> None:
        if self._mock_class is not None:
            for name, method in self._saved.items():
                setattr(self._mock_class, name, method)
            self._mock_class = None
        if self.fake is not None:
            self.fake.stop()
            self.fake = None

    def scope_started(self, reset: bool) -> None:
        """moto's state follows ``reset``: a fresh fake, or the one the last scope kept."""
        from .fake import FakeECR

        kept, self._kept = self._kept, None
        active = _hook.ACTIVE[-1] if _hook.ACTIVE else None
        if isinstance(active, FakeECR):
            self._saw(active)  # the ecr fixture's fake (or a mock_ecr's): it answers ECR already
            return
        self.fake = (kept if kept is not None and not reset else self._make_fake()).start()
        self._saw(self.fake)

    def scope_stopping(self, remove_data: bool) -> None:
        # what another moto service (CloudFormation...) made in moto's ECR store: for the report
        self.moto_only |= _moto_repositories() - {
            name for fake in self.seen for reg in fake.store.registries.values() for name in reg.repositories
        }
        if self.fake is not None:
            self.fake.stop()
            self._kept = None if remove_data else self.fake
            self.fake = None

    def _saw(self, fake: FakeECR) -> None:
        if not any(f is fake for f in self.seen):
            self.seen.append(fake)

    @contextmanager
    def fixture_fake(self, make: Callable[[], FakeECR]) -> Iterator[FakeECR]:
        """The ``ecr`` fixture's fake: the scope's one if a ``mock_aws`` scope is active (it stops
        with the scope), else a new one for the test."""
        if self.fake is not None and self.fake.active:
            yield self.fake
            return
        with make() as fake:
            self._saw(fake)
            yield fake

    # -- pytest hooks (registered only when the bridge is on) ---------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Any:
        self.seen = []
        self.moto_only = set()
        self._classified_this_test = False
        try:
            return (yield)
        finally:
            self.seen = []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report: pytest.TestReport = yield
        if report.failed and self.seen and not self._classified_this_test:
            from .migration import Failure, classify

            crash = getattr(report.longrepr, "reprcrash", None)
            message = str(getattr(crash, "message", report.longrepr)).strip()
            calls = [c for fake in self.seen for c in fake.calls]
            classified = classify(Failure(item.nodeid, calls, message, frozenset(self.moto_only)))
            # on the report, so that an xdist controller gets it from its workers too
            report.ecr_migration = classified.to_json()  # type: ignore[attr-defined]
            self._classified_this_test = True  # one entry per test, whichever phases failed
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "ecr_migration", None)
        if data is not None:
            from .migration import Classified

            self.classified.append(Classified.from_json(data))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from .migration import render

        lines = render(self.classified)
        terminalreporter.section("pytest-ecr migration report (--ecr-replace-moto)")
        for line in lines:
            terminalreporter.line(line)
        if self._report_path:
            with open(self._report_path, "w", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")
            terminalreporter.line(f"(written to {self._report_path})")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.uninstall()


@contextmanager
def fixture_fake(config: pytest.Config, make: Callable[[], FakeECR]) -> Iterator[FakeECR]:
    """What the ``ecr`` fixture yields: with the bridge on, one fake per ``mock_aws`` scope."""
    bridge = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if isinstance(bridge, MotoBridge):
        with bridge.fixture_fake(make) as fake:
            yield fake
    else:
        with make() as fake:
            yield fake


PLUGIN_NAME = "pytest-ecr-moto-bridge"


def configure(config: pytest.Config) -> None:
    """Install the bridge (and its report) when asked for."""
    if not enabled(config):
        if config.getoption(REPORT_OPTION, default=None):
            raise pytest.UsageError("--ecr-migration-report needs --ecr-replace-moto")
        return
    from .fake import FakeECR

    bridge = MotoBridge(
        lambda: FakeECR(account_id=moto_account_id(), region=_default_region()),
        config.getoption(REPORT_OPTION, default=None),
    )
    bridge.install()
    config.pluginmanager.register(bridge, PLUGIN_NAME)


def _default_region() -> str:
    """The region of clients that name none (each request's own region is used when it has one)."""
    from .config import REGION_NAME

    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or ""
    return region if REGION_NAME.fullmatch(region) else "us-east-1"


def _moto_repositories() -> set[str]:
    """Names of the repositories in moto's own ECR store (every account and region it made)."""
    from moto.ecr.models import ecr_backends

    return {
        name
        for account in dict.values(ecr_backends)
        for backend in dict.values(account)
        for name in backend.repositories
    }

"""The pytest plugin: ini and command-line options, markers, fixtures.

Nothing here imports boto3 or botocore at module level: a test run that never asks for the fake
pays only for this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from . import _hook, moto_bridge
from .config import ACCOUNT_ID, REGION_NAME, Config, add_options, resolve
from .contract import Contract, add_contract_options, contract_for

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

    from .clock import EcrClock
    from .fake import FakeECR, RepositoryHandle
    from .helpers import EcrHelpers
    from .remote import RemoteECR
    from .server import EcrServer
    from .service.context import ScanRequest

DOCS = "https://pytest-ecr.readthedocs.io/en/latest"
_CONFIG = pytest.StashKey[Config]()
#: contract mode's connection (absent without --ecr-endpoint)
_CONTRACT = pytest.StashKey[Contract]()
MARKERS = {
    "ecr_seed": "ecr_seed(repositories=(), images=None, upstream=None, account=None, region=None): create "
    "repositories, push synthetic images and seed upstream registries before the test, in the registry of "
    f"`account` in `region` (default: the fake's) (activates the `ecr` fixture). See {DOCS}/markers.html",
    "ecr_config": "ecr_config(account_id=None, region=None, allow_services=None): settings of the fake for "
    f"this test, over command line and ini. See {DOCS}/configuration.html",
    "ecr_time": "ecr_time(moment): freeze time (freezegun) at `moment` (ISO 8601 string, datetime or epoch "
    f"seconds) for the fake and the code under test; activates `ecr` and `ecr_clock`. See {DOCS}/time.html",
    "ecr_server": "ecr_server(tls=False, naming='account'): how the `ecr_server` fixture serves: HTTPS with a "
    "CA made for the test (`tls=True`, needs trustme), and how answers name registries ('account': "
    f"<account>.dkr.ecr.<region>.localhost:PORT, 'loopback': 127.0.0.1:PORT). See {DOCS}/server.html",
}

# Before any test module can make a botocore session, make sure sessions will carry our handlers.
_hook.install()


#: keyword names of the config marker, in the order it takes them positionally
CONFIG_KEYS = ("account_id", "region", "allow_services")
_SHADOW = pytest.StashKey[str]()


def _usage(marker: pytest.Mark) -> str:
    return MARKERS[marker.name].split(": ", 1)[0]


def _config_args(marker: pytest.Mark) -> dict[str, Any]:
    """The settings an ``ecr_config`` marker gives, checked (a TypeError or ValueError naming it)."""
    __tracebackhide__ = True
    from .names import arguments

    where = "@pytest.mark.ecr_config"
    given = arguments(marker.args, marker.kwargs, CONFIG_KEYS, where, _usage(marker))
    settings: dict[str, Any] = {}
    for name, pattern, example in (
        ("account_id", ACCOUNT_ID, "123456789012"),
        ("region", REGION_NAME, "us-east-1"),
    ):
        value = given.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise TypeError(
                f"{where}: {name} must be a string such as {example!r}, got {type(value).__name__} {value!r}"
            )
        if not pattern.fullmatch(value):
            raise ValueError(f"{where}: {name} must look like {example!r}, got {value!r}")
        settings[name] = value
    services = given.get("allow_services")
    if services is not None:
        if not isinstance(services, (list, tuple)) or not all(isinstance(s, str) for s in services):
            raise TypeError(
                f"{where}: allow_services must be a list of service names such as ['sts'], got {services!r}"
            )
        settings["allow_services"] = tuple(services)
    return settings


def _server_args(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``ecr_server`` marker's settings, checked (a TypeError or ValueError naming it)."""
    __tracebackhide__ = True
    from .names import arguments
    from .server.hosts import NAMINGS

    marker = request.node.get_closest_marker("ecr_server")
    if marker is None:
        return {}
    where = "@pytest.mark.ecr_server"
    given = arguments(marker.args, marker.kwargs, ("tls", "naming"), where, _usage(marker))
    if not isinstance(given.get("tls", False), bool):
        raise TypeError(f"{where}: tls must be True or False, got {given['tls']!r}")
    if given.get("naming", "account") not in NAMINGS:
        raise ValueError(
            f"{where}: naming must be one of {', '.join(map(repr, NAMINGS))}, got {given['naming']!r}"
        )
    return given


def _time_args(marker: pytest.Mark) -> float:
    """The moment an ``ecr_time`` marker freezes at, in epoch seconds (a TypeError naming it)."""
    __tracebackhide__ = True
    from .clock import to_timestamp
    from .names import arguments

    where = "@pytest.mark.ecr_time"
    given = arguments(marker.args, marker.kwargs, ("moment",), where, _usage(marker))
    if "moment" not in given:
        raise TypeError(f"{where}: give the moment to freeze at\nUsage: {_usage(marker)}")
    try:
        return to_timestamp(given["moment"])
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: cannot read {given['moment']!r} as a moment in time ({exc})") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    moto_bridge.add_options(parser)
    add_contract_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(trylast=True)
def pytest_ecr_scan_findings(scan: ScanRequest) -> list[dict[str, Any]]:
    """By default a scan finds nothing."""
    return []


def pytest_configure(config: pytest.Config) -> None:
    for text in MARKERS.values():
        config.addinivalue_line("markers", text)
    config.stash[_CONFIG] = resolve(config)
    moto_bridge.configure(config)
    contract = contract_for(config)
    if contract is not None:
        config.stash[_CONTRACT] = contract


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Contract mode: delete whatever is still under the run's prefix."""
    contract = session.config.stash.get(_CONTRACT, None)
    if contract is not None and contract.account is not None:
        from .remote import sweep

        failures = sweep(contract)
        if failures:
            session.config.get_terminal_writer().line(
                "pytest-ecr: could not delete what the run left under its prefix "
                f"{contract.prefix}:\n" + "\n".join(failures),
                red=True,
            )


def _test_config(request: pytest.FixtureRequest) -> Config:
    __tracebackhide__ = True
    cfg = request.config.stash[_CONFIG]
    for marker in reversed(list(request.node.iter_markers("ecr_config"))):
        cfg = replace(cfg, **_config_args(marker))
    return cfg


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked ecr_seed / ecr_config / ecr_time gets the fake without asking for it.

    Done here rather than with an autouse fixture, which every test of every project would pay for.
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        if item.get_closest_marker("ecr_time") and "ecr_clock" not in names:
            names.append("ecr_clock")
        if any(item.get_closest_marker(name) for name in MARKERS) and "ecr" not in names:
            names.append("ecr")


@pytest.fixture
def ecr(request: pytest.FixtureRequest) -> Iterator[FakeECR | RemoteECR]:
    """A fresh fake ECR, active for this test; boto3 ECR clients are answered by it. In contract
    mode (``--ecr-endpoint``), a :class:`~pytest_ecr.remote.RemoteECR` on the endpoint."""
    __tracebackhide__ = True
    from .clock import FREEZEGUN, TIME_MACHINE
    from .fake import FakeECR
    from .freezes import conflicting_freeze, wants_time_machine, written
    from .seed_schema import seed_arguments

    cfg = _test_config(request)
    seeds = []
    for marker in reversed(list(request.node.iter_markers("ecr_seed"))):
        seeds.append(seed_arguments(marker.args, marker.kwargs, "@pytest.mark.ecr_seed", _usage(marker)))
    time_marker = request.node.get_closest_marker("ecr_time")
    moment = _time_args(time_marker) if time_marker else None
    contract = request.config.stash.get(_CONTRACT, None)
    if contract is not None:
        yield from _remote_ecr(request, contract, time_marker, seeds)
        return
    if moment is not None:
        other = conflicting_freeze(request)
        if other is not None:
            pytest.fail(
                f"{written(time_marker)} and {other} both "
                "freeze time for this test; keep one of them (ecr_time freezes for the fake and the code "
                "under test alike)",
                pytrace=False,
            )
    tool = TIME_MACHINE if wants_time_machine(request) else FREEZEGUN
    hook = request.config.hook.pytest_ecr_scan_findings
    upstream_hook = request.config.hook.pytest_ecr_upstream_image
    # with --ecr-replace-moto inside a mock_aws scope: the scope's fake (one fake, not two)
    with moto_bridge.fixture_fake(
        request.config, lambda: FakeECR(cfg.account_id, cfg.region, cfg.allow_services)
    ) as fake:
        fake.options.scan_findings = lambda scan: hook(scan=scan)
        fake.options.upstream_images = fake.upstream_provider(lambda wanted: upstream_hook(request=wanted))
        fake.clock.tool = tool
        if moment is not None:
            fake.clock.freeze(moment)  # before seeding, so pushed_days_ago counts from it
        for seed in seeds:
            fake.seed(**seed)
        yield fake
    problems = fake.problems()
    if problems:
        details = "\n\n".join(f"{c.operation}: {c.error_code}\n{c.traceback}" for c in problems)
        pytest.fail(
            f"pytest-ecr could not answer {len(problems)} call(s) faithfully:\n\n{details}", pytrace=False
        )


def _remote_ecr(
    request: pytest.FixtureRequest,
    contract: Contract,
    time_marker: pytest.Mark | None,
    seeds: list[dict[str, Any]],
) -> Iterator[RemoteECR]:
    """The ``ecr`` fixture in contract mode: what needs the fake is skipped, naming it."""
    __tracebackhide__ = True
    from .remote import remote_ecr, skip_fake_only

    if time_marker is not None:
        skip_fake_only("@pytest.mark.ecr_time", contract.endpoint.label)
    region = None
    for marker in request.node.iter_markers("ecr_config"):
        settings = _config_args(marker)
        if "account_id" in settings:
            skip_fake_only("@pytest.mark.ecr_config(account_id=...)", contract.endpoint.label)
        region = region or settings.get("region")
    yield from remote_ecr(contract, request, region, seeds)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Notice an ``ecr`` fixture of the user's that shadows the plugin's (usual in moto-based
    suites): the plugin's markers and fixtures then fail with where it comes from, instead of
    silently not seeding or failing on an object that is not a FakeECR."""
    __tracebackhide__ = True
    value = yield
    if fixturedef.argname != "ecr":
        return value
    from .fake import FakeECR

    if not isinstance(value, FakeECR) and not _is_remote(value, request):
        from .shadowing import fixture_location, shadow_report

        report = shadow_report(value, fixture_location(fixturedef, request.config.rootpath))
        request.node.stash[_SHADOW] = report
        used = [f"@pytest.mark.{name}" for name in MARKERS if request.node.get_closest_marker(name)]
        if used:
            pytest.fail(f"{', '.join(used)} needs pytest-ecr's `ecr` fixture, but {report}", pytrace=False)
    return value


def _is_remote(ecr: Any, request: pytest.FixtureRequest) -> bool:
    """Whether ``ecr`` is contract mode's RemoteECR (never, without ``--ecr-endpoint``)."""
    if _CONTRACT not in request.config.stash:
        return False
    from .remote import RemoteECR

    return isinstance(ecr, RemoteECR)


def _helpers(ecr: Any, request: pytest.FixtureRequest) -> EcrHelpers:
    """The ``ecr`` fixture's FakeECR, or in contract mode its RemoteECR."""
    __tracebackhide__ = True
    if _is_remote(ecr, request):
        return ecr  # type: ignore[no-any-return]
    return _fake(ecr, request)


def _fake(ecr: Any, request: pytest.FixtureRequest) -> FakeECR:
    """The ``ecr`` fixture's FakeECR, or a failure saying which fixture shadows it (in contract
    mode, a skip: the fixture asking needs the in-process fake)."""
    __tracebackhide__ = True
    from .fake import FakeECR

    if _is_remote(ecr, request):
        from .remote import skip_fake_only

        skip_fake_only(f"the {request.fixturename} fixture", request.config.stash[_CONTRACT].endpoint.label)
    if not isinstance(ecr, FakeECR):
        from .shadowing import shadow_report

        # The report made when the fixture was set up names where it is defined (a fixture of a
        # wider scope was set up for another node: then only its type is known).
        report = request.node.stash.get(_SHADOW, None) or shadow_report(ecr, None)
        pytest.fail(
            f"the `{request.fixturename}` fixture needs pytest-ecr's `ecr` fixture, but {report}",
            pytrace=False,
        )
    return ecr


@pytest.fixture
def ecr_clock(ecr: FakeECR, request: pytest.FixtureRequest) -> EcrClock:
    """The fake's clock, frozen for this test (with freezegun, or with time-machine when the test
    uses time-machine's fixture or marker): ``now()``, ``advance(...)``."""
    from .clock import EcrClock

    fake = _fake(ecr, request)
    if not fake.clock.frozen:
        fake.clock.freeze()
    return EcrClock(fake.clock)


@pytest.fixture
def ecr_client(ecr: FakeECR, request: pytest.FixtureRequest) -> ECRClient:
    """A boto3 ECR client on the fake, in the configured account and region."""
    return _helpers(ecr, request).client()  # type: ignore[no-any-return]


@pytest.fixture
def ecr_repo(ecr: FakeECR, request: pytest.FixtureRequest) -> RepositoryHandle:
    """A repository named ``test-repo`` created in the fake (``.name``, ``.arn``, ``.uri``); in
    contract mode under the run's prefix, deleted when the test ends."""
    return _helpers(ecr, request).create_repository("test-repo")


@pytest.fixture
def ecr_server(ecr: FakeECR, request: pytest.FixtureRequest) -> Iterator[EcrServer]:
    """The ``ecr`` fake served over HTTP (HTTPS with ``@pytest.mark.ecr_server(tls=True)``) on the
    loopback addresses: ``.url`` (ECR API endpoint), ``.registry`` (OCI registry host:port),
    ``.registry_host()`` (per-account), ``.username`` / ``.password``, with TLS ``.ca_file`` and
    ``.certs_dir``; ``AWS_ENDPOINT_URL_ECR`` (and ``AWS_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``) point
    subprocesses at it meanwhile. See https://pytest-ecr.readthedocs.io/en/latest/server.html"""
    from .server import EcrServer

    settings = _server_args(request)
    with EcrServer(_fake(ecr, request), **settings) as server, server.environment():
        yield server
    if server.errors:
        pytest.fail("pytest-ecr's server failed on requests:\n\n" + "\n\n".join(server.errors), pytrace=False)

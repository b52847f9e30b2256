"""The pytest plugin: ini and command-line options, markers, fixtures.

Nothing here imports boto3 or botocore at module level: a test run that never asks for the fake
pays only for this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from . import _hook
from .config import Config, add_options, resolve

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

    from .clock import EcrClock
    from .fake import FakeECR, RepositoryHandle
    from .server import EcrServer
    from .service.context import ScanRequest

DOCS = "https://pytest-ecr.readthedocs.io/en/latest"
_CONFIG = pytest.StashKey[Config]()
MARKERS = {
    "ecr_seed": "ecr_seed(repositories=(), images=None, upstream=None, account=None, region=None): create "
    "repositories, push synthetic images and seed upstream registries before the test, in the registry of "
    f"`account` in `region` (default: the fake's) (activates the `ecr` fixture). See {DOCS}/markers.html",
    "ecr_config": "ecr_config(account_id=None, region=None, allow_services=None): settings of the fake for "
    f"this test, over command line and ini. See {DOCS}/configuration.html",
    "ecr_time": "ecr_time(moment): freeze time (freezegun) at `moment` (ISO 8601 string, datetime or epoch "
    f"seconds) for the fake and the code under test; activates `ecr` and `ecr_clock`. See {DOCS}/time.html",
}

# Before any test module can make a botocore session, make sure sessions will carry our handlers.
_hook.install()


def _seed_args(
    repositories: Sequence[str | dict[str, Any]] = (),
    images: dict[str, Sequence[Any]] | None = None,
    upstream: dict[str, dict[str, Sequence[Any]]] | None = None,
    account: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    if isinstance(repositories, (str, dict)):
        raise TypeError("repositories= takes a list of names or CreateRepository parameter dicts")
    if images is not None and not isinstance(images, dict):
        raise TypeError("images= takes a dict of repository name -> list of images")
    if upstream is not None and not all(isinstance(v, dict) for v in dict(upstream).values()):
        raise TypeError("upstream= takes a dict of registry URL -> {repository: list of images}")
    for name, value in (("account", account), ("region", region)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name}= takes a string")
    return {
        "repositories": repositories,
        "images": images,
        "upstream": upstream,
        "account": account,
        "region": region,
    }


def _config_args(
    account_id: str | None = None, region: str | None = None, allow_services: Sequence[str] | None = None
) -> dict[str, Any]:
    given: dict[str, Any] = {"account_id": account_id, "region": region}
    if allow_services is not None:
        given["allow_services"] = tuple(allow_services)
    return {k: v for k, v in given.items() if v is not None}


def _marker_call(marker: pytest.Mark, signature: Any) -> Any:
    __tracebackhide__ = True
    try:
        return signature(*marker.args, **marker.kwargs)
    except TypeError as exc:
        raise TypeError(f"@pytest.mark.{marker.name}: {exc}. Usage: {MARKERS[marker.name]}") from None


def _time_args(moment: datetime | str | float) -> float:
    from .clock import to_timestamp

    try:
        return to_timestamp(moment)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot read {moment!r} as a moment in time ({exc})") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


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


def _test_config(request: pytest.FixtureRequest) -> Config:
    __tracebackhide__ = True
    cfg = request.config.stash[_CONFIG]
    for marker in reversed(list(request.node.iter_markers("ecr_config"))):
        cfg = replace(cfg, **_marker_call(marker, _config_args))
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
def ecr(request: pytest.FixtureRequest) -> Iterator[FakeECR]:
    """A fresh fake ECR, active for this test; boto3 ECR clients are answered by it."""
    __tracebackhide__ = True
    from .fake import FakeECR

    cfg = _test_config(request)
    seeds = [_marker_call(m, _seed_args) for m in reversed(list(request.node.iter_markers("ecr_seed")))]
    time_marker = request.node.get_closest_marker("ecr_time")
    moment = _marker_call(time_marker, _time_args) if time_marker else None
    hook = request.config.hook.pytest_ecr_scan_findings
    upstream_hook = request.config.hook.pytest_ecr_upstream_image
    with FakeECR(
        cfg.account_id, cfg.region, cfg.allow_services, scan_findings=lambda scan: hook(scan=scan)
    ) as fake:
        fake.options.upstream_images = fake.upstream_provider(lambda wanted: upstream_hook(request=wanted))
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


@pytest.fixture
def ecr_clock(ecr: FakeECR) -> EcrClock:
    """The fake's clock, frozen (with freezegun) for this test: ``now()``, ``advance(...)``."""
    from .clock import EcrClock

    if not ecr.clock.frozen:
        ecr.clock.freeze()
    return EcrClock(ecr.clock)


@pytest.fixture
def ecr_client(ecr: FakeECR) -> ECRClient:
    """A boto3 ECR client on the fake, in the configured account and region."""
    return ecr.client()


@pytest.fixture
def ecr_repo(ecr: FakeECR) -> RepositoryHandle:
    """A repository named ``test-repo`` created in the fake (``.name``, ``.arn``, ``.uri``)."""
    return ecr.create_repository("test-repo")


@pytest.fixture
def ecr_server(ecr: FakeECR) -> Iterator[EcrServer]:
    """The ``ecr`` fake served over HTTP on 127.0.0.1: ``.url`` (ECR API endpoint), ``.registry``
    (OCI registry host:port), ``.username`` / ``.password``; ``AWS_ENDPOINT_URL_ECR`` points
    subprocesses at it meanwhile. See https://pytest-ecr.readthedocs.io/en/latest/server.html"""
    from .server import EcrServer

    with EcrServer(ecr) as server, server.environment():
        yield server
    if server.errors:
        pytest.fail("pytest-ecr's server failed on requests:\n\n" + "\n\n".join(server.errors), pytrace=False)

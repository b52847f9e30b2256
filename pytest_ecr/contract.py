"""Contract mode's settings: ``--ecr-endpoint``, ``--ecr-allow-account``, ``--ecr-record``.

With ``--ecr-endpoint`` the ``ecr`` fixture is a :class:`~pytest_ecr.remote.RemoteECR` on that
endpoint instead of the fake (see :doc:`contract`). Nothing here imports boto3: a run without the
option pays for parsing three options and nothing else.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from .config import ACCOUNT_ID, DEFAULT_REGION, check_region

if TYPE_CHECKING:
    from .recording import Recorder

#: the value of --ecr-endpoint that means AWS's own endpoint, as boto3 resolves it
AWS = "aws"
#: hosts of AWS's own endpoints (the commercial, China and GovCloud partitions)
_AWS_HOST = re.compile(r"(^|\.)amazonaws\.com(\.cn)?$|(^|\.)amazonaws-us-gov\.com$")
#: credentials for a non-AWS endpoint when the boto3 chain finds none (emulators accept any)
EMULATOR_CREDENTIALS = ("pytest-ecr-contract", "pytest-ecr-contract-secret")


def add_contract_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("ecr")
    group.addoption(
        "--ecr-endpoint",
        dest="ecr_endpoint",
        default=None,
        metavar="URL|aws",
        help="contract mode: run the ecr fixtures against this ECR endpoint (an http(s) URL, or "
        "'aws' for AWS's own endpoint with boto3's credentials and region) instead of the fake",
    )
    group.addoption(
        "--ecr-allow-account",
        dest="ecr_allow_account",
        action="append",
        default=[],
        metavar="ACCOUNT_ID",
        help="contract mode: an AWS account id the suite may create and delete repositories in "
        "(repeatable); required for AWS endpoints",
    )
    group.addoption(
        "--ecr-record",
        dest="ecr_record",
        default=None,
        metavar="DIR",
        help="contract mode: write every ECR request and response of the run to DIR (credentials "
        "and tokens redacted), for `pytest-ecr diff DIR`",
    )
    parser.addini(
        "ecr_allow_accounts",
        help="contract mode: AWS account ids (space separated) the suite may use (default: none)",
        default="",
    )


@dataclass(frozen=True)
class Endpoint:
    """Where contract mode sends requests, and what it may touch there."""

    #: the endpoint URL, or None for AWS's own (resolved by boto3 per region)
    url: str | None
    allowed_accounts: frozenset[str]
    region: str | None
    record: Path | None = None

    @property
    def is_aws(self) -> bool:
        """Whether requests reach AWS itself (the allow-list then applies)."""
        return self.url is None or bool(_AWS_HOST.search(urlsplit(self.url).hostname or ""))

    @property
    def label(self) -> str:
        return self.url or "AWS"


def endpoint_settings(config: pytest.Config) -> Endpoint | None:
    """The contract-mode settings of this run, checked (a UsageError naming the option), or None
    when ``--ecr-endpoint`` is not given."""
    value = config.getoption("ecr_endpoint", default=None)
    record = config.getoption("ecr_record", default=None)
    if value is None:
        if record is not None:
            raise pytest.UsageError("--ecr-record records contract mode's requests: give --ecr-endpoint too")
        return None
    url: str | None = None
    if value != AWS:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise pytest.UsageError(
                f"--ecr-endpoint must be 'aws' or an http(s) URL such as http://127.0.0.1:5000, got {value!r}"
            )
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            raise pytest.UsageError(f"--ecr-endpoint has a bad port: {value!r}") from None
        url = value.rstrip("/")
    accounts = [
        *config.getoption("ecr_allow_account", default=[]),
        *str(config.getini("ecr_allow_accounts")).split(),
    ]
    for account in accounts:
        if not ACCOUNT_ID.fullmatch(account):
            raise pytest.UsageError(f"--ecr-allow-account must be a 12-digit AWS account id, got {account!r}")
    # AWS: the region boto3 finds unless --ecr-region says otherwise; an emulator has no region of
    # its own to resolve, so the ecr_region setting (default us-east-1) applies
    region = config.getoption("ecr_region", default=None)
    if url is not None and region is None:
        region = str(config.getini("ecr_region"))
    if region is not None:
        try:
            check_region(region)
        except ValueError as err:
            raise pytest.UsageError(f"ecr_region {err}") from None
    endpoint = Endpoint(url, frozenset(accounts), region, Path(record) if record is not None else None)
    if endpoint.is_aws and not endpoint.allowed_accounts:
        raise pytest.UsageError(
            f"--ecr-endpoint {value} reaches AWS: name the account(s) the suite may create and delete "
            "repositories in with --ecr-allow-account ACCOUNT_ID (or the ecr_allow_accounts ini "
            "option), so that it never touches another account by accident"
        )
    return endpoint


def _worker(config: pytest.Config) -> str:
    """This process's name in a run: the xdist worker id, or ``main``."""
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return str(workerinput.get("workerid", "main"))


@dataclass
class Contract:
    """One process's connection to the endpoint: the account checked once, the run's name prefix,
    the recorder, and every repository helpers or clients created (for the final sweep)."""

    endpoint: Endpoint
    worker: str
    #: every repository name a test creates starts with it (``pytest-ecr-1a2b3c4d/``)
    prefix: str = field(default_factory=lambda: f"pytest-ecr-{secrets.token_hex(4)}/")
    account: str | None = None
    region: str = DEFAULT_REGION
    recorder: Recorder | None = None
    #: the regions the run's clients used (the final sweep looks in each)
    regions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def contract_for(config: pytest.Config) -> Contract | None:
    endpoint = endpoint_settings(config)
    return None if endpoint is None else Contract(endpoint, _worker(config))

"""The plugin's configuration: marker > command line > ini > default, resolved once per test."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

#: (name, help, default) of every setting; each is an ini option and a --ecr-... option.
SETTINGS = (
    ("ecr_account_id", "account id of the fake's default registry", DEFAULT_ACCOUNT),
    ("ecr_region", "region of the fake's default clients", DEFAULT_REGION),
    ("ecr_allow_services", "AWS services (signing names, space separated) allowed to reach the network", ""),
)

ACCOUNT_ID = re.compile(r"[0-9]{12}")
#: what an AWS region name looks like (us-east-1, us-gov-west-1, ap-southeast-5)
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def check_account_id(value: str) -> str:
    """``value`` if it is an account id, else ValueError saying what one is. The one check of the
    pytest options, the ini settings and ``pytest-ecr serve --account``."""
    if not ACCOUNT_ID.fullmatch(value):
        raise ValueError(f"must be 12 digits, got {value!r}")
    return value


def check_region(value: str) -> str:
    """``value`` if it is a region name, else ValueError saying what one is (as
    :func:`check_account_id`)."""
    if not REGION_NAME.fullmatch(value):
        raise ValueError(f"must be an AWS region name such as us-east-1, got {value!r}")
    return value


@dataclass(frozen=True)
class Config:
    account_id: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    allow_services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, check, value in (
            ("ecr_account_id", check_account_id, self.account_id),
            ("ecr_region", check_region, self.region),
        ):
            try:
                check(value)
            except ValueError as err:
                raise pytest.UsageError(f"{name} {err}") from None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("ecr", "pytest-ecr: a fake Amazon ECR")
    for name, help_text, default in SETTINGS:
        parser.addini(name, help=f"{help_text} (default: {default or 'none'})", default=default)
        group.addoption(f"--{name.replace('_', '-')}", dest=name, default=None, help=help_text)


def resolve(config: pytest.Config) -> Config:
    """Command line over ini over default (markers are applied per test by the fixture)."""

    def value(name: str) -> str:
        option = config.getoption(name, default=None)
        return str(option if option is not None else config.getini(name))

    return Config(
        account_id=value("ecr_account_id"),
        region=value("ecr_region"),
        allow_services=tuple(value("ecr_allow_services").split()),
    )

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
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


@dataclass(frozen=True)
class Config:
    account_id: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    allow_services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not ACCOUNT_ID.fullmatch(self.account_id):
            raise pytest.UsageError(f"ecr_account_id must be 12 digits, got {self.account_id!r}")
        if not REGION_NAME.fullmatch(self.region):
            raise pytest.UsageError(
                f"ecr_region must be an AWS region name such as us-east-1, got {self.region!r}"
            )


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

"""Fresh botocore sessions that share one data loader.

Every test gets a fresh session (nothing a test registers on it can leak into the next), but
parsing botocore's JSON data (the ECR model, endpoints, partitions) again for each one costs about
40 ms. The loader only caches that read-only data, so one loader per process serves them all.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.loaders
import botocore.session


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def fresh_botocore_session() -> botocore.session.Session:
    session = botocore.session.Session()
    if session.get_config_variable("data_path") is None:  # a custom AWS_DATA_PATH keeps its own loader
        session.register_component("data_loader", _shared_loader())
    return session


def fresh_boto3_session() -> Any:
    import boto3

    return boto3.Session(botocore_session=fresh_botocore_session())


class LazyBoto3Session:
    """Stands in for ``boto3.DEFAULT_SESSION`` while a fake is active: the fresh session is made on
    first use (``boto3.client(...)``), so tests that never use boto3's default session don't pay
    the few milliseconds a session costs."""

    def __init__(self) -> None:
        self._session: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._session is None:
            self._session = fresh_boto3_session()
        return getattr(self._session, name)

"""Fresh botocore sessions that share one data loader, and the session the fake's clients share.

boto3's default session is fresh in every test (nothing a test registers on it can leak into the
next), but parsing botocore's JSON data (the ECR model, endpoints, partitions) again for each one
costs about 40 ms. The loader only caches that read-only data, so one loader per process serves
them all. The clients a fake makes itself share one session (see :func:`ecr_client`).
"""

from __future__ import annotations

import functools
import os
import threading
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


#: What a session reads once and keeps: its config and credentials files, its profile, its data.
_FILES = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
_NAMES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DATA_PATH")

_client_lock = threading.Lock()


@functools.cache
def _isolated_session() -> Any:
    return fresh_boto3_session()


def _isolated() -> bool:
    """Whether a session made now would read nothing from files or profiles (the fake's isolation
    points both files at a path that does not exist and unsets the profile)."""
    files = [os.environ.get(name) for name in _FILES]
    return all(path is not None and not os.path.exists(path) for path in files) and not any(
        os.environ.get(name) for name in _NAMES
    )


def ecr_client(**kwargs: Any) -> Any:
    """An ECR client for a fake's own use (``FakeECR.client``).

    Making a session costs about 4 ms, two thirds of a fresh client. Under the fake's isolation a
    session has nothing of its own to read, and every client gets its own copy of the session's
    event system (nothing a test registers on its client reaches another), so one session per
    process serves these clients; with a config file or a profile in play, a fresh one does.
    """
    if not _isolated():
        return fresh_boto3_session().client("ecr", **kwargs)
    with _client_lock:  # sessions are not thread-safe; clients are
        return _isolated_session().client("ecr", **kwargs)


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

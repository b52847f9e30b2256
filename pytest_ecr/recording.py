"""``--ecr-record DIR``: every ECR request and response of a contract-mode run, as files.

Each process writes into ``DIR/<worker>/`` (``main``, or the xdist worker id): ``run.json`` (the
endpoint, account, region and name prefix) and one ``NNNNNN-<Operation>.json`` per call, in the
order the calls were made: the test, when the answer came (epoch seconds), the region, the
request's JSON body, the response's HTTP status and JSON body. Headers are not kept (they carry the signature); secrets in bodies are
replaced by :data:`REDACTED` (:func:`redact`). ``pytest-ecr diff DIR`` replays them (see
:mod:`pytest_ecr.drift`).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

#: what a secret is replaced with, in requests and responses alike
REDACTED = "<redacted>"
#: the version of the files' layout, checked by ``pytest-ecr diff``
FORMAT = 1
RUN_FILE = "run.json"
#: members that hold a secret: a registry password, or anything a credential could be
_SECRET = re.compile(r"(?i)authorizationtoken|password|secret|credential(?!arn)|sessiontoken")


def redact(value: Any) -> Any:
    """``value`` with secrets replaced: members named like one (``authorizationToken``...) and
    the query of pre-signed URLs (``downloadUrl``, whose query holds a signature and maybe a
    session token)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if _SECRET.search(key) and isinstance(item, str):
                out[key] = REDACTED
            elif key.lower().endswith("url") and isinstance(item, str) and urlsplit(item).query:
                out[key] = urlunsplit(urlsplit(item)._replace(query=REDACTED))
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return body.decode("utf-8", "replace")


class Recorder:
    """Writes one process's calls into ``directory``; attached to each client contract mode makes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, endpoint: str, account: str, region: str, prefix: str) -> None:
        if self.directory.exists() and any(self.directory.iterdir()):
            raise pytest.UsageError(
                f"--ecr-record: {self.directory} already holds a recording; give an empty or new directory"
            )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise pytest.UsageError(
                f"--ecr-record: cannot create {self.directory}: {err.strerror or err}"
            ) from None
        meta = {
            "format": FORMAT,
            "endpoint": endpoint,
            "account": account,
            "region": region,
            "prefix": prefix,
        }
        (self.directory / RUN_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    def attach(self, client: Any, region: str, test: Callable[[], str]) -> None:
        """Record every call ``client`` makes (in ``region``, for the test ``test()`` names)."""

        def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["pytest_ecr_request"] = params.get("body", b"")

        def after(http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
            self.write(
                {
                    "test": test(),
                    # when the answer came: the diff replays the workers' calls in this order
                    "at": time.time(),
                    "operation": model.name,
                    "region": region,
                    "request": _json(context.get("pytest_ecr_request", b"")),
                    "status": http_response.status_code,
                    "response": _json(http_response.content),
                }
            )

        client.meta.events.register("before-call.ecr", before)
        client.meta.events.register("after-call.ecr", after)

    def write(self, record: dict[str, Any]) -> None:
        record = redact(record)
        with self._lock:
            name = f"{next(self._numbers):06d}-{record['operation']}.json"
        (self.directory / name).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

"""``pytest-ecr serve``: the fake ECR as a standalone server, for clients in other processes."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..calls import CallLog
from ..fake import DEFAULT_ACCOUNT, DEFAULT_REGION, FakeECR, FakeError
from .http import EcrServer

#: how many calls (``FakeECR.calls``) and requests (``EcrServer.log``) a long-running server keeps
DEFAULT_LOG_LIMIT = 1000
#: what a seed file may hold: the ecr_seed marker's arguments (FakeECR.seed's)
SEED_KEYS = ("repositories", "images", "upstream", "account", "region")


def load_seed(path: str) -> dict[str, Any]:
    """A seed file: JSON, or TOML for a ``.toml`` name, with the ``ecr_seed`` marker's arguments
    ``repositories`` (names or CreateRepository parameter dicts), ``images``, ``upstream``,
    ``account`` and ``region``."""
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".toml"):
        try:
            tomllib = importlib.import_module("tomllib")
        except ImportError:  # Python 3.10
            raise SystemExit("pytest-ecr: TOML seed files need Python 3.11+; use JSON") from None
        data: Any = tomllib.loads(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict) or set(data) - set(SEED_KEYS):
        raise SystemExit(f"pytest-ecr: {path}: expected an object with keys among {', '.join(SEED_KEYS)}")
    return data


def _log_limit(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of entries, 0 or more, not {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-ecr", description="A fake Amazon ECR.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the ECR API and the OCI registry API over HTTP")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    serve.add_argument("--seed", help="JSON or TOML file of repositories and images to create first")
    serve.add_argument("--account", default=DEFAULT_ACCOUNT, help="the default account id")
    serve.add_argument("--region", default=DEFAULT_REGION, help="the default region")
    serve.add_argument("--quiet", action="store_true", help="do not log requests")
    serve.add_argument(
        "--log-limit",
        type=_log_limit,
        default=DEFAULT_LOG_LIMIT,
        metavar="N",
        help=f"keep the last N calls and requests in memory (default: {DEFAULT_LOG_LIMIT})",
    )
    return parser


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    """Run the server until interrupted (or until ``stop`` is set)."""
    args = _parser().parse_args(argv)
    fake = FakeECR(args.account, args.region)
    fake.calls = CallLog(args.log_limit)  # a long run keeps the latest calls, not every one
    if args.seed:
        try:
            fake.seed(**load_seed(args.seed))
        except FakeError as err:
            raise SystemExit(f"pytest-ecr: {args.seed}: {err}") from None
    server = EcrServer(fake, port=args.port, verbose=not args.quiet, log_limit=args.log_limit).start()
    print(
        f"pytest-ecr: ECR API at {server.url} (account {args.account}, region {args.region}); "
        f"OCI registry at {server.registry}; log in with "
        f"`aws ecr get-login-password --endpoint-url {server.url} | docker login -u AWS --password-stdin "
        f"{server.registry}`",
        flush=True,
    )
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("pytest-ecr: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

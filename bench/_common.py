"""Shared helpers of the benchmarks: command line, statistics, tables, the machine's description.

The benchmarks compare figures taken in one run on one machine, so they report medians and ratios,
never absolute targets; every figure is printed, none is asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a short run (CI): fewer repetitions")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    return parser.parse_args(argv)


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """(25th, 75th) percentile; both the median for fewer than two values."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles and count of a list of samples."""
    low, high = quartiles(values)
    return {"median": median(values), "p25": low, "p75": high, "n": len(values)}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table; the first column is left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """Where and when the figures were taken."""
    try:
        load: tuple[float, float, float] | None = os.getloadavg()
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        load = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "versions": {name: version(name) for name in ("pytest-ecr", "botocore", "boto3", "moto", "pytest")},
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "executable": sys.executable,
    }


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2) + "\n")


def ms(seconds: float, digits: int = 3) -> str:
    return f"{seconds * 1000:.{digits}f}"


def ratio(value: float, anchor: float) -> str:
    return f"{value / anchor:.2f}x"


def isolate_environment() -> None:
    """Keep the user's AWS settings (profiles, endpoints, retry modes) out of the measurement."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )


class BenchError(RuntimeError):
    """A run did not do what it is meant to (wrong backend answered, wrong result): the figures
    would be wrong, so the benchmark stops."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchError(message)


def make_client(region: str = "us-east-1", session: Any = None) -> Any:
    """The same plain boto3 ECR client for every backend (explicit fake credentials), from
    ``session`` if given (else boto3's default)."""
    import boto3

    return (session or boto3).client(
        "ecr",
        region_name=region,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="bench-secret-access-key",
    )


class Body:
    """A response body botocore can read (``AWSResponse``'s raw)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def main(
    doc: str | None,
    run: Callable[[bool], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
    argv: Sequence[str] | None = None,
) -> None:
    """A benchmark script's command line: run (``--quick``), print, optionally write JSON."""
    args = parse_args((doc or "").splitlines()[0], argv)
    results = run(args.quick)
    results["machine"] = machine()
    print(render(results))
    write_json(args.json, results)

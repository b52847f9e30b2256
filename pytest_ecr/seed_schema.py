"""What a seed may hold (the ``ecr_seed`` marker, ``FakeECR.seed``, ``pytest-ecr serve --seed``
files), checked as a whole before anything is created.

Every problem is reported at once, each at its key path (``images['app'][2]``) with the accepted
keys or values, so that a seed is never half applied and a typo never passes as something else
(``images={"app": "v1"}`` is not two images tagged ``v`` and ``1``).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .config import ACCOUNT_ID, REGION_NAME
from .names import arguments, did_you_mean
from .service.manifests import TAG_RE

#: the seed's arguments, in the order the marker takes them positionally
SEED_KEYS = ("repositories", "images", "upstream", "account", "region")
#: the push_image options an image dict may give (account and region are the seed's)
IMAGE_KEYS = (
    "tags",
    "size",
    "pushed_at",
    "pushed_days_ago",
    "format",
    "platforms",
    "findings",
    "referrers",
)
LAYOUT_KEYS = ("oci_layout", "tags")
UPSTREAM_KEYS = ("tags", "platforms", "size", "format")
ARTIFACT_KEYS = ("artifact_type", "tags", "payload", "annotations")
SCAN_FAILURE_KEYS = ("description", "status")
FORMATS = ("oci", "docker")

USAGE = (
    "repositories=[name or CreateRepository parameters, ...], images={repository: [image, ...]}, "
    "upstream={registry_url: {repository: [image, ...]}}, account='123456789012', region='us-east-1'"
)


class SeedError(TypeError, ValueError):
    """A seed that cannot be applied: every problem found, each at its key path. It is a TypeError
    and a ValueError, as each problem is one or the other."""


@functools.cache
def _model_constraint(shape_name: str) -> tuple[re.Pattern[str] | None, int, int]:
    """The pattern and length bounds botocore's ECR model gives a string shape."""
    from .protocol.model import service_model

    meta = service_model().shape_for(shape_name).metadata
    pattern = meta.get("pattern")
    return (re.compile(pattern) if pattern else None, int(meta.get("min", 0)), int(meta.get("max", 1 << 30)))


@functools.cache
def _create_repository_members() -> tuple[str, ...]:
    from .protocol.model import operation

    shape = operation("CreateRepository").input_shape
    return tuple(sorted(shape.members)) if shape is not None else ()


class _Checker:
    """Collects the problems of one seed, each at its key path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}" if path else text)

    def keys(self, path: str, value: Mapping[Any, Any], accepted: Sequence[str]) -> None:
        for key in value:
            if key not in accepted:
                self.add(
                    path,
                    f"unknown key {key!r}{did_you_mean(str(key), accepted)} Accepted: {', '.join(accepted)}",
                )

    def model_string(
        self, path: str, value: Any, shape_name: str, what: str, pattern: re.Pattern[str] | None = None
    ) -> None:
        """``value`` is a string within the model's bounds for ``shape_name`` and matching its
        pattern (or ``pattern``, the rule the fake's API applies where the model gives none)."""
        if not isinstance(value, str):
            self.add(path, f"{what} must be a string, got {type(value).__name__} {value!r}")
            return
        model_pattern, low, high = _model_constraint(shape_name)
        pattern = pattern or model_pattern
        if not low <= len(value) <= high or (pattern is not None and not pattern.fullmatch(value)):
            rule = f"{low} to {high} characters" + (f" matching {pattern.pattern}" if pattern else "")
            self.add(path, f"{what} {value!r} is not valid in ECR ({rule})")

    def listing(self, path: str, value: Any, what: str) -> bool:
        """Whether ``value`` is a list (or tuple); a string or anything else is a problem."""
        if isinstance(value, (list, tuple)):
            return True
        hint = f"; write [{value!r}] for one" if isinstance(value, str) else ""
        self.add(path, f"{what} must be a list, got {type(value).__name__} {value!r}{hint}")
        return False

    def tags(self, path: str, value: Any) -> None:
        if value is None or isinstance(value, str):
            if isinstance(value, str):
                self.model_string(path, value, "ImageTag", "tag", TAG_RE)
            return
        if self.listing(path, value, "tags (a tag, a list of tags or None)"):
            for n, tag in enumerate(value):
                self.model_string(f"{path}[{n}]", tag, "ImageTag", "tag", TAG_RE)

    def number(self, path: str, value: Any, what: str, positive: bool = False) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(path, f"{what} must be a number, got {type(value).__name__} {value!r}")
        elif positive and value <= 0:
            self.add(path, f"{what} must be greater than 0, got {value!r}")

    def choice(self, path: str, value: Any, accepted: Sequence[str], what: str) -> None:
        if value not in accepted:
            self.add(path, f"{what} must be one of {', '.join(map(repr, accepted))}, got {value!r}")

    def platforms(self, path: str, value: Any) -> None:
        if self.listing(path, value, "platforms (such as ['linux/amd64', 'linux/arm64'])"):
            for n, platform in enumerate(value):
                if not isinstance(platform, str) or platform.count("/") not in (1, 2):
                    self.add(f"{path}[{n}]", f"a platform is 'os/architecture[/variant]', got {platform!r}")

    def image_options(self, path: str, entry: Mapping[str, Any]) -> None:
        """The options an image dict shares with an upstream image dict."""
        if "tags" in entry:
            self.tags(f"{path}['tags']", entry["tags"])
        if entry.get("size") is not None:
            self.number(f"{path}['size']", entry["size"], "size", positive=True)
        if "format" in entry:
            self.choice(f"{path}['format']", entry["format"], FORMATS, "format")
        if entry.get("platforms") is not None:
            self.platforms(f"{path}['platforms']", entry["platforms"])

    def findings(self, path: str, value: Any) -> None:
        from .store import ScanFailure

        if value is None or isinstance(value, ScanFailure):
            return
        if isinstance(value, dict):  # a seed file's ScanFailure
            self.keys(path, value, SCAN_FAILURE_KEYS)
            if "description" not in value:
                self.add(path, "a scan failure needs a 'description'")
            return
        if self.listing(path, value, "findings (finding dicts, or a scan failure)"):
            for n, finding in enumerate(value):
                if not isinstance(finding, dict):
                    self.add(f"{path}[{n}]", f"a finding is a dict, got {type(finding).__name__} {finding!r}")

    def referrers(self, path: str, value: Any) -> None:
        if not self.listing(path, value, "referrers (artifact types, or dicts of push_artifact arguments)"):
            return
        for n, spec in enumerate(value):
            if isinstance(spec, dict):
                self.keys(f"{path}[{n}]", spec, ARTIFACT_KEYS)
            elif not isinstance(spec, str):
                self.add(f"{path}[{n}]", f"a referrer is an artifact type or a dict, got {spec!r}")

    def image(self, path: str, entry: Any) -> None:
        if entry is None or isinstance(entry, (str, list, tuple)):
            self.tags(path, entry)
            return
        if not isinstance(entry, dict):
            self.add(
                path,
                f"an image is a tag, a list of tags, None or a dict of push_image options, got "
                f"{type(entry).__name__} {entry!r}",
            )
            return
        if "oci_layout" in entry:
            self.keys(path, entry, LAYOUT_KEYS)
            if not isinstance(entry["oci_layout"], (str, os.PathLike)):
                self.add(
                    f"{path}['oci_layout']", f"oci_layout is a directory path, got {entry['oci_layout']!r}"
                )
            if "tags" in entry:
                self.tags(f"{path}['tags']", entry["tags"])
            return
        self.keys(path, entry, IMAGE_KEYS)
        self.image_options(path, entry)
        for key in ("pushed_at", "pushed_days_ago"):
            if entry.get(key) is not None:
                self.number(f"{path}[{key!r}]", entry[key], key)
        if "findings" in entry:
            self.findings(f"{path}['findings']", entry["findings"])
        if entry.get("referrers") is not None:
            self.referrers(f"{path}['referrers']", entry["referrers"])

    def repositories(self, value: Any) -> None:
        if not self.listing(
            "repositories", value, "repositories (names or CreateRepository parameter dicts)"
        ):
            return
        seen: set[str] = set()
        for n, entry in enumerate(value):
            path = f"repositories[{n}]"
            if isinstance(entry, dict):
                self.keys(path, entry, _create_repository_members())
                if "repositoryName" not in entry:
                    self.add(path, "a CreateRepository parameter dict needs 'repositoryName'")
                    continue
                name, path = entry["repositoryName"], f"{path}['repositoryName']"
            else:
                name = entry
            self.model_string(path, name, "RepositoryName", "repository name")
            if isinstance(name, str):
                if name in seen:
                    self.add(path, f"repository {name!r} is listed twice")
                seen.add(name)

    def images(self, value: Any) -> None:
        if not isinstance(value, dict):
            self.add("images", f"images must be a dict of repository name -> list of images, got {value!r}")
            return
        for name, entries in value.items():
            path = f"images[{name!r}]"
            self.model_string(path, name, "RepositoryName", "repository name")
            if isinstance(entries, str):
                self.add(
                    path,
                    f"the images of a repository are a list, got the string {entries!r} (which would "
                    f"be {len(entries)} images tagged {', '.join(map(repr, entries))}); write "
                    f"[{entries!r}] for one image tagged {entries!r}",
                )
            elif self.listing(path, entries, "the images of a repository"):
                for n, entry in enumerate(entries):
                    self.image(f"{path}[{n}]", entry)

    def upstream(self, value: Any) -> None:
        if not isinstance(value, dict):
            self.add(
                "upstream",
                f"upstream must be a dict of registry URL -> {{repository: [image, ...]}}, got {value!r}",
            )
            return
        for url, repos in value.items():
            base = f"upstream[{url!r}]"
            if not isinstance(url, str):
                self.add(base, f"a registry URL is a string, got {url!r}")
            if not isinstance(repos, dict):
                self.add(
                    base, f"an upstream registry is a dict of repository -> list of images, got {repos!r}"
                )
                continue
            for repository, entries in repos.items():
                path = f"{base}[{repository!r}]"
                if not isinstance(repository, str):
                    self.add(path, f"an upstream repository name is a string, got {repository!r}")
                if isinstance(entries, str):
                    self.add(path, f"the images of a repository are a list; write [{entries!r}] for one")
                    continue
                if not self.listing(path, entries, "the images of an upstream repository"):
                    continue
                for n, entry in enumerate(entries):
                    if isinstance(entry, dict):
                        self.keys(f"{path}[{n}]", entry, UPSTREAM_KEYS)
                        self.image_options(f"{path}[{n}]", entry)
                    else:
                        self.tags(f"{path}[{n}]", entry)

    def place(self, name: str, value: Any, pattern: re.Pattern[str], example: str) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.add(name, f"must be a string such as {example!r}, got {type(value).__name__} {value!r}")


def check_seed(seed: Mapping[str, Any], where: str, usage: str = USAGE) -> None:
    """Raise a :class:`SeedError` listing every problem of ``seed`` (the seed's arguments by name),
    each prefixed by ``where`` (``@pytest.mark.ecr_seed``, ``seed.json``, ``ecr.seed()``)."""
    __tracebackhide__ = True
    check = _Checker()
    check.keys("", seed, SEED_KEYS)
    if seed.get("repositories") is not None:
        check.repositories(seed["repositories"])
    if seed.get("images") is not None:
        check.images(seed["images"])
    if seed.get("upstream") is not None:
        check.upstream(seed["upstream"])
    if seed.get("account") is not None:
        check.place("account", seed["account"], ACCOUNT_ID, "123456789012")
    if seed.get("region") is not None:
        check.place("region", seed["region"], REGION_NAME, "us-east-1")
    if check.problems:
        raise SeedError(
            f"{where}: "
            + ("\n  ".join(["", *check.problems]) if len(check.problems) > 1 else check.problems[0])
            + f"\nUsage: {usage}"
        )


def seed_arguments(
    args: Sequence[Any], kwargs: Mapping[str, Any], where: str, usage: str = USAGE
) -> dict[str, Any]:
    """The seed's arguments by name from a marker's positional and keyword arguments, checked."""
    __tracebackhide__ = True
    try:
        seed = arguments(args, kwargs, SEED_KEYS, where, usage)
    except TypeError as err:
        raise SeedError(str(err)) from None
    check_seed(seed, where, usage)
    return seed

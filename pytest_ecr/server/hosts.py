"""Which registry a request addresses, by its ``Host``, and how the server names its registries.

The server answers on every loopback name (``localhost``, ``127.0.0.1``, ``[::1]``) and on the
per-account names ECR uses, under the loopback domain: ``<account>.dkr.ecr.<region>.localhost``
(RFC 6761 reserves ``.localhost`` for loopback). A per-account name picks the registry; a plain
loopback name leaves it to the credential (the caller's own registry).

Routes are told apart by path, never by host, so every name serves every route. What the host
does decide is where a blob download is redirected: to another loopback name than the one the
client used, as ECR redirects to S3's host, so that clients drop the registry credentials on the
redirect (they keep them on a same-host redirect, and S3, like the fake's blob host, refuses them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..service.context import RegistryEndpoint

DOMAIN = "localhost"
#: the registry host names that name an account and region, as ECR's do
_ACCOUNT_HOST = re.compile(r"([0-9]{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\." + DOMAIN, re.IGNORECASE)
#: the loopback address names a certificate covers and the server listens on
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

#: how answers name the registries: ``account`` as ECR does (one host per account and region,
#: under ``.localhost``), ``loopback`` as ``127.0.0.1:PORT`` for all (for resolvers that do not
#: resolve ``*.localhost``; the credential then picks the account)
Naming = Literal["account", "loopback"]
NAMINGS: tuple[Naming, ...] = ("account", "loopback")


@dataclass(frozen=True)
class Addressed:
    """What a request's ``Host`` says: the registry it names (None: the credential's own) and
    the host name its blob downloads are redirected to."""

    account: str | None
    region: str | None
    blob_host_name: str


def host_name(host: str | None) -> str:
    """The name part of a ``Host`` header (no port; an IPv6 literal without brackets), lower case."""
    text = (host or "").strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


def addressed(host: str | None) -> Addressed:
    name = host_name(host)
    # another name of the loopback address than the client's: 127.0.0.1 for localhost, else localhost
    blob = "127.0.0.1" if name == "localhost" else "localhost"
    match = _ACCOUNT_HOST.fullmatch(name)
    if match is None:
        return Addressed(None, None, blob)
    return Addressed(match.group(1), match.group(2).lower(), blob)


def account_host(account: str, region: str, port: int) -> str:
    return f"{account}.dkr.ecr.{region}.{DOMAIN}:{port}"


def registry_endpoint(scheme: str, port: int, naming: Naming) -> RegistryEndpoint:
    """How server-mode answers name a registry (``proxyEndpoint``; ``repositoryUri`` without the
    scheme)."""

    def endpoint(account: str, region: str) -> str:
        if naming == "loopback":
            return f"{scheme}://127.0.0.1:{port}"
        return f"{scheme}://{account_host(account, region, port)}"

    return endpoint

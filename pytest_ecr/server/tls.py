"""HTTPS for the server: a certificate authority made for the run (trustme), never a real one.

The server's certificate covers every name it answers on: ``localhost``, ``127.0.0.1``, ``::1``
and ``*.dkr.ecr.<region>.localhost`` for every region botocore knows ECR in (one wildcard label
covers every account). Clients trust the run's CA from the PEM file (``AWS_CA_BUNDLE``, curl's
``--cacert``) or a certs directory in the layout container tools read
(``<dir>/<host:port>/ca.crt``: podman, buildah, skopeo's ``--cert-dir``, containerd's
``certs.d``).
"""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path
from typing import Any

from .hosts import DOMAIN, LOOPBACK_NAMES

INSTALL_HINT = "HTTPS needs the trustme package: pip install 'pytest-ecr[tls]'"


@functools.cache
def _ecr_regions() -> tuple[str, ...]:
    import botocore.session

    session = botocore.session.get_session()
    return tuple(
        sorted(
            region
            for partition in session.get_available_partitions()
            for region in session.get_available_regions("ecr", partition_name=partition)
        )
    )


def certificate_names(regions: tuple[str, ...] = ()) -> list[str]:
    """The names the server's certificate covers (``regions`` besides botocore's)."""
    wildcards = [f"*.dkr.ecr.{region}.{DOMAIN}" for region in sorted({*_ecr_regions(), *regions})]
    return [*LOOPBACK_NAMES, *wildcards]


class RunCA:
    """A CA and the server certificate it issued, both made now, in memory."""

    def __init__(self, regions: tuple[str, ...] = ()) -> None:
        try:
            import trustme
        except ImportError:
            raise RuntimeError(INSTALL_HINT) from None
        self._ca: Any = trustme.CA(organization_name="pytest-ecr run CA")
        self._cert: Any = self._ca.issue_cert(*certificate_names(regions))

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate, PEM: what clients are told to trust."""
        return bytes(self._ca.cert_pem.bytes())

    def write_ca(self, path: str | Path) -> Path:
        # whole or not at all: a script waiting for --ca-file to appear must never read half of it
        target = Path(path)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            partial.write_bytes(self.ca_pem)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    def write_certs_dir(self, directory: Path, hosts: list[str]) -> Path:
        """``directory/<host:port>/ca.crt`` for each of ``hosts``, the layout container tools read."""
        for host in hosts:
            folder = directory / host
            folder.mkdir(parents=True, exist_ok=True)
            self.write_ca(folder / "ca.crt")
        return directory

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

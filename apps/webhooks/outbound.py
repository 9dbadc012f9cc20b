"""Outbound HTTP for webhooks, safe against server-side request forgery.

A target's host is resolved once per send and every address it resolves to is checked: with
``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` off, a loopback, private, link-local, multicast, reserved or
unspecified address refuses the send. The request then connects to the address checked (not to
a second lookup, which a DNS rebinding attack could answer differently), with the URL's host in
the ``Host`` header and, for https, in SNI and the certificate check. No redirect is followed,
no proxy from the environment is used, and both the connection and the answer have timeouts.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

DEFAULT_PORTS = {"http": 80, "https": 443}
# Certificates are checked against certifi's authorities (requests' own); tests point this at
# their own authority's file.
TLS_VERIFY: bool | str = True


class TargetRefused(Exception):
    """The target URL may not be called: its scheme, or an address its host resolves to."""


@dataclass(frozen=True)
class Answer:
    """What one request got: a status, or an error; and how long it took."""

    status: int | None
    error: str
    duration_ms: int


def target_check_url(url: str) -> None:
    """Raise ``TargetRefused`` for a URL whose scheme is not allowed or that has no host."""
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise TargetRefused("The URL is malformed.") from error
    schemes = ("https",) if settings.WEBHOOKS_HTTPS_ONLY else ("http", "https")
    if parts.scheme not in schemes:
        raise TargetRefused(f"The URL must start with {' or '.join(s + '://' for s in schemes)}.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    if parts.username or parts.password:
        raise TargetRefused("The URL may not hold credentials.")


def target_addresses(url: str) -> list[str]:
    """Return the addresses ``url``'s host resolves to, having checked each one; raise
    ``TargetRefused`` if it resolves to none, or to one that is not allowed."""
    target_check_url(url)
    parts = urlsplit(url)
    assert parts.hostname is not None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as error:
        raise TargetRefused("The URL's port is not a number from 0 to 65535.") from error
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:  # gaierror, an unencodable name
        raise TargetRefused(f"The host {parts.hostname!r} does not resolve.") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise TargetRefused(f"The host {parts.hostname!r} does not resolve.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if not is_public_address(address):
                raise TargetRefused(
                    f"The host {parts.hostname!r} resolves to {address}, which is not a public "
                    "address (loopback, private, link-local, multicast, reserved or unspecified)."
                )
    return addresses


def is_public_address(address: str) -> bool:
    """Return whether ``address`` is a global unicast address (IPv4-mapped ones judged as the
    IPv4 address they map)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone index is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global  # shared address space (100.64.0.0/10) and the like
    )


class _PinnedAddressAdapter(HTTPAdapter):
    """Connect to one given address whatever the URL's host, which still names the server in
    the Host header (set by the caller), SNI and the certificate check."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        hostname = host_params["host"]
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` as SSRF-safe as the module says, and return what came back.

    Never raises for the target's failures: a refused target, a connection error or a timeout
    is an ``Answer`` with an error and no status.
    """
    started = time.monotonic()

    def answer(status: int | None, error: str = "") -> Answer:
        return Answer(status, error, round((time.monotonic() - started) * 1000))

    try:
        addresses = target_addresses(url)
    except TargetRefused as error:
        return answer(None, f"refused: {error}")
    parts = urlsplit(url)
    assert parts.hostname is not None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port is not None:
        host += f":{parts.port}"
    with requests.Session() as session:
        session.trust_env = False  # no proxy, .netrc or CA bundle from the environment
        session.mount(f"{parts.scheme}://", _PinnedAddressAdapter(addresses[0]))
        try:
            response = session.post(
                url,
                data=body,
                headers={**headers, "Host": host},
                timeout=(
                    settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS,
                    settings.WEBHOOKS_READ_TIMEOUT_SECONDS,
                ),
                allow_redirects=False,
                verify=TLS_VERIFY,
                stream=True,  # the body is never read: the status is the answer
            )
        except requests.Timeout:
            return answer(None, "timeout")
        except requests.RequestException as error:
            return answer(None, f"{error.__class__.__name__}: {error}"[:1000])
        response.close()
        return answer(response.status_code)

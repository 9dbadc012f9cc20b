"""Outbound HTTP for webhooks, safe against server-side request forgery.

A target's host is resolved and every address it resolves to is checked (by a ``Client`` at
most every ``RESOLVE_SECONDS``): with ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` off, a loopback,
private, link-local, multicast, reserved or unspecified address refuses the send. The request
then connects to the address checked (not to a second lookup, which a DNS rebinding attack could
answer differently), with the URL's host in the ``Host`` header and, for https, in SNI and the
certificate check. No redirect is followed, no proxy from the environment is used, and both the
connection and the answer have timeouts.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import certifi
import urllib3
from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}
# Certificates are checked against certifi's authorities; tests point this at their own
# authority's file.
TLS_CA_FILE = certifi.where()


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


# How long a target's checked addresses are used before its host is resolved and checked again.
RESOLVE_SECONDS = 10.0
# An answer's body is read (so that its connection can be used again) up to this many bytes; a
# longer one is left unread and its connection closed.
ANSWER_BODY_MAX_BYTES = 64 * 1024


class Client:
    """POSTs to webhook targets as SSRF-safe as the module says, keeping connections alive.

    A target's host is resolved and checked at most every ``RESOLVE_SECONDS``, and a
    connection is kept per scheme, host, port and checked address (a urllib3 pool of one), so
    a sender's deliveries to one receiver go over one connection. urllib3 directly: requests'
    sessions cost more CPU per send than the rest of a delivery. Not for use by several threads
    at once: give each its own.
    """

    def __init__(self) -> None:
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._checked: dict[str, tuple[float, list[str] | TargetRefused]] = {}

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
        """POST ``body`` to ``url`` and return what came back.

        Never raises for the target's failures: a refused target, a connection error or a
        timeout is an ``Answer`` with an error and no status.
        """
        started = time.monotonic()

        def answer(status: int | None, error: str = "") -> Answer:
            return Answer(status, error, round((time.monotonic() - started) * 1000))

        addresses = self._addresses(url, now=started)
        if isinstance(addresses, TargetRefused):
            return answer(None, f"refused: {addresses}")
        parts = urlsplit(url)
        assert parts.hostname is not None
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        if parts.port is not None:
            host += f":{parts.port}"
        pool = self._pool(parts.scheme, parts.hostname, port, addresses[0])
        try:
            response = pool.urlopen(
                "POST",
                urlunsplit(("", "", parts.path or "/", parts.query, "")),
                body=body,
                headers={**headers, "Host": host},
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,  # the status is the answer; the body is read to a bound
            )
        except urllib3.exceptions.TimeoutError as error:
            # A refused connection is a NewConnectionError, a ConnectTimeoutError for urllib3.
            if not isinstance(error, urllib3.exceptions.NewConnectionError):
                return answer(None, "timeout")
            return answer(None, f"{error.__class__.__name__}: {error}"[:1000])
        except urllib3.exceptions.HTTPError as error:
            return answer(None, f"{error.__class__.__name__}: {error}"[:1000])
        try:
            if len(response.read(ANSWER_BODY_MAX_BYTES + 1)) > ANSWER_BODY_MAX_BYTES:
                response.close()  # more than a receiver should say: not read, not kept
            else:
                response.release_conn()
        except urllib3.exceptions.HTTPError:
            response.close()  # the status came; a body cut short only costs the connection
        return answer(response.status)

    def _addresses(self, url: str, *, now: float) -> list[str] | TargetRefused:
        """Return ``url``'s checked addresses, or why it is refused (cached for a while)."""
        checked_at, result = self._checked.get(url, (-RESOLVE_SECONDS, []))
        if now - checked_at >= RESOLVE_SECONDS:
            try:
                result = target_addresses(url)
            except TargetRefused as error:
                result = error
            self._checked[url] = (now, result)
        return result

    def _pool(
        self, scheme: str, hostname: str, port: int, address: str
    ) -> urllib3.HTTPConnectionPool:
        """Return the pool connecting to ``address`` (whatever the URL's host, which still
        names the server in the Host header, SNI and the certificate check). No proxy from the
        environment: urllib3 reads none."""
        key = (scheme, hostname, port, address)
        pool = self._pools.get(key)
        if pool is None:
            timeout = urllib3.Timeout(
                connect=settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS,
                read=settings.WEBHOOKS_READ_TIMEOUT_SECONDS,
            )
            if scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    address,
                    port,
                    timeout=timeout,
                    maxsize=1,
                    server_hostname=hostname,
                    assert_hostname=hostname,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=TLS_CA_FILE,
                )
            else:
                pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, maxsize=1)
            self._pools[key] = pool
        return pool


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` once, on a connection of its own (``Client.post``)."""
    with Client() as client:
        return client.post(url, body=body, headers=headers)

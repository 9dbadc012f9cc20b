"""Outbound requests: every resolved address checked, and the request sent to the address
checked (no second lookup for a DNS rebinding to answer), with the URL's host in Host."""

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from apps.webhooks import outbound
from apps.webhooks.outbound import TargetRefused, is_public_address, target_addresses
from apps.webhooks.tests.receiver import Receiver


def resolving(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[str]:
    """Make each lookup answer the next list of addresses; return the names looked up."""
    looked_up: list[str] = []
    remaining = list(answers)

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        try:  # an address is itself, as for the real getaddrinfo (no DNS)
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            looked_up.append(host)
            addresses = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    return looked_up


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 (an address judged, not bound)
        ("224.0.0.251", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.215.14", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_a_host_with_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    resolving(monkeypatch, ["93.184.215.14", "10.0.0.7"])

    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7"):
        target_addresses("https://hooks.example.com/in")


def test_the_request_goes_to_the_address_checked_with_the_urls_host(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    # A rebinding DNS: the loopback receiver first, anything else after.
    looked_up = resolving(monkeypatch, ["127.0.0.1"], ["203.0.113.9"])

    answer = outbound.post(f"http://hooks.example.com:{port}/hook", body=b"{}", headers={})

    assert answer.status == 200, answer.error
    assert looked_up == ["hooks.example.com"]  # once: the connection did not look it up again
    (request,) = receiver.received
    assert request.headers["host"] == f"hooks.example.com:{port}"


def test_a_client_keeps_its_checked_address_for_a_while_then_checks_again(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver, settings: Any
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://hooks.example.com:{port}/hook"
    # The host moves to a private address after the first lookup.
    looked_up = resolving(monkeypatch, ["127.0.0.1"], ["10.0.0.7"])
    now = [1000.0]
    monkeypatch.setattr(outbound.time, "monotonic", lambda: now[0])

    with outbound.Client() as client:
        first = client.post(url, body=b"{}", headers={})
        now[0] += outbound.RESOLVE_SECONDS - 1
        second = client.post(url, body=b"{}", headers={})  # the checked address, still
        settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
        now[0] += 1
        third = client.post(url, body=b"{}", headers={})  # resolved and checked again

    assert (first.status, second.status) == (200, 200)
    assert third.status is None
    assert third.error.startswith("refused: ") and "10.0.0.7" in third.error
    assert looked_up == ["hooks.example.com", "hooks.example.com"]
    # One connection for both requests sent.
    assert len({request.peer_port for request in receiver.received}) == 1


def test_credentials_and_other_schemes_are_refused() -> None:
    for url in ("http://user:pass@example.com/", "file:///etc/passwd", "gopher://x/", "http:///x"):
        with pytest.raises(TargetRefused):
            target_addresses(url)


def make_certificate(folder: Path, hostname: str) -> tuple[Path, Path]:
    """Return a self-signed certificate for ``hostname`` and its key, made with openssl."""
    certificate, key = folder / "certificate.pem", folder / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")
    subprocess.run(  # noqa: S603 (our own arguments)
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={hostname}", "-addext", f"subjectAltName=DNS:{hostname}",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


@contextmanager
def https_receiver(certificate: Path, key: Path) -> Iterator[tuple[int, list[str]]]:
    """Serve HTTPS on loopback; yield the port and the SNI names the clients sent."""
    server_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name or "")  # type: ignore[assignment, misc]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, server_names
    finally:
        server.shutdown()
        server.server_close()


def test_https_to_the_checked_address_sends_sni_and_checks_the_hosts_certificate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    certificate, key = make_certificate(tmp_path, "hooks.example.com")
    monkeypatch.setattr(outbound, "TLS_CA_FILE", str(certificate))
    resolving(monkeypatch, ["127.0.0.1"])

    with https_receiver(certificate, key) as (port, server_names):
        good = outbound.post(f"https://hooks.example.com:{port}/in", body=b"{}", headers={})
        # The same server, named otherwise: its certificate does not match.
        wrong = outbound.post(f"https://other.example.com:{port}/in", body=b"{}", headers={})

    assert good.status == 204, good.error
    assert server_names[0] == "hooks.example.com"
    assert wrong.status is None
    assert "SSLError" in wrong.error

"""Outbound requests: every resolved address checked, and the request sent to the address
checked (no second lookup for a DNS rebinding to answer), with the URL's host in Host."""

import ipaddress
import socket
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


def test_credentials_and_other_schemes_are_refused() -> None:
    for url in ("http://user:pass@example.com/", "file:///etc/passwd", "gopher://x/", "http:///x"):
        with pytest.raises(TargetRefused):
            target_addresses(url)

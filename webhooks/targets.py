"""Where Rollcall may send a webhook: not to this machine (loopback) nor to link-local addresses such as a cloud's
metadata service (169.254.169.254), which a release manager could otherwise use, with the delivery log's response
codes, to probe what only Rollcall's own host can reach. Private networks (10.x, 192.168.x…) are allowed: that is
where a locked-down company's Jenkins lives. ROLLCALL_WEBHOOK_ALLOW_LOCAL=1 allows loopback and link-local too
(a receiver on the same host; the tests).

The URL's host is checked when a subscription is saved (an address written in it) and again before each delivery,
on the addresses its name resolves to then."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

LOCAL_REFUSED = (
    "Rollcall does not send webhooks to {address}: it is {what}. (ROLLCALL_WEBHOOK_ALLOW_LOCAL=1 allows it, for a "
    "receiver on Rollcall's own host.)"
)


def _what(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if address.is_loopback or address.is_unspecified:
        return "this machine (loopback)"
    if address.is_link_local:
        return "a link-local address, such as a cloud's metadata service"
    if address.is_multicast:
        return "a multicast address"
    return None


def _addresses(host: str, *, resolve: bool) -> list:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # not resolvable now: the delivery fails to connect and is retried
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def refused_target(url: str, *, resolve: bool = False) -> str | None:
    """Why `url` may not receive webhooks, or None. Without `resolve`, only an address written in the URL (or
    localhost) is checked; with it, every address its host resolves to."""
    if getattr(settings, "ROLLCALL_WEBHOOK_ALLOW_LOCAL", False):
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None  # the URL's own validation says what is wrong with it
    for address in _addresses(host, resolve=resolve):
        what = _what(address)
        if what:
            return LOCAL_REFUSED.format(address=address, what=what)
    return None

"""Where a request comes from, as far as the proxies the settings trust tell."""

import ipaddress

from fastapi import Request

from app.core.config import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# What a request whose peer is not an IP address (a Unix socket, a test client) counts as.
UNKNOWN_ADDRESS = "unknown"


def client_address(request: Request, trusted_proxies: tuple[IPNetwork, ...]) -> str:
    """The client's IP address: the connection's peer, unless that is a trusted proxy.

    Then X-Forwarded-For is read from its end, each proxy having appended the address it saw,
    and the first address that is not a trusted proxy is the client's. Entries further left
    were written by the client and prove nothing.
    """
    peer = _parsed(request.client.host if request.client else "")
    if peer is None:
        return UNKNOWN_ADDRESS
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
    while forwarded and _is_trusted(peer, trusted_proxies):
        hop = _parsed(forwarded.pop())
        if hop is None:
            break
        peer = hop
    return str(peer)


def _parsed(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address: IPAddress, trusted_proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in trusted_proxies)

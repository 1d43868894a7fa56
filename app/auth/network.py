"""The real client address, and server-wide IP rules.

`X-Forwarded-For` is believed only when the TCP peer is a configured trusted
proxy; the header is then walked from the right, skipping trusted proxies,
and the first other address is the client (so a client cannot prepend a
fake one). uvicorn's own proxy handling is off (it trusts 127.0.0.1).
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_FORWARDED_HOPS = 32


def parse_networks(cidrs: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def parse_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in net for net in networks)


def client_address(
    peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]
) -> str | None:
    """The client's address: the peer, or the rightmost untrusted X-Forwarded-For hop."""
    peer_address = parse_address(peer) if peer else None
    if peer_address is None:
        return peer
    if not trusted or not in_networks(peer_address, trusted) or not forwarded_for:
        return str(peer_address)
    hops = [h for value in forwarded_for for h in value.split(",")][-MAX_FORWARDED_HOPS:]
    client = peer_address
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            # Garbage in the chain: stop at the last address we could trust.
            break
        client = address
        if not in_networks(address, trusted):
            break
    return str(client)

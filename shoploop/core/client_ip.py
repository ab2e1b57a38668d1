"""The client's IP address, as far as it can be trusted.

``X-Forwarded-For`` is written by whoever sends the request, so it is only believed when the
direct peer (``REMOTE_ADDR``) is one of our own proxies (setting ``TRUSTED_PROXIES``, IPs or CIDRs).
Each trusted proxy appends the address it saw, so the header is read from the right, skipping our
proxies; the first address that is not ours is the client. Anything a client put further left is
ignored, so nobody can choose their own address to dodge a per-IP limit.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in configured)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str | None:
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_networks()
    if peer is None:
        return None
    if not _is_trusted(peer, networks):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _parse(hop)
        if address is None:
            # A garbled hop was written by someone we do not trust: stop at the last good one.
            break
        if not _is_trusted(address, networks):
            return str(address)
        peer = address
    return str(peer)

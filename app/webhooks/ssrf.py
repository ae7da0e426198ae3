"""Where the service may send webhooks: never to its own network.

An endpoint URL is checked when it is registered and again at every send, where the host
is resolved, every address checked, and the request sent to the checked address itself
(with the original host name for `Host` and TLS), so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot point a delivery at an internal address.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from app.core.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(Exception):
    """The URL may not receive webhooks; `code` names the reason for an API error item."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """Where one request goes: the checked address, and the URL's own host and port."""

    url: SplitResult
    host: str
    port: int
    address: IPAddress

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{host}:{self.port}"
        return self.url._replace(netloc=netloc).geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.url.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def is_refused_address(address: IPAddress) -> bool:
    """Loopback, private, link-local, multicast, unspecified, reserved, shared (CGNAT) or
    any other non-global range; an IPv4-mapped IPv6 address is judged as its IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


def check_url_shape(url: str, settings: Settings) -> SplitResult:
    """Scheme, host and credentials, before any name is resolved."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("url_scheme", "the URL must start with https:// (or http://)")
    production = settings.environment == "production"
    if parts.scheme == "http" and production and not settings.webhook_allow_http:
        raise UnsafeUrl("https_required", "webhook URLs must use https in production")
    if not parts.hostname:
        raise UnsafeUrl("url_host", "the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("url_credentials", "put no credentials in the URL; verify signatures")
    if parts.fragment:
        raise UnsafeUrl("url_fragment", "the URL must not have a #fragment")
    try:
        _ = parts.port
    except ValueError:
        raise UnsafeUrl("url_port", "the URL's port is not a number from 1 to 65535") from None
    return parts


async def resolve(url: str, settings: Settings) -> Target:
    """The address a request to `url` may go to; UnsafeUrl when none may."""
    parts = check_url_shape(url, settings)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _addresses(host, port)
    if not settings.webhook_allow_private:
        refused = [a for a in addresses if is_refused_address(a)]
        if refused:
            raise UnsafeUrl(
                "url_not_public",
                f"{host} resolves to {refused[0]}, a loopback, private, link-local or reserved "
                "address: webhooks go to public addresses only",
            )
    return Target(parts, host, port, addresses[0])


# A resolver that does not answer must not hold a request (or a delivery) for long.
RESOLVE_TIMEOUT_SECONDS = 5.0


async def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
        )
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl("url_unresolvable", f"{host} does not resolve: {error}") from None
    except TimeoutError:
        raise UnsafeUrl(
            "url_unresolvable", f"{host} did not resolve within {RESOLVE_TIMEOUT_SECONDS} s"
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # A scoped IPv6 address (fe80::1%eth0) is link-local anyway; drop the scope.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl("url_unresolvable", f"{host} does not resolve")
    return addresses

"""Where a webhook may be sent: the SSRF rule.

A webhook URL is typed by a partner, and the worker then makes requests to it from inside the
registry's network. So, unless the operator allows it (REGISTRY_WEBHOOK_ALLOW_PRIVATE, on in
development, off in production):
- the URL is https (plain http only to a loopback host, and only where private hosts are
  allowed: development and tests);
- its host must not resolve to a private, loopback, link-local, multicast, reserved or
  unspecified address (the cloud metadata service at 169.254.169.254 among them).

The rule is checked when a subscription is written (an address the registry can resolve then)
and again before every send, on the addresses the worker then connects to: the connection is
made to the very address that was checked (`resolve`), so a DNS answer that changes between the
check and the connect (DNS rebinding) cannot steer it inside. Redirects are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class Refused(ValueError):
    """The URL may not be used; the message says why, for the caller."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: str  # the checked IP address the worker connects to


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _is_loopback_name(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_private: bool) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path, or Refused. No DNS lookup (see `resolve`)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("Not a URL.") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        raise Refused("A webhook URL is https://host/path.")
    if parts.username or parts.password:
        raise Refused("A webhook URL carries no user name or password (the signature proves us).")
    if parts.fragment:
        raise Refused("A webhook URL has no #fragment.")
    if scheme == "http" and not (allow_private and _is_loopback_name(host)):
        raise Refused("A webhook URL must be https (plain http only to a local test receiver).")
    if not allow_private:
        if _is_loopback_name(host):
            raise Refused("A webhook may not be sent to this host.")
        try:
            if _blocked(host):
                raise Refused("A webhook may not be sent to a private or reserved address.")
        except ValueError:
            pass  # a name: judged by what it resolves to
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(url: str, allow_private: bool) -> Target:
    """The URL checked, and the address to connect to: the first the host resolves to, all of
    which must be allowed. Refused when none is, or when the name does not resolve."""
    scheme, host, port, path = check_url(url, allow_private)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(f"The host {host} does not resolve.") from None
    addresses = [info[4][0] for info in infos]
    if not allow_private and any(_blocked(address) for address in addresses):
        raise Refused(f"The host {host} resolves to a private or reserved address.")
    return Target(scheme, host, port, path, addresses[0])


def check_on_write(url: str, allow_private: bool) -> None:
    """The rule at write time: the URL's form, and where its host resolves now, when it does (a
    partner may register its endpoint before its DNS name is published; every send checks
    again)."""
    try:
        resolve(url, allow_private)
    except Refused as refusal:
        if "does not resolve" not in str(refusal):
            raise

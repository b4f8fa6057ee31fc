"""The URL of a cluster's API from its configured host and port."""

from __future__ import annotations


def https_url(host: str, port: int, path: str) -> str:
    """`https://HOST:PORT/PATH`, an IPv6 literal in brackets as RFC 3986 (section 3.2.2)
    writes it: `https_url("fe80::1", 8006, "api2/json")` is
    `https://[fe80::1]:8006/api2/json`; a host given in brackets stays as it is."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}/{path}"

"""A cluster's API URL from its configured host: an IPv6 literal in brackets, once."""

from __future__ import annotations

from vmconsole.backends.endpoint import https_url


def test_an_api_url_brackets_an_ipv6_host_once() -> None:
    assert https_url("pve.example", 8006, "api2/json") == "https://pve.example:8006/api2/json"
    assert https_url("fe80::1", 8006, "api2/json") == "https://[fe80::1]:8006/api2/json"
    assert https_url("[fe80::1]", 443, "sdk") == "https://[fe80::1]:443/sdk"

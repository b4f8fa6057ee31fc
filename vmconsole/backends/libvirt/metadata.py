"""What vmconsole stores in a domain's `<metadata>`: the template mark, HA settings and
the guest's address, under the project's own XML namespace.

libvirt keeps one element per namespace; this module reads and writes that element:

    <vmc:vmconsole xmlns:vmc="https://vmconsole.invalid/xmlns/1">
      <vmc:template/>
      <vmc:ha request="started" group="web" nodes="pve1,pve2" max_restart="1" max_relocate="1"/>
      <vmc:address ip="10.77.0.11"/>
    </vmc:vmconsole>
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from vmconsole.backends.ha_config import HASettings
from vmconsole.model import HARequest

NAMESPACE = "https://vmconsole.invalid/xmlns/1"
PREFIX = "vmc"
ROOT = "vmconsole"


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


@dataclass(frozen=True, slots=True)
class GuestMeta:
    template: bool = False
    ha: HASettings | None = None
    ip: str | None = None

    def with_template(self) -> GuestMeta:
        return replace(self, template=True)

    def with_ha(self, ha: HASettings | None) -> GuestMeta:
        return replace(self, ha=ha)

    @property
    def empty(self) -> bool:
        return self == GuestMeta()


def parse_meta(root: ET.Element | None) -> GuestMeta:
    """The metadata from our `<vmconsole>` element (None: the domain has none)."""
    if root is None:
        return GuestMeta()
    ha = None
    if (ha_el := root.find(_q("ha"))) is not None:
        try:
            ha = HASettings(
                request=HARequest(ha_el.get("request", "started")),
                group=ha_el.get("group") or None,
                nodes=tuple(n for n in ha_el.get("nodes", "").split(",") if n),
                max_restart=int(ha_el.get("max_restart", "1")),
                max_relocate=int(ha_el.get("max_relocate", "1")),
            )
        except ValueError:
            ha = None  # hand-edited nonsense: the guest shows without HA rather than failing
    address = root.find(_q("address"))
    return GuestMeta(
        template=root.find(_q("template")) is not None,
        ha=ha,
        ip=address.get("ip") if address is not None else None,
    )


def find_meta_element(domain: ET.Element) -> ET.Element | None:
    """Our element inside a parsed `<domain>`."""
    return domain.find(f"metadata/{_q(ROOT)}")


def meta_xml(meta: GuestMeta) -> str:
    """The element for `virDomainSetMetadata` (libvirt adds the namespace prefix)."""
    root = ET.Element(ROOT)
    if meta.template:
        ET.SubElement(root, "template")
    if meta.ha is not None:
        ha = meta.ha
        attrs = {"request": ha.request.value, "max_restart": str(ha.max_restart),
                 "max_relocate": str(ha.max_relocate)}
        if ha.group:
            attrs["group"] = ha.group
        if ha.nodes:
            attrs["nodes"] = ",".join(ha.nodes)
        ET.SubElement(root, "ha", attrs)
    if meta.ip:
        ET.SubElement(root, "address", {"ip": meta.ip})
    return ET.tostring(root, encoding="unicode")

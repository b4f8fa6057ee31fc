"""Marks kept in the domain's metadata: template, and HA settings."""

from __future__ import annotations

import libvirt

from vmconsole.backends.base import InvalidInput, Task
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.hostread import describe
from vmconsole.backends.libvirt.metadata import NAMESPACE, PREFIX, GuestMeta, meta_xml
from vmconsole.backends.libvirt.tasks import TaskContext
from vmconsole.ha import rules


def _write(host: Host, dom: libvirt.virDomain, meta: GuestMeta) -> None:
    """Store `meta` in the persistent definition (and the live one of a running guest)."""

    def write(_c: libvirt.virConnect) -> None:
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if dom.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        if meta.empty:
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, NAMESPACE, flags)
        else:
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, meta_xml(meta), PREFIX,
                            NAMESPACE, flags)

    host.call(write, f"writing the metadata of {dom.name()}")


def _current(host: Host, dom: libvirt.virDomain) -> GuestMeta:
    """The metadata as libvirt has it now (not from the cache: another console may
    have changed it)."""
    return host.call(lambda c: describe(c, dom), f"reading {dom.name()}").desc.meta


def convert_to_template(core: ClusterCore, guest_id: str) -> Task:
    host, dom = core.locate(guest_id)
    name = dom.name()
    if host.call(lambda _c: dom.isActive(), f"reading {name}"):
        raise InvalidInput(f"{name} is running: only a stopped guest becomes a template",
                           {"guest": "running"})

    def work(ctx: TaskContext) -> None:
        ctx.log(f"marking {name} on {host.name} as a template (it will refuse to start; "
                "create guests from it)")
        _write(host, dom, _current(host, dom).with_template())
        core.defined(host, dom.UUIDString())
        ctx.log(f"{name} is a template")

    return core.tasks_book.run("template", guest_id, host.name, work, lock=(guest_id,))


def ha_set(core: ClusterCore, guest_id: str, settings: HASettings) -> Task:
    if settings.max_restart < 0 or settings.max_relocate < 0:
        raise InvalidInput("max_restart and max_relocate are 0 or more",
                           {"max_restart": ">= 0", "max_relocate": ">= 0"})
    nodes = rules.node_list_problem(settings.nodes, (h.name for h in core.hosts))
    if nodes is not None:
        raise InvalidInput(f"{nodes} in {core.cfg.name}", {"nodes": nodes})
    host, dom = core.locate(guest_id)
    name = dom.name()

    def work(ctx: TaskContext) -> None:
        where = settings.group or ",".join(settings.nodes) or "any node"
        ctx.log(f"HA for {name}: request {settings.request.value}, {where}, max_restart "
                f"{settings.max_restart}, max_relocate {settings.max_relocate}")
        _write(host, dom, _current(host, dom).with_ha(settings))
        core.defined(host, dom.UUIDString())
        ctx.log("stored in the domain's metadata; the cluster's HA manager (`vmconsole ha "
                "run`, README: HA on plain libvirt) fences and recovers it"
                + ("" if core.cfg.ha else ": this cluster has no `ha` table yet, so none "
                   "does"))

    return core.tasks_book.run("ha_set", guest_id, host.name, work, lock=(guest_id,))


def ha_remove(core: ClusterCore, guest_id: str) -> Task:
    host, dom = core.locate(guest_id)
    name = dom.name()

    def work(ctx: TaskContext) -> None:
        ctx.log(f"removing {name} from HA")
        _write(host, dom, _current(host, dom).with_ha(None))
        core.defined(host, dom.UUIDString())
        ctx.log(f"{name} is no longer an HA resource")

    return core.tasks_book.run("ha_remove", guest_id, host.name, work, lock=(guest_id,))

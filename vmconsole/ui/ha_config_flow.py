"""What the HA rules screen, the CRS form and the FT form do when used: read the
cluster's rules, settings or limits in a worker, open the form, and send each change
through the runner (`vmconsole.operations`): admin only, as every change to the cluster
a class shares, and audited. Forms and screens are imported when first opened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from vmconsole.actor import Role
from vmconsole.backends.abilities import SupportsFaultToleranceLimits, SupportsHAConfig
from vmconsole.backends.base import Backend, NotSupported
from vmconsole.backends.ha_config import (
    CRSView,
    HARules,
    NodeAffinityRule,
    ResourceAffinityRule,
)
from vmconsole.model import Guest
from vmconsole.operations import OpRequest, Outcome
from vmconsole.text import visible
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals.confirm import ConfirmScreen


def _config(backend: Backend) -> SupportsHAConfig:
    if not isinstance(backend, SupportsHAConfig):
        raise NotSupported(f"{backend.name} has no HA rules or CRS to edit here")
    return backend


def _ft(backend: Backend) -> SupportsFaultToleranceLimits:
    if not isinstance(backend, SupportsFaultToleranceLimits):
        raise NotSupported(f"{backend.name} has no fault tolerance")
    return backend


class HAConfigFlow:
    """The flows of one cluster's HA configuration (`HARulesOps` for the screen)."""

    def __init__(self, app: ConsoleBase, cluster: str) -> None:
        self.app, self.cluster = app, cluster
        self.runner = app.runner

    @property
    def may_change(self) -> bool:
        """May this console change HA rules and the CRS (an admin's, not read-only)?"""
        return self.app.operations.allowed(Role.ADMIN)

    def request(self, target: str, operation: str, description: str,
                parameters: dict[str, object] | None = None) -> OpRequest:
        return OpRequest(self.cluster, target, operation, description,
                         dict(parameters or {}), needs=Role.ADMIN)

    def permitted(self, operation: str, description: str, target: str = "ha-rules") -> bool:
        """Checked before a form opens (a refusal is audited and said, against
        `target`: the rules, or the VM whose fault tolerance is asked for)."""
        return self.runner.permitted(self.request(target, operation, description))

    async def _run(self, target: str, operation: str, description: str,
                   call: Callable[[Backend], str], parameters: dict[str, object]) -> Outcome:
        return await self.runner.run(self.request(target, operation, description,
                                                  parameters), call)

    async def load(self) -> tuple[HARules, CRSView] | None:
        """The rules and the CRS settings, read in a worker (None: failed, and said)."""
        return await self.runner.query(self.cluster, "HA rules", lambda b: (
            _config(b).ha_config(), _config(b).crs_settings()))

    # --- rules --------------------------------------------------------------------------

    async def edit_node_affinity(self, rules: HARules, rule: NodeAffinityRule | None) -> bool:
        """Open the node-affinity form; True once a rule was saved."""
        title = f"Node-affinity rule {rule.name}" if rule else "New node-affinity rule"
        if not self.permitted("ha_node_affinity_set", title):
            return False
        from vmconsole.ui.modals.ha_rule_forms import NodeAffinityForm, NodeAffinityRequest

        async def submit(req: NodeAffinityRequest) -> Outcome:
            def call(backend: Backend) -> str:
                _config(backend).ha_node_affinity_set(req.name, req.nodes, req.positive,
                                                      req.strict, req.nofailback,
                                                      req.resources)
                return f"node-affinity rule {visible(req.name)} saved"
            return await self._run(req.name, "ha_node_affinity_set", title, call,
                                   asdict(req))

        saved: list[bool] = []
        await self.app.push_screen_wait(NodeAffinityForm(rules, rule, self._noting(
            submit, saved)))
        return bool(saved)

    async def edit_resource_affinity(self, rules: HARules,
                                     rule: ResourceAffinityRule | None) -> bool:
        title = (f"Resource-affinity rule {rule.name}" if rule
                 else "New resource-affinity rule")
        if not self.permitted("ha_resource_affinity_set", title):
            return False
        from vmconsole.ui.modals.ha_rule_forms import (
            ResourceAffinityForm,
            ResourceAffinityRequest,
        )

        async def submit(req: ResourceAffinityRequest) -> Outcome:
            def call(backend: Backend) -> str:
                _config(backend).ha_resource_affinity_set(req.name, req.resources,
                                                          req.positive)
                return f"resource-affinity rule {visible(req.name)} saved"
            return await self._run(req.name, "ha_resource_affinity_set", title, call,
                                   asdict(req))

        saved: list[bool] = []
        await self.app.push_screen_wait(ResourceAffinityForm(rules, rule, self._noting(
            submit, saved)))
        return bool(saved)

    async def delete(self, rule: NodeAffinityRule | ResourceAffinityRule,
                     rules: HARules) -> bool:
        """Ask, then remove the rule; True once removed."""
        node = isinstance(rule, NodeAffinityRule)
        kind = "node-affinity" if node else "resource-affinity"
        operation = "ha_node_affinity_remove" if node else "ha_rule_remove"
        title = f"Delete {kind} rule {rule.name}"
        if not self.permitted(operation, title):
            return False
        from vmconsole.ui.modals.ha_rule_forms import sids

        freed = (f"Its resources ({sids(rule.resources, rules)}) may then run on any node."
                 if node and rule.resources else
                 "The CRM no longer keeps its resources together or apart." if not node
                 else "It names no resources.")
        if not await self.app.push_screen_wait(ConfirmScreen(
                title, f"Delete the {kind} rule {rule.name}?", freed, "Delete")):
            return False

        def call(backend: Backend) -> str:
            if node:
                _config(backend).ha_node_affinity_remove(rule.name)
            else:
                _config(backend).ha_rule_remove(rule.name)
            return f"{kind} rule {visible(rule.name)} deleted"

        outcome = await self._run(rule.name, operation, title, call, {"name": rule.name})
        return outcome.ok

    # --- CRS ----------------------------------------------------------------------------

    async def edit_crs(self, current: CRSView | None = None) -> bool:
        title = "CRS settings"
        if not self.permitted("set_crs", title):
            return False
        if current is None:
            current = await self.runner.query(self.cluster, "CRS settings",
                                              lambda b: _config(b).crs_settings())
            if current is None:
                return False
        from vmconsole.ui.modals.crs import CRSForm, CRSRequest

        async def submit(req: CRSRequest) -> Outcome:
            def call(backend: Backend) -> str:
                _config(backend).set_crs(req.mode, req.auto_rebalance, req.threshold,
                                         req.hold, req.margin)
                return (f"{req.mode} scheduler, auto-rebalance "
                        f"{'on' if req.auto_rebalance else 'off'}")
            return await self._run("cluster", "set_crs", title, call, asdict(req))

        saved: list[bool] = []
        await self.app.push_screen_wait(CRSForm(current, self._noting(submit, saved)))
        return bool(saved)

    # --- fault tolerance ----------------------------------------------------------------

    async def fault_tolerance(self, guest: Guest) -> None:
        """Read the VM's FT limits, then protect it on the chosen node or turn FT off."""
        title = f"Fault tolerance: {guest_title(guest)}"
        if not self.permitted("fault_tolerance", title, guest.id):
            return
        gid = guest.id
        limits = await self.runner.query(self.cluster, "FT limits",
                                         lambda b: _ft(b).ft_limits(gid))
        if limits is None:
            return
        from vmconsole.ui.modals.fault_tolerance import TURN_OFF, FaultToleranceForm

        async def submit(secondary: str) -> Outcome:
            off = secondary == TURN_OFF

            def call(backend: Backend) -> str:
                _ft(backend).set_fault_tolerance(gid, None if off else secondary)
                return (f"{visible(guest.name)}: fault tolerance off" if off else
                        f"{visible(guest.name)}: fault tolerant, shadow on "
                        f"{visible(secondary)}")
            return await self._run(gid, "fault_tolerance", title, call, {
                "enabled": not off, "secondary": None if off else secondary})

        await self.app.push_screen_wait(FaultToleranceForm(guest, limits, submit))

    @staticmethod
    def _noting(submit: Callable[[Any], Awaitable[Outcome]], saved: list[bool]
                ) -> Callable[[Any], Awaitable[Outcome]]:
        """`submit`, noting in `saved` that a change was made (a form dismisses with
        None both when cancelled and after a change made at once)."""
        async def noted(req: Any) -> Outcome:
            outcome = await submit(req)
            if outcome.ok:
                saved.append(True)
            return outcome
        return noted

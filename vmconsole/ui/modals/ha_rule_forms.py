"""The HA rules screen's forms: a node-affinity rule (where its resources run, or do
not; strict or preferred) and a resource-affinity rule (keep together, keep apart).

The form reads what was typed (node names with priorities, resources as Proxmox names
them: vm:100, ct:200, or the bare id); whether the rule fits the cluster and its other
rules is the backend's check, whose reasons land next to their fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Select

from vmconsole.backends.ha_config import HARules, NodeAffinityRule, ResourceAffinityRule
from vmconsole.text import visible
from vmconsole.ui.modals.form import FormCheckbox, FormScreen, Submitter
from vmconsole.ui.modals.validate import PRIORITY_MAX, PRIORITY_RULE, rule_name, whole
from vmconsole.ui.widgets.plain_input import PlainInput


@dataclass(frozen=True, slots=True)
class NodeAffinityRequest:
    """A node-affinity rule as submitted (the arguments of `ha_node_affinity_set`)."""

    name: str
    nodes: dict[str, int]
    positive: bool
    strict: bool
    nofailback: bool
    resources: list[str]


@dataclass(frozen=True, slots=True)
class ResourceAffinityRequest:
    name: str
    resources: list[str]
    positive: bool


def _tokens(text: str) -> list[str]:
    return text.replace(",", " ").split()


def parse_nodes(text: str) -> tuple[dict[str, int], str | None]:
    """"pve2:2, pve1" -> ({"pve2": 2, "pve1": 0}, None); a bad priority -> reason.
    A node without a priority gets 0, as Proxmox's default; a priority is a whole number
    from 0 to `PRIORITY_MAX` (PVE::HA::Groups' `pve-ha-group-node` format: `node(:\\d+)?`;
    the top is the web interface's)."""
    nodes: dict[str, int] = {}
    for token in _tokens(text):
        name, _, priority = token.partition(":")
        digits = priority.isascii() and priority.isdigit()  # whole() takes a minus too
        number = whole(priority, 0, PRIORITY_MAX) if digits else 0
        if (priority and not digits) or isinstance(number, str):
            return {}, f"'{visible(token)}': {PRIORITY_RULE}"
        nodes[name] = number
    return nodes, None


def parse_resources(text: str, rules: HARules) -> tuple[list[str], str | None]:
    """"vm:100 ct:200 101" -> guest ids; a name no guest has -> reason."""
    by_name: dict[str, str] = {}
    for ref in rules.resources:
        by_name[ref.sid] = by_name[ref.guest] = by_name[ref.sid.split(":", 1)[1]] = ref.guest
    out: list[str] = []
    unknown = []
    for token in _tokens(text):
        guest = by_name.get(token)
        if guest is None:
            unknown.append(token)
        elif guest not in out:
            out.append(guest)
    if unknown:
        return [], f"no guest {', '.join(visible(u) for u in unknown)} (write vm:100, ct:200)"
    return out, None


def sids(guests: tuple[str, ...] | list[str], rules: HARules) -> str:
    """Guest ids as Proxmox names resources: "vm:100, ct:200"."""
    names = {ref.guest: ref.sid for ref in rules.resources}
    return ", ".join(names.get(g, g) for g in guests)


def ha_resources_hint(rules: HARules) -> str:
    listed = [f"{ref.sid} {visible(ref.name)}" for ref in rules.resources if ref.ha]
    return "HA resources: " + (", ".join(listed) if listed else "none (H on a guest)")


class RuleForm(FormScreen):
    """What both rule forms share: the rule's name (fixed once the rule exists), its
    affinity (positive or negative) and its resources."""

    SUBMIT_LABEL = "Save"

    def __init__(self, title: str, rules: HARules,
                 rule: NodeAffinityRule | ResourceAffinityRule | None,
                 submit: Submitter) -> None:
        super().__init__(title, submit)
        self.rules, self.rule = rules, rule

    def name_row(self) -> ComposeResult:
        rule = self.rule
        yield from self.row("Name", PlainInput(rule.name if rule else "", id="name",
                                               compact=True, disabled=rule is not None),
                            "name")

    def affinity_row(self, positive: str, negative: str) -> ComposeResult:
        """The affinity choice, each side with what it does (`positive`, `negative`)."""
        yield from self.row("Affinity", Select(
            [(Text(f"positive: {positive}"), "positive"),
             (Text(f"negative: {negative}"), "negative")],
            value="positive" if self.rule is None or self.rule.positive else "negative",
            allow_blank=False, id="affinity", compact=True), "affinity")

    def resources_row(self) -> ComposeResult:
        yield from self.row("Resources", PlainInput(
            "" if self.rule is None else sids(self.rule.resources, self.rules),
            id="resources", compact=True, placeholder="vm:100, ct:200"), "resources",
            ha_resources_hint(self.rules))

    def typed_name(self) -> str:
        return self.query_one("#name", Input).value.strip()

    def name_errors(self) -> dict[str, str]:
        """Why a new rule's name is refused, as {"name": reason}; {} when editing one
        (its name is fixed) or when the name is free."""
        if self.rule is not None:
            return {}
        taken = ({r.name for r in self.rules.node_affinity}
                 | {r.name for r in self.rules.resource_affinity})
        reason = rule_name(self.typed_name(), taken)
        return {"name": reason} if reason else {}

    def positive(self) -> bool:
        return self.query_one("#affinity", Select).value == "positive"

    def typed_resources(self) -> tuple[list[str], str | None]:
        return parse_resources(self.query_one("#resources", Input).value, self.rules)


class NodeAffinityForm(RuleForm):
    """Create or edit a node-affinity rule (an HA group before PVE 9)."""

    rule: NodeAffinityRule | None

    def __init__(self, rules: HARules, rule: NodeAffinityRule | None,
                 submit: Submitter) -> None:
        super().__init__(f"Node-affinity rule {rule.name}" if rule
                         else "New node-affinity rule", rules, rule, submit)

    def fields(self) -> ComposeResult:
        rule = self.rule
        yield from self.name_row()
        yield from self.affinity_row("run on these nodes", "keep off these nodes")
        nodes = "" if rule is None else ", ".join(
            f"{visible(n)}:{p}" if rule.positive and p else visible(n)
            for n, p in rule.nodes.items())
        known = ", ".join(map(visible, self.rules.nodes))
        yield from self.row("Nodes", PlainInput(nodes, id="nodes", compact=True,
                                           placeholder=known), "nodes",
                            "node:priority, comma-separated; the higher, the more preferred")
        yield from self.row("Strict", FormCheckbox("nowhere else, even if they are all down",
                                                   rule is not None and rule.strict,
                                                   id="strict", compact=True), "strict")
        yield from self.row("No failback", FormCheckbox(
            "stay put when a preferred node returns", rule is not None and rule.nofailback,
            id="nofailback", compact=True), "nofailback")
        yield from self.resources_row()

    def collect(self) -> tuple[Any, dict[str, str]]:
        errors = self.name_errors()
        nodes, reason = parse_nodes(self.query_one("#nodes", Input).value)
        if reason:
            errors["nodes"] = reason
        resources, reason = self.typed_resources()
        if reason:
            errors["resources"] = reason
        if errors:
            return None, errors
        return NodeAffinityRequest(
            self.typed_name(), nodes, self.positive(),
            self.query_one("#strict", FormCheckbox).value,
            self.query_one("#nofailback", FormCheckbox).value, resources), {}


class ResourceAffinityForm(RuleForm):
    """Create or edit a resource-affinity rule: keep resources together, or apart."""

    def __init__(self, rules: HARules, rule: ResourceAffinityRule | None,
                 submit: Submitter) -> None:
        super().__init__(f"Resource-affinity rule {rule.name}" if rule
                         else "New resource-affinity rule", rules, rule, submit)

    def fields(self) -> ComposeResult:
        yield from self.name_row()
        yield from self.affinity_row("keep together on one node",
                                     "keep apart, each on its own node")
        yield from self.resources_row()

    def collect(self) -> tuple[Any, dict[str, str]]:
        errors = self.name_errors()
        resources, reason = self.typed_resources()
        if reason:
            errors["resources"] = reason
        if errors:
            return None, errors
        return ResourceAffinityRequest(self.typed_name(), resources, self.positive()), {}

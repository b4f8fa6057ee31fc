"""Choose which of a guest's addresses to ping (`i`): every address the backend
reported, with its interface and source; those that cannot be probed by ICMP
(loopback, link-local, IPv6) are listed but disabled, saying why. Answers the
address chosen, or None."""

from __future__ import annotations

import ipaddress

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from vmconsole.model import GuestAddress
from vmconsole.text import visible
from vmconsole.ui.modals.dialog import Dialog


def unprobeable_reason(address: GuestAddress) -> str | None:
    """Why ICMP cannot probe this address from the console, or None when it can."""
    try:
        ip = ipaddress.ip_address(address.ip)
    except ValueError:
        return "not an IP address"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if not address.probeable:
        return "not a host address"
    if ip.version == 6:
        return "IPv6: ICMP probes are IPv4 only"
    return None


def address_text(address: GuestAddress) -> Text:
    """"10.0.0.5/24  eth0  guest agent": the address, its interface, its source; the
    interface name is the guest's own text, made visible."""
    prefix = f"/{address.prefix}" if address.prefix is not None else ""
    where = f"  {visible(address.interface)}" if address.interface else ""
    return Text(f"{visible(address.ip)}{prefix}{where}  ({address.source})")


class AddressPicker(Dialog[str | None]):
    DEFAULT_CSS = """
    AddressPicker { align: center middle; }
    AddressPicker > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    AddressPicker OptionList { height: auto; max-height: 16; margin-top: 1; }
    AddressPicker .hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape,q", "dismiss(None)", "Close", id="addresses.close")]

    def __init__(self, guest: str, addresses: tuple[GuestAddress, ...],
                 current: str | None = None) -> None:
        """`guest` as titles name it (`labels.guest_title`: name, id and node)."""
        super().__init__()
        self.guest, self.addresses, self.current = guest, addresses, current

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(f"Ping which address of {visible(self.guest)}?")
            options = []
            for index, address in enumerate(self.addresses):
                why = unprobeable_reason(address)
                label = address_text(address)
                if why:
                    label.append(f"  - {why}", style="dim")
                elif address.ip == self.current:
                    label.append("  - pinged now", style="bold")
                options.append(Option(label, id=str(index), disabled=why is not None))
            yield OptionList(*options)
            yield Static("Enter pings the address; Escape closes.", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        enabled = [i for i, a in enumerate(self.addresses) if unprobeable_reason(a) is None]
        if enabled:
            options.highlighted = enabled[0]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.addresses[int(event.option.id or 0)].ip)

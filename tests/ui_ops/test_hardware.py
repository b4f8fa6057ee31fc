"""`E`, the hardware form, as a user meets it on the simulator: the notes that say when
a change takes effect, the reasons a value is refused before anything is sent, the
question before what cannot be undone, a backend's refusal in its own words, and each
change in the task log and the audit log."""

from __future__ import annotations

from textual.widgets import Input

from tests.ui_ops.helpers import (
    act,
    notes,
    on_guest,
    screen_lines,
    screen_text,
    settle,
    task_rows,
    wait_until,
)
from vmconsole.actor import Role
from vmconsole.backends.hardware import GiB, MiB
from vmconsole.operations import VIEWER_REFUSAL
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.hardware import HardwareForm, parse_disk, parse_memory


async def fill(pilot, form: HardwareForm, **values: str) -> None:
    for ident, text in values.items():
        form.query_one(f"#{ident}", Input).value = text
    await pilot.pause()


async def web1_form(pilot, c, **values: str) -> HardwareForm:
    """web1's hardware form, opened with `E` and filled with `values` (by field id)."""
    await on_guest(pilot, c, "web1")
    await act(pilot, "E")
    form = pilot.app.screen
    assert isinstance(form, HardwareForm)
    await fill(pilot, form, **values)
    return form


async def asked(pilot) -> ConfirmScreen:
    """Enter on the form, then the question it asks (its worker waits for the answer)."""
    await pilot.press("enter")
    for _ in range(400):
        if isinstance(pilot.app.screen, ConfirmScreen):
            return pilot.app.screen
        await pilot.pause(0.01)
    raise AssertionError(f"no question; the screen is {pilot.app.screen}")


def errors(form: HardwareForm) -> dict[str, str]:
    """The reasons shown, by field id, as the user reads them."""
    shown = {}
    for box in form.query(".field-error.shown"):
        shown[box.id.removeprefix("error-")] = str(box.render()).strip()
    return shown


def test_sizes_are_read_in_the_units_people_type():
    assert parse_memory("2048") == parse_memory("2048 MiB") == parse_memory("2 GiB") == 2 * GiB
    assert parse_memory("1.5G") == 1536 * MiB
    assert parse_memory("2 TB") == "a size in MiB or GiB, e.g. 2048 MiB or 2 GiB"
    assert parse_memory("0.0001 GiB") == "a whole number of MiB"
    assert parse_disk("12") == parse_disk("12 GiB") == 12 * GiB
    assert parse_disk("twelve") == "a size in GiB, e.g. 32 or 32 GiB"
    # digits other than 0-9 would be read as another figure than the one shown
    assert parse_memory("\uff12 GiB") == "a size in MiB or GiB, e.g. 2048 MiB or 2 GiB"
    assert parse_disk("\uff11\uff12") == parse_disk("²") == "a size in GiB, e.g. 32 or 32 GiB"


TOO_BIG = "too big: a disk holds less than 8 EiB (8589934592 GiB, QEMU's limit)"


def test_a_huge_size_is_too_big_never_rounded():
    """The tester's finding: 99999999999999999999 GiB was rounded by a float, and the
    storage check then refused a size nobody typed."""
    assert parse_disk("8589934591") == 8589934591 * GiB  # the last whole GiB below 8 EiB
    assert parse_disk("8589934592") == TOO_BIG  # 2**63 bytes: one past an int64_t
    assert parse_disk("99999999999999999999") == TOO_BIG
    assert parse_disk("9" * 5000) == TOO_BIG  # int() refuses 4,300 digits
    assert parse_disk("1.000000000000000001 TiB") == "a whole number of MiB"  # exact
    assert parse_memory("12345678901234 MiB") == 12345678901234 * MiB


async def test_the_form_says_when_a_running_vm_takes_each_change(console):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "E")
        form = c.app.screen
        assert isinstance(form, HardwareForm)
        text = screen_text(c.app)
        assert "Hardware of web1 (qemu/100 on pve1)" in form.query_one("#frame").border_title
        assert "1 to 4 (its node's CPUs); the running guest takes it at its next start: " \
               "the VM's hotplug setting is network,disk,usb" in text
        assert "grows only, cannot be undone" in text


async def test_a_container_takes_cores_and_memory_now(console):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        await on_guest(pilot, c, "dns1")
        await act(pilot, "E")
        assert "1 to 4 (its node's CPUs); takes effect now" in screen_text(c.app)


async def test_bad_values_are_refused_next_to_their_fields_before_anything_is_sent(
        console, audit):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        form = await web1_form(pilot, c, vcpus="9", memory="lots", **{"disk-0": "8"})
        await act(pilot, "enter")
        assert c.app.screen is form
        assert errors(form) == {
            "vcpus": "between 1 and 4 (the CPUs of its node)",
            "memory": "a size in MiB or GiB, e.g. 2048 MiB or 2 GiB",
            "disk-0": "a disk only grows: scsi0 has 10 GiB; shrinking would cut off the "
                      "end of its file system",
        }
        await fill(pilot, form, vcpus="-1", memory="2048 MiB", **{"disk-0": "10 GiB"})
        await act(pilot, "enter")
        assert errors(form) == {"vcpus": "between 1 and 4 (the CPUs of its node)"}
        await fill(pilot, form, vcpus="2", **{"disk-0": "99999999999999999999"})
        await act(pilot, "enter")
        assert errors(form) == {"disk-0": TOO_BIG}
        await fill(pilot, form, vcpus="\uff14", **{"disk-0": "10 GiB"})  # a full-width 4
        await act(pilot, "enter")
        assert errors(form) == {"vcpus": "a whole number is required (digits 0-9)"}
        await fill(pilot, form, vcpus="2", memory="2048 MiB", **{"disk-0": "10 GiB"})
        await act(pilot, "enter")
        assert errors(form) == {"changes": "nothing to apply: change a figure or a link first"}
        assert c.backend.tasks() == [] and list(audit.read()) == []


async def test_each_change_is_its_own_task_and_audit_record(console, audit):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        form = await web1_form(pilot, c, vcpus="4", memory="3 GiB")
        assert "at its next start" in str(form.query_one("#note-memory").render())
        await act(pilot, "enter")
        assert not isinstance(c.app.screen, HardwareForm | ConfirmScreen)
        records = list(audit.read())
        assert [(r.operation, r.parameters, r.result) for r in records] == [
            ("vcpus", {"vcpus": 4}, "started"),
            ("memory", {"memory_bytes": 3 * GiB}, "started")]
        rows = task_rows(c.app)
        assert sorted(r[3] for r in rows[:2]) == ["memory", "vcpus"], rows
        hw = c.backend.hardware("qemu/100")
        assert hw.pending == ("cores: 4", "memory: 3072 MiB")
        logs = [c.backend.task(r.task_id).log[0] for r in records]
        assert "2 → 4 vCPUs, pending until its next start" in logs[0]


async def test_growing_a_disk_asks_first_and_no_changes_nothing(console, audit):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        form = await web1_form(pilot, c, **{"disk-0": "12"})
        await asked(pilot)
        assert "Apply disk scsi0 10 → 12 GiB to web1 (qemu/100 on pve1)?" in screen_text(c.app)
        assert "cannot be undone" in screen_text(c.app)
        await act(pilot, "n")
        assert c.app.screen is form and "nothing applied" in screen_text(c.app)
        assert c.backend.hardware("qemu/100").disk("scsi0").size == 10 * GiB
        await asked(pilot)
        await act(pilot, "y")
        assert not isinstance(c.app.screen, HardwareForm)
        assert c.backend.hardware("qemu/100").disk("scsi0").size == 12 * GiB
        [record] = list(audit.read())
        assert (record.operation, record.parameters) == (
            "resize", {"disk": "scsi0", "size_bytes": 12 * GiB})


async def test_a_refusal_is_shown_in_the_backends_words_and_what_went_through_stays(
        console, audit):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        form = await web1_form(pilot, c, vcpus="3", **{"disk-0": "95"})
        await asked(pilot)
        await act(pilot, "y")
        assert c.app.screen is form
        text = screen_text(c.app)
        assert "done: vCPUs 2 → 3 (at the next start). disk scsi0 10 → 95 GiB: refused" in text
        assert "Insufficient free space" in errors(form)["disk-0"]
        # A second Apply sends only what is left.
        await fill(pilot, form, **{"disk-0": "11"})
        await asked(pilot)
        await act(pilot, "y")
        assert not isinstance(c.app.screen, HardwareForm)
        assert [(r.operation, r.result.split(":")[0]) for r in audit.read()] == [
            ("vcpus", "started"), ("resize", "error"), ("resize", "started")]


async def disk_refused(pilot, c) -> HardwareForm:
    """web1's form with its disk grown to 95 GiB, applied: more than its storage has."""
    form = await web1_form(pilot, c, **{"disk-0": "95"})
    await asked(pilot)
    await act(pilot, "y")
    await wait_until(pilot, lambda: errors(form), 10, "the refusal by its field")
    return form


async def test_a_refusal_is_said_once_by_its_field(console):
    """A tester's finding at 80x24: the backend's words stood under the disk's field and
    again above the buttons, after the change they refused."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await disk_refused(pilot, c)
        assert errors(form)["disk-0"].startswith("storage 'san': Insufficient free space")
        lines = screen_lines(c.app)
        assert sum("Insufficient free space" in line for line in lines) == 1, "\n".join(lines)
        assert any("disk scsi0 10 → 95 GiB: refused" in line for line in lines)
        assert not any("Insufficient" in note for note in notes(c.app))  # nor as a toast


async def test_retyping_the_refused_disk_takes_its_refusal_from_above_the_buttons(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await disk_refused(pilot, c)
        assert any("disk scsi0 10 → 95 GiB: refused" in line for line in screen_lines(c.app))
        form.query_one("#disk-0", Input).focus()
        await act(pilot, "end", "0")  # 950 GiB: a size the form takes, not the one refused
        assert errors(form) == {}
        assert not any("refused" in line for line in screen_lines(c.app))


async def test_retyping_the_refused_disk_to_a_size_the_form_refuses_says_why(console):
    """The backend's words are about the value it was sent: once the user types another
    that the form's own check refuses, the box under the field gives that check's reason
    (it kept "Insufficient free space" for a disk of 9 GiB)."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await disk_refused(pilot, c)
        form.query_one("#disk-0", Input).focus()
        await act(pilot, "9")  # typed over the value focus selected: 9 GiB
        assert form.query_one("#disk-0", Input).value == "9"
        own = form.collect()[1]["disk:scsi0"]  # the form's own check: a disk only grows
        assert errors(form) == {"disk-0": own}
        assert "Insufficient" not in own
        assert not any("refused" in line for line in screen_lines(c.app))


async def test_a_backend_refusal_is_plain_text(console):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "E")
        form = c.app.screen
        c.backend.lock_guest("qemu/100", "[b]backup")
        await fill(pilot, form, vcpus="3")
        await act(pilot, "enter")
        assert "(lock: [b]backup)" in errors(form)["vcpus"]


async def test_a_viewer_is_refused_before_the_form(console, audit):
    c = console(role=Role.VIEWER)
    async with c.app.run_test(size=(100, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "E")
        await settle(pilot)
        assert not isinstance(c.app.screen, HardwareForm)
        assert VIEWER_REFUSAL in notes(c.app)
        [record] = list(audit.read())
        assert (record.operation, record.result) == ("hardware", f"refused: {VIEWER_REFUSAL}")

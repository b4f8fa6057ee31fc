"""What the console refuses before anything reaches the backend, and how it says so."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, Static

from tests.ui_ops.helpers import act, notes, on_guest, select, settle
from vmconsole.actor import Role
from vmconsole.audit import AuditLog
from vmconsole.config import Config, load_config
from vmconsole.operations import VIEWER_REFUSAL
from vmconsole.ui.guest_commands import entries
from vmconsole.ui.modals.clone import CloneForm
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.migrate import MigrateForm

WEB1 = "web1 (qemu/100 on pve1)"  # as the palette names it: name, id and node


async def test_a_template_cannot_be_started(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "debian12-template")
        await act(pilot, "s")
        await settle(pilot)
        assert any("a template cannot be started" in n for n in notes(c.app))
        assert c.backend.tasks() == []
        [record] = list(audit.read())  # every refusal is audited
        assert (record.operation, record.result) == (
            "start", "refused: a template cannot be started: create a guest from it instead")


async def test_a_viewer_is_refused_and_the_refusal_is_audited(console, audit):
    c = console(role=Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        guest_id = await on_guest(pilot, c, "web1")
        await pilot.press("X")  # hard stop: refused before it even asks
        await settle(pilot)
        assert type(c.app.screen) is not ConfirmScreen
        assert VIEWER_REFUSAL in notes(c.app)
        [record] = list(audit.read())
        assert (record.user, record.role, record.target, record.operation) == (
            "alice", "viewer", guest_id, "stop")
        assert record.result.startswith("refused:") and record.task_id is None
        assert c.backend.tasks() == []


async def test_a_confirmation_defaults_to_no(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "X")
        assert isinstance(c.app.screen, ConfirmScreen)
        assert isinstance(c.app.focused, Button) and c.app.focused.id == "no"
        await pilot.press("enter")  # the default answer
        await settle(pilot)
        assert not isinstance(c.app.screen, ConfirmScreen)
        assert c.backend.tasks() == [] and list(audit.read()) == []
        web1 = c.backend.inventory().guest("qemu/100")
        assert web1 is not None and web1.running


async def test_an_invalid_name_is_shown_next_to_its_field(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")
        await act(pilot, "c")
        form = c.app.screen
        assert isinstance(form, CloneForm)
        form.query_one("#name", Input).focus()
        await act(pilot, *"web_1", "enter")
        error = form.query_one("#error-name", Static)
        assert error.has_class("shown") and "letters, digits and hyphens" in str(error.render())
        form.query_one("#name", Input).value = "web1"  # taken by another guest
        form.query_one("#vmid", Input).value = "100"
        await pilot.click("#submit")
        await settle(pilot)
        assert "exists already" in str(form.query_one("#error-name", Static).render())
        assert "id 100 is taken" in str(form.query_one("#error-vmid", Static).render())
        assert c.app.screen is form and c.backend.tasks() == [] and list(audit.read()) == []


async def test_the_palette_offers_what_applies_with_the_reason_for_what_cannot_run(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "debian12-template")
        commands = {e.title.plain: e.help.plain for e in entries(c.app)}
        template = "debian12-template (qemu/9000 on pve1)"
        assert "Create from template: " + template in commands
        assert commands["Start: " + template].startswith("not now: a template cannot")
        assert "Clone: " + template not in commands  # templates: create from them
        await select(pilot, c, "web1")
        commands = {e.title.plain: e.help.plain for e in entries(c.app)}
        assert "Create from template: " + WEB1 not in commands
        assert commands["Convert to template: " + WEB1].startswith("not now: only a stopped")
        assert "Migrate: " + WEB1 in commands and "Remove from HA: " + WEB1 in commands


async def test_the_palette_offers_a_viewer_nothing_that_changes(console):
    c = console(role=Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        commands = {e.title.plain: e.help.plain for e in entries(c.app)}
        assert "Migrate: " + WEB1 not in commands and "Start: " + WEB1 not in commands
        assert not commands["Snapshots: " + WEB1].startswith("not now")  # looking is fine


async def test_an_operation_key_can_be_remapped_by_its_id(console):
    c = console(config=Config(keys={"guest.migrate": "v"}))
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "m")
        assert not isinstance(c.app.screen, MigrateForm)
        await act(pilot, "v")
        assert isinstance(c.app.screen, MigrateForm)


async def test_a_change_the_audit_log_cannot_take_is_not_made_and_said(console, tmp_path):
    (tmp_path / "not-a-dir").write_text("")
    c = console(audit=AuditLog(tmp_path / "not-a-dir" / "audit.jsonl"))
    async with c.app.run_test(size=(80, 24)) as pilot:
        test1 = await on_guest(pilot, c, "test1")
        await act(pilot, "s")
        assert any(n.startswith("not done: the audit log cannot be written: ")
                   for n in notes(c.app)), notes(c.app)
        assert not c.backend.inventory().guest(test1).running
        assert not c.backend.tasks()


async def test_an_unknown_binding_id_is_named_escaped_and_ignored(console, tmp_path):
    config = Config(path=tmp_path / "config.toml",
                    keys={"guest.migrate": "v", "nonexistent.x\x1b]0;X\x07[b]": "T"})
    c = console(config=config)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        [note] = [n for n in notes(c.app) if "no binding" in n]
        assert note == (f"{tmp_path / 'config.toml'}: [keys]: no binding with the id "
                        "'nonexistent.x\\x1b]0;X\\x07[b]' (ignored; `?` lists every id)")
        assert c.app._keymap == {"guest.migrate": "v"}


def help_keys(app) -> dict[str, tuple[str, ...]]:
    """The `?` screen's keys by binding id, as the user sees them listed."""
    app.action_help()
    rows = {row.binding_id: row.names for row in app.screen.rows}
    app.pop_screen()
    return rows


async def test_a_key_another_action_has_is_refused_with_the_file_line_and_key(
        console, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('theme = "vmconsole-dark"\n\n[keys]\n"app.tasks" = "T"  # the README\'s '
                    'old example\n"guest.migrate" = "v"\n')
    c = console(config=load_config(path))
    async with c.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert [n for n in notes(c.app) if "already" in n] == [
            f"{path}, line 4, key 'keys.\"app.tasks\"': T is already guest.template "
            "(Convert to template) on the main screen: not remapped, app.tasks keeps its "
            "own key"]
        listed = help_keys(c.app)
        assert (listed["app.tasks"], listed["guest.template"]) == (("t",), ("T",))
        assert listed["guest.migrate"] == ("v",)  # a remap that clashes with nothing
        await on_guest(pilot, c, "test1")  # stopped: it may become a template
        await act(pilot, "T")
        assert isinstance(c.app.screen, ConfirmScreen)
        assert "irreversible" in c.app.screen.warning


@pytest.mark.parametrize(("keys", "kept", "refused"), [
    # a swap: each key is the other's once both apply
    ({"app.tasks": "T", "guest.template": "t"}, {"app.tasks": "T", "guest.template": "t"},
     []),
    # a key of a pane: pressed in the tree, `j` went down, never to the task log
    ({"app.tasks": "j"}, {}, ["j is already tree.down (Down) in the tree"]),
    # `q`, `?` and Tab reach past another screen: there its keys are theirs too
    ({"app.help": "n"}, {}, ["n is already guest.create (Create from template) on the "
                             "main screen"]),
    ({"app.quit": "delete"}, {}, ["delete is already snapshots.delete (Delete) in the "
                                  "snapshot panel"]),
    # the app's other keys do not: `t` takes a snapshot there and opens the task log here
    ({"snapshots.take": "t"}, {"snapshots.take": "t"}, []),
    # the lists' own vi keys are ids like any other: remapped, and clashing in their panel
    ({"panel.down": "ctrl+n"}, {"panel.down": "ctrl+n"}, []),
    ({"snapshots.take": "j"}, {}, ["j is already panel.down (Down) in the snapshot panel"]),
    # the docs' old example: `M` on a node then opened the migrate form, never maintenance
    ({"guest.migrate": "M"}, {}, ["M is already node.maintenance (Maintenance on or off: "
                                  "the node under the cursor (its guests migrated first)) "
                                  "on the main screen"]),
    # half of a swap refused: its other half then clashes with the key given back
    ({"app.tasks": "T", "guest.template": "t", "guest.start": "T"}, {},
     ["T is already guest.start (Start) on the main screen",
      "T is already app.tasks (Tasks) on the main screen",
      "t is already app.tasks (Tasks) on the main screen"]),
])
async def test_a_remap_is_kept_unless_its_key_answers_to_another_action_there(
        console, keys, kept, refused):
    c = console(config=Config(keys=keys))
    async with c.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        said = [n.split(": ", 1)[1].split(": not remapped")[0] for n in notes(c.app)
                if "already" in n]
        assert sorted(said) == sorted(refused)
        assert c.app._keymap == kept

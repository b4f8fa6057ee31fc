"""What reaches a form's field as it is typed or pasted, as the tester tried it: hidden
characters are left out with a message naming each, and keys typed in the burst that
opens the form land in it, in order (`ui.typeahead`)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from textual import events
from textual.widgets import Input

from tests.ui_ops.helpers import act, notes, on_guest, settle, tree_parent, wait_until
from vmconsole.actor import Role
from vmconsole.ui.modals.clone import CloneForm
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.create_from_template import CreateFromTemplateForm
from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm
from vmconsole.ui.screens.audit import AuditScreen
from vmconsole.ui.widgets.address_box import AddressBox
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

CHARACTERS = {"minus": "-"}  # the keys named by Textual that type a character


def burst(app, *keys: str) -> None:
    """Keys in one write, as a paste or `tmux send-keys` brings them: all queued before
    the first is handled. "alt+j" is ESC and "j" as a terminal reads them together."""
    for key in keys:
        typed = key.removeprefix("alt+")  # ESC and a key in one write: Alt+key
        app.post_message(events.Key(key, typed if len(typed) == 1 else CHARACTERS.get(typed)))

async def trickle(app, keys: list[str], turns: int) -> None:
    """Keys as a terminal brings a burst over a link: each reaches the app `turns` turns
    of its event loop after the one before, while the app is still acting on that one."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else CHARACTERS.get(key)))
        for _ in range(turns):
            await asyncio.sleep(0)


async def type_into(pilot, form, keys: list[str], at_once: bool) -> None:
    """KEYS typed into FORM once its name field has the focus: one at a time, as a slow
    typist would, or in one burst."""
    await wait_until(pilot, lambda: form.query_one("#name", Input).has_focus, 10,
                     "the focus in the name")
    if at_once:
        burst(pilot.app, *keys)
        await settle(pilot)
    else:
        await act(pilot, *keys)


async def clone_form(pilot, c) -> CloneForm:
    """The clone form of test1 (stopped), open."""
    await on_guest(pilot, c, "test1")
    await act(pilot, "c")
    form = c.app.screen
    assert isinstance(form, CloneForm)
    return form


async def test_hidden_characters_never_reach_a_field_and_are_named(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await snapshot_form(pilot, c)
        name = form.query_one("#name", Input)
        # a Hangul filler: printable, drawn as nothing; a typed right-to-left override,
        # which Textual's Input would drop unsaid
        burst(c.app, "a", "\u3164", "\u202e", "b")
        # a pasted right-to-left override, zero-width space, and an OSC 52 clipboard write
        c.app.post_message(events.Paste("c\u202ed\u200be\x1b]52;c;aGk=\x07f"))
        await settle(pilot)
        assert name.value == "abcde]52;c;aGk=f"
        said = "\n".join(notes(c.app))
        assert "Left out \\u3164" in said
        assert "Left out \\u202e:" in said
        assert "Left out \\u202e, \\u200b, \\x1b, \\x07" in said


async def snapshot_form(pilot, c) -> SnapshotCreateForm:
    """web1's snapshot form (`S n`), open, the focus in its name field."""
    await on_guest(pilot, c, "web1")
    await act(pilot, "S", "n")
    form = c.app.screen
    assert isinstance(form, SnapshotCreateForm)
    await wait_until(pilot, lambda: form.query_one("#name", Input).has_focus, 10,
                     "the focus in the name")
    return form


async def test_a_paste_after_a_tab_in_one_burst_goes_to_the_next_field(console):
    """The tester's `abc Tab` and a bracketed paste of `XY`, sent with no pause: the
    paste went into the name with `abc`, the description stayed empty."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await snapshot_form(pilot, c)
        burst(c.app, *"abc", "tab")
        c.app.post_message(events.Paste("XY"))
        burst(c.app, "Z")  # and a key typed after the paste: after it, in the same field
        await settle(pilot)
        assert form.query_one("#name", Input).value == "abc"
        assert form.query_one("#description", Input).value == "XYZ"


async def test_every_character_a_paste_leaves_out_is_named_line_breaks_too(console):
    """A pasted line break ended the paste there, unsaid (Textual's Input keeps the
    first of its `splitlines()`: `\\n`, `\\r`, U+0085, U+2028 and the others). Each
    character left out is named, and the lines are joined."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await snapshot_form(pilot, c)
        name = form.query_one("#name", Input)
        c.app.post_message(events.Paste("P\u202eR\u200bZ\x1b[2J\u0085E\tX\nY"))
        await settle(pilot)
        assert name.value == "PRZ[2JEXY"
        said = "\n".join(notes(c.app))
        assert "Left out \\u202e, \\u200b, \\x1b, \\x85, \\t, \\n:" in said
        assert "the lines are joined" in said
        await act(pilot, "tab")
        c.app._notifications.clear()
        breaks = "\r\n\x0b\x0c\x1c\x1d\x1e\u2028\u2029"
        c.app.post_message(events.Paste("ab" + "".join(f"{b}{i}" for i, b in enumerate(breaks))))
        await settle(pilot)
        assert form.query_one("#description", Input).value == "ab012345678"
        said = "\n".join(notes(c.app))
        assert ("Left out \\r, \\n, \\x0b, \\x0c, \\x1c, \\x1d, \\x1e, \\u2028, "
                "\\u2029:") in said


async def test_keys_typed_with_the_key_that_opens_a_form_land_in_it(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "debian12-template")
        burst(c.app, "n", *"web2", "tab", "backspace", "backspace", "backspace", *"777")
        await wait_until(pilot, lambda: isinstance(c.app.screen, CreateFromTemplateForm),
                         10, "the form")
        await settle(pilot)
        form = c.app.screen
        # "b" went to the name, not to the tree (where it opens the backups)
        assert form.query_one("#name", Input).value == "web2"
        assert form.query_one("#vmid", Input).value == "777"  # 104, less 3 digits, then 777


async def test_a_question_is_never_answered_ahead(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        burst(c.app, "X", "y")  # a hard stop, and a "y" typed before the question
        await wait_until(pilot, lambda: isinstance(c.app.screen, ConfirmScreen), 10,
                         "the question")
        await settle(pilot)
        assert isinstance(c.app.screen, ConfirmScreen)  # still asking
        await act(pilot, "n")
        assert c.backend.tasks() == []  # nothing stopped


async def test_keys_typed_for_a_refused_form_are_dropped(console):
    """`n s` on a guest that is no template: the form is refused, and the `s` typed for
    it must not start the guest (the tester's finding: it did)."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")  # stopped, not a template
        burst(c.app, "n", "s")
        await wait_until(pilot, lambda: any("does not apply" in n for n in notes(c.app)),
                         10, "the refusal")
        await settle(pilot)
        assert not c.app.typeahead.holding
        assert [t for t in c.backend.tasks() if t.operation == "start"] == []
        await act(pilot, "s")  # a key typed afterwards acts as always
        await wait_until(pilot, lambda: any(t.operation == "start" for t in c.backend.tasks()),
                         10, "the start")


def test_keys_kept_for_a_late_screen_act_in_order_once_it_is_overdue():
    from vmconsole.ui.typeahead import HOLD_SECONDS, Typeahead

    now = [0.0]
    typeahead = Typeahead(clock=lambda: now[0])
    typeahead.hold()
    assert typeahead.keeps(events.Key("a", "a")) and typeahead.keeps(events.Paste("bc"))
    assert typeahead.overdue() == []  # the screen may still come
    now[0] = HOLD_SECONDS + 0.1
    assert not typeahead.keeps(events.Key("d", "d"))  # too late to be typeahead
    assert [getattr(e, "key", None) or getattr(e, "text", None)
            for e in typeahead.overdue()] == ["a", "bc"]  # they act first, then "d"
    assert not typeahead.holding


async def test_a_flow_that_opens_no_screen_keeps_no_keys(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")  # stopped
        tree = c.app.query_one("#tree")
        row = tree.cursor_line  # type: ignore[attr-defined]
        burst(c.app, "s", "down")  # start it, and on to the next row at once
        await settle(pilot)
        assert tree.cursor_line == row + 1  # type: ignore[attr-defined]
        assert not c.app.typeahead.holding


def test_a_flow_that_ends_leaves_the_next_flow_s_keys_alone():
    from vmconsole.ui.typeahead import Typeahead

    typeahead = Typeahead()
    first = typeahead.hold()
    typeahead.take()  # its form came and took the keys
    typeahead.hold()  # the next flow, started while the first closes
    typeahead.keeps(events.Key("a", "a"))
    assert typeahead.drop(first) == 0 and typeahead.holding


async def test_a_paste_into_the_filter_the_audit_filter_and_the_address_box_is_cleaned(
        console):
    """The tester's paste (bracketed, as `tmux paste-buffer -p` sends it) into the three
    text boxes outside the forms: each takes it as a field does."""
    c = console()
    pasted = "zz\x1b[31m\u202e\u200bq"

    async def paste_into(box_id: str | type[Input]) -> None:
        box = c.app.screen.query_one(box_id, Input) if isinstance(box_id, str) \
            else c.app.screen.query_one(box_id)
        await wait_until(pilot, lambda: box.has_focus, 10, f"the focus in {box_id}")
        c.app._notifications.clear()
        c.app.post_message(events.Paste(pasted))
        await settle(pilot)
        assert box.value == "zz[31mq"
        drawn = "".join(strip.text for strip in box.render_lines(box.outer_size.region))
        assert "zz[31mq" in drawn  # drawn without the hidden characters
        assert "\u202e" not in drawn and "\u200b" not in drawn
        assert "Left out \\x1b, \\u202e, \\u200b" in "\n".join(notes(c.app))

    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "slash")
        await paste_into("#filter")
        await act(pilot, "escape", "a")
        await wait_until(pilot, lambda: isinstance(c.app.screen, AuditScreen), 10,
                         "the audit screen")
        await act(pilot, "slash")
        await paste_into("#audit-user")
        await act(pilot, "escape", "escape")  # out of the box, then out of the screen
        await wait_until(pilot, lambda: not isinstance(c.app.screen, AuditScreen), 10,
                         "the console")
        await act(pilot, "W")
        await paste_into(AddressBox)


async def test_a_burst_in_the_filter_and_the_address_box_is_applied_in_order(console):
    """The tester's bursts (`tmux send-keys -l`): Backspace deletes what was typed before
    it, not the letters typed behind it, in the boxes outside the forms too."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "slash")
        box = c.app.query_one("#filter", Input)
        await wait_until(pilot, lambda: box.has_focus, 10, "the focus in the filter")
        burst(c.app, *"snapx", "backspace", "backspace", "q")
        await settle(pilot)
        assert box.value == "snaq"
        await act(pilot, "escape")
        await on_guest(pilot, c, "web1")
        await act(pilot, "W")
        address = c.app.query_one(AddressBox)
        await wait_until(pilot, lambda: address.has_focus, 10, "the focus in the address box")
        burst(c.app, *"10.0.0.19", "backspace", "backspace", "5")
        await settle(pilot)
        assert address.value == "10.0.0.5"


async def test_keys_typed_for_a_guest_form_on_a_node_row_are_dropped(console):
    """`n w e b` on a node row: no form opens, and the keys typed for it must not open
    the ping box (`w`) or say "choose a guest" once more (`b`)."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        tree = c.app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef(c.loop.poller.inventory.cluster,
                                       tree_parent(c.app, "web1")))
        await settle(pilot)
        burst(c.app, *"nweb")
        await wait_until(pilot, lambda: any("choose a guest" in n for n in notes(c.app)),
                         10, "the refusal")
        await settle(pilot)
        assert not c.app.typeahead.holding
        assert c.app.focused is tree  # `w` did not take it to the address box
        assert sum("choose a guest" in n for n in notes(c.app)) == 1
        assert not any("w measures" in n for n in notes(c.app))
        await act(pilot, "w")  # a key typed afterwards acts as always: on a node, it says
        await wait_until(pilot, lambda: any("w measures the guest" in n
                                            for n in notes(c.app)), 10, "w's answer")


@pytest.mark.parametrize("turns", [None, 0, 1, 3, 5])
async def test_a_burst_with_a_tab_across_a_select_lands_where_slow_typing_would(
        console, turns):
    """The second tester's finding: in one burst, a Tab onto a drop-down list (the rule
    form's Affinity) lost every key typed after it. The same keys typed one by one
    (`turns` None), in one burst queued at once (0), or each reaching the app `turns`
    turns of its event loop after the one before, must leave the form the same. The
    last is a terminal's burst over a link (the tester's B1): a key taken after the box
    had acted on its Tab went straight to the next field, ahead of those still queued
    at the box, "0" in the resources and the rest lost in one burst in four. The app now
    hands a key on once the one before has taken effect (`ui.key_order`)."""
    from textual.widgets import Select

    from tests.ui_ops.test_ha_rules import open_rules
    from vmconsole.actor import Role
    from vmconsole.ui.modals.ha_rule_forms import ResourceAffinityForm

    keys = [*"r1", "tab", "tab", *"vm:100", "backspace", "shift+tab", "shift+tab", "end",
            *"x", "tab", "down"]
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await open_rules(pilot, c)
        await act(pilot, "r")
        form = c.app.screen
        assert isinstance(form, ResourceAffinityForm)
        if turns:
            await wait_until(pilot, lambda: form.query_one("#name", Input).has_focus, 10,
                             "the focus in the name")
            await trickle(c.app, keys, turns)
            await settle(pilot)
        else:
            await type_into(pilot, form, keys, at_once=turns == 0)
        affinity = form.query_one("#affinity", Select)
        # Down opens the list
        assert (form.query_one("#name", Input).value, form.query_one("#resources", Input).value,
                affinity.value, affinity.expanded) == ("r1x", "vm:10", "positive", True)


async def test_a_burst_from_the_filter_into_a_form_keeps_its_typeahead(console):
    """Keys after a Tab out of the filter box act on the tree as they arrive, and those
    typed after a key that opens a form (clone, which first reads the next free id) are
    the form's, not the console's (`a` would open the audit log)."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")
        await act(pilot, "slash")
        box = c.app.query_one("#filter", Input)
        await wait_until(pilot, lambda: box.has_focus, 10, "the focus in the filter")
        burst(c.app, *"test1", "tab", "c", *"abc")
        await wait_until(pilot, lambda: isinstance(c.app.screen, CloneForm), 10, "the form")
        await settle(pilot)
        assert c.app.screen.query_one("#name", Input).value == "abc"
        assert box.value == "test1"


async def test_keys_typed_with_the_slash_land_in_the_filter_not_on_the_tree(console):
    """`/start` in one burst on a stopped guest (the third tester's finding): the keys
    after `/` were already on their way to the tree's bindings when the filter box took
    the focus, so `s` started the guest and the box stayed empty."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")
        burst(c.app, "slash", *"start")
        await wait_until(pilot, lambda: c.app.query_one_optional("#filter", Input),
                         10, "the filter box")
        box = c.app.query_one("#filter", Input)
        await settle(pilot)
        assert box.value == "start"
        assert box.has_focus
        assert not c.backend.tasks(), "a key typed for the filter acted on the guest"
        # The box exists now: a second `/` in a burst after Esc is kept for it as well.
        await act(pilot, "escape")
        burst(c.app, "slash", *"st")
        await settle(pilot)
        assert box.value == "st"
        assert not c.backend.tasks()


async def test_a_burst_that_opens_a_drop_down_list_picks_in_it_before_enter(console):
    """The fourth tester's finding, in the clone form: `cl2 Tab Tab Space Down Enter
    BTab C-u -5` in one burst cloned cl2 onto pve1 at once and lost the keys after Enter
    (Space opens the list on a later turn of the loop, so Enter reached the form's
    submit first). Typed one by one, Down picks pve2 in the open list, Enter chooses it
    and the form stays open; in one burst too."""
    from textual.widgets import Select

    keys = [*"cl2", "tab", "tab", "space", "down", "enter", "shift+tab", "ctrl+u", "minus", "5"]

    async def typed(at_once: bool) -> tuple[str, str, object, bool, int]:
        c = console()
        async with c.app.run_test(size=(80, 24)) as pilot:
            form = await clone_form(pilot, c)
            await type_into(pilot, form, keys, at_once)
            assert c.app.screen is form, "the form was submitted"
            node = form.query_one("#node", Select)
            return (form.query_one("#name", Input).value,
                    form.query_one("#vmid", Input).value, node.value, node.expanded,
                    len(c.backend.tasks()))

    slowly = await typed(at_once=False)
    assert slowly == ("cl2", "-5", "pve2", False, 0)
    assert await typed(at_once=True) == slowly


async def test_a_burst_with_the_key_that_opens_a_form_picks_in_its_drop_down_list(console):
    """`n t1 Tab Tab Space Down Enter` on a template in one burst: the new guest is not
    created on pve1 at once; the list picks pve2 and the form stays open."""
    from textual.widgets import Select

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "debian12-template")
        burst(c.app, "n", *"t1", "tab", "tab", "space", "down", "enter")
        await wait_until(pilot, lambda: isinstance(c.app.screen, CreateFromTemplateForm),
                         10, "the form")
        await settle(pilot)
        form = c.app.screen
        assert isinstance(form, CreateFromTemplateForm), "the form was submitted"
        node = form.query_one("#node", Select)
        assert (form.query_one("#name", Input).value, node.value, node.expanded) == (
            "t1", "pve2", False)
        assert not c.backend.tasks()


async def test_keys_typed_with_a_panel_s_key_that_opens_a_form_land_in_it(console):
    """`S` then `n snapc Tab desc` in one burst on web1 (the fourth tester's finding):
    the snapshot form opened empty and `c` acted as the panel's clone key. The keys go
    to the form, as from the main screen."""
    from vmconsole.ui.modals.snapshots import SnapshotPanel

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        burst(c.app, "S", "n", *"snapc", "tab", *"desc")
        await wait_until(pilot, lambda: isinstance(c.app.screen, SnapshotCreateForm), 10,
                         "the form")
        await settle(pilot)
        form = c.app.screen
        assert isinstance(form, SnapshotCreateForm)
        assert form.query_one("#name", Input).value == "snapc"
        assert form.query_one("#description", Input).value == "desc"
        assert not c.app.typeahead.holding
        await act(pilot, "escape")
        assert isinstance(c.app.screen, SnapshotPanel)


async def test_keys_typed_with_the_backup_panel_s_take_key_land_in_its_form(console):
    """`b n` and the keys onto the form's Back up button in one burst: the backup form
    first reads the guest's backup options, and the keys typed meanwhile are its, not
    the panel's; the backup is taken, as when typed one by one."""
    from vmconsole.ui.modals.backups import BackupPanel

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "build1")
        burst(c.app, "b", "n", "tab", "tab", "tab", "tab", "enter")
        await wait_until(pilot, lambda: [t.operation for t in c.backend.tasks()] == ["backup"],
                         10, "the backup")
        await settle(pilot)
        assert isinstance(c.app.screen, BackupPanel)
        assert not c.app.typeahead.holding


async def test_keys_typed_for_a_panel_s_refused_form_are_dropped(console, audit):
    """A viewer's `S n c` in one burst: the snapshot form is refused, and the `c` typed
    for it must not act as the panel's clone key."""
    from vmconsole.actor import Role
    from vmconsole.ui.modals.snapshots import SnapshotPanel

    c = console(Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        burst(c.app, "S", "n", "c")
        await wait_until(pilot, lambda: any(r.operation == "snapshot"
                                            for r in audit.read()), 10, "the refusal")
        await settle(pilot)
        assert isinstance(c.app.screen, SnapshotPanel)
        assert not c.app.typeahead.holding
        assert not any("choose a snapshot" in n for n in notes(c.app))
        await act(pilot, "c")  # a key typed afterwards acts as always
        assert any("choose a snapshot" in n for n in notes(c.app))


async def test_keys_typed_with_the_key_that_opens_a_rule_form_land_in_it(console):
    """`r keep-x` in one burst on the HA rules screen: the new rule's name gets what was
    typed with `r`, not the screen's own keys (`e` edits a rule, `x` deletes one)."""
    from tests.ui_ops.test_ha_rules import open_rules
    from vmconsole.actor import Role
    from vmconsole.ui.modals.ha_rule_forms import ResourceAffinityForm

    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await open_rules(pilot, c)
        burst(c.app, "r", *"keep-x")
        await wait_until(pilot, lambda: isinstance(c.app.screen, ResourceAffinityForm), 10,
                         "the rule form")
        await settle(pilot)
        assert c.app.screen.query_one("#name", Input).value == "keep-x"


async def test_keys_typed_with_w_land_in_the_address_box_and_those_after_esc_leave_it(
        console):
    """`W db1 Esc j` in one burst (the last note's leftover, and the same in tmux at
    80x24): "db1" is the address, not `d` opening the shutdown form behind the box with
    "b1" in it; Esc leaves the box, and the `j` after it moves the tree's cursor instead
    of being typed into the box."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        tree = c.app.query_one(ClusterTree)
        burst(c.app, "W", *"db1", "escape", "j")
        await wait_until(pilot, lambda: c.app.focused is tree, 10, "the focus back in the tree")
        await settle(pilot)
        assert c.app.screen is c.app.screen_stack[0]  # no form opened
        assert c.app.query_one(AddressBox).value == "db1"
        assert c.app.selected is not None and c.app.selected.object_id == "qemu/103"  # test1
        # Enter leaves the box too (an empty address: nothing is probed).
        c.app.query_one(AddressBox).value = ""
        burst(c.app, "W", "enter", "j")
        await wait_until(pilot, lambda: c.app.focused is tree, 10, "the focus back again")
        await settle(pilot)
        assert c.app.selected.object_id == "qemu/9000", "j did not reach the tree"
        assert c.app.query_one(AddressBox).value == ""


async def test_esc_and_a_key_that_a_terminal_sends_as_alt_key_leave_the_box_first(console):
    """`tmux send-keys W db1 Escape j` sends ESC and "j" together, which the terminal's
    parser reads as Alt+j: in the box, "j" was typed after the address. The console
    binds no Alt+key; in a text box it is the Escape and the key it reads as."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        tree = c.app.query_one(ClusterTree)
        burst(c.app, "W", *"db1")
        c.app.post_message(events.Key("alt+j", "j"))
        await wait_until(pilot, lambda: c.app.focused is tree, 10, "the focus back in the tree")
        await settle(pilot)
        assert c.app.query_one(AddressBox).value == "db1"
        assert c.app.selected is not None and c.app.selected.object_id == "qemu/103"  # test1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN])
async def test_keys_typed_with_a_refused_menu_or_form_key_do_not_act_behind(console, role):
    """A viewer's `f` on a node (the fault menu), `F` on a VM (its fault tolerance) and
    `M` on a node (maintenance) are refused: the keys typed in the same burst were for
    the menu or form, and moved the tree's cursor instead. An admin's `F` and `M` read
    the cluster before their form or question: the keys typed meanwhile moved it too."""
    c = console(role)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        tree = c.app.query_one(ClusterTree)
        for row, key in (("node/pve1", "f"), ("qemu/100", "F"), ("node/pve1", "M")):
            assert tree.select_ref(TreeRef("lab", row))
            tree.focus()
            await settle(pilot)
            burst(c.app, key, "j", "j")
            if role is Role.VIEWER:
                await wait_until(pilot, lambda: any("needs the admin role" in n
                                                    for n in notes(c.app)), 10,
                                 f"{key}'s refusal")
            else:
                await wait_until(pilot, lambda: len(c.app.screen_stack) > 1, 10,
                                 f"{key}'s screen")
            await settle(pilot)
            await pilot.pause(0.2)  # an observation window: the j's may not reach the tree
            await settle(pilot)
            assert c.app.selected is not None and c.app.selected.object_id == row, key
            while len(c.app.screen_stack) > 1:
                c.app.screen.dismiss(None)
                await settle(pilot)
            c.app._notifications.clear()


@pytest.mark.parametrize(("keys", "left"), [(["1", "enter"], "1"), (["x", "escape"], "")])
async def test_keys_typed_after_enter_or_esc_in_the_filter_reach_the_tree(console, keys, left):
    """`/1 Enter j` and `/x Esc j` in one burst: Enter (or Esc) gives the focus back to
    the tree, and the `j` after it moves the tree's cursor; it was typed into the box."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        tree = c.app.query_one(ClusterTree)
        before = c.app.selected
        burst(c.app, "slash", *keys, "j")
        await wait_until(pilot, lambda: c.app.focused is tree, 10, "the tree again")
        await settle(pilot)
        box = c.app.query_one("#filter", Input)
        assert box.value == left and box.has_class("visible") is bool(left)
        assert c.app.selected is not None and c.app.selected != before, "j did not move"


async def test_esc_and_a_key_in_one_burst_on_the_main_screen_are_esc_then_the_key(console):
    """`tmux send-keys Escape j` in the tree: the terminal reads ESC and "j" together as
    Alt+j, which did nothing. It is Esc (nothing to close here), then j: the cursor
    down, as when the two keys come apart."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        burst(c.app, "alt+j", "alt+j")
        await wait_until(pilot, lambda: c.app.selected is not None
                         and c.app.selected.object_id == "qemu/9000", 10, "two rows down")
        await settle(pilot)
        assert c.app.focused is c.app.query_one(ClusterTree)
        assert c.app.screen is c.app.screen_stack[0]


@pytest.mark.parametrize("keys", [("escape", "j"), ("alt+j",)])
async def test_a_key_typed_after_the_esc_that_cancels_a_form_reaches_the_tree(console, keys):
    """`c`, then Esc and j in one burst: the form closes and j moves the tree's cursor, as
    when typed after the form closed; it was typed into the closing form's name."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await clone_form(pilot, c)
        name = form.query_one("#name", Input)
        await type_into(pilot, form, [*"ab", *keys], at_once=True)
        assert c.app.screen is c.app.screen_stack[0], "the form is open"
        assert name.value == "ab"
        assert c.app.selected is not None and c.app.selected.object_id == "qemu/9000"
        assert not c.backend.tasks()


async def test_keys_typed_with_a_key_that_opens_a_screen_reach_it(console, audit):
    """`a/alice` and `R r keep` in one burst: the keys behind `a` (the audit log) and `R`
    (the HA rules) reached the new screen's bindings only, from the tree: `/` focused the
    audit filter and "alice" was lost; `r` opened the rule form empty. They reach the
    screen as if typed once it was open."""
    from vmconsole.audit import AuditRecord
    from vmconsole.ui.modals.ha_rule_forms import ResourceAffinityForm

    for user in ("alice", "bob"):
        audit.append(AuditRecord(user=user, role="operator", source="local", cluster="lab",
                                 target="qemu/100", operation="start", result="ok"))
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        burst(c.app, "a", "slash", *"alice")
        await wait_until(pilot, lambda: isinstance(c.app.screen, AuditScreen), 10,
                         "the audit log")
        await settle(pilot)
        box = c.app.screen.query_one("#audit-user", Input)
        assert box.value == "alice" and box.has_focus
        await act(pilot, "escape", "escape")
        await on_guest(pilot, c, "web1")
        burst(c.app, "R", "r", *"keep")
        await wait_until(pilot, lambda: isinstance(c.app.screen, ResourceAffinityForm), 10,
                         "the rule form")
        await settle(pilot)
        assert c.app.screen.query_one("#name", Input).value == "keep"


async def test_keys_typed_behind_the_enter_that_submits_a_form_act_once_it_has_closed(
        console):
    """`n web2 Enter j j j` on a template in one burst (the tester's finding): the guest
    was created but the `j`s went to the form, still open while its submission waited
    for the backend, and were lost with it. They move the cursor as typed one by one."""
    keys = ["n", *"web2", "enter", "j", "j", "j"]
    seen = []
    for at_once in (False, True):
        c = console()
        answer, calls = threading.Event(), []
        real = c.backend.clone

        def slow_clone(*args, real=real, answer=answer, calls=calls, **kwargs):
            calls.append("clone")
            answer.wait(10)  # a cluster that takes its time to answer
            return real(*args, **kwargs)

        c.backend.clone = slow_clone
        async with c.app.run_test(size=(80, 24)) as pilot:
            await on_guest(pilot, c, "debian12-template")
            tree = c.app.query_one(ClusterTree)
            start = tree.cursor_line
            if at_once:
                burst(c.app, *keys)  # every key queued before the backend is asked
                await wait_until(pilot, lambda calls=calls: calls, 10, "the backend asked")
                answer.set()
                await settle(pilot)
            else:
                answer.set()
                await act(pilot, *keys)
            assert c.app.screen is c.app.screen_stack[0], "the form is still open"
            seen.append((tree.cursor_line - start, calls))
    assert seen[0] == (3, ["clone"])
    assert seen[1] == seen[0]


async def test_esc_behind_the_enter_that_submits_a_form_closes_it_at_once(console):
    """`Enter Esc` in one burst while the backend takes its time: Esc does not wait for
    the answer (keys behind an Enter do): the form closes, the change goes on and what
    came of it is told when it comes."""
    c = console()
    answer, calls = threading.Event(), []
    real = c.backend.clone

    def slow_clone(*args, **kwargs):
        calls.append("clone")
        answer.wait(10)
        return real(*args, **kwargs)

    c.backend.clone = slow_clone
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "debian12-template")
        burst(c.app, "n", *"web2", "enter", "escape")
        await wait_until(pilot, lambda: calls, 10, "the backend asked")
        await wait_until(pilot, lambda: c.app.screen is c.app.screen_stack[0], 5,
                         "the form closed while the backend works")
        answer.set()
        await wait_until(pilot, lambda: c.backend.tasks(), 10, "the guest created")

"""Event kinds: one closed set, read from outside by parse, coloured by member."""

from vmconsole.backends.event_kinds import EventKind, Tone
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.widgets.teaching_panel import event_style


def test_a_word_from_another_process_is_parsed_never_trusted():
    assert EventKind.parse("fenced") is EventKind.FENCED
    assert EventKind.parse("\x1b]0;owned\x07") is EventKind.OTHER


def test_tones_follow_the_member_not_a_substring():
    # By substring, "partition_healed" read as a fault and "migration_started" as a
    # recovery, and "watchdog_armed" as a fault.
    assert EventKind.PARTITION_HEALED.tone is Tone.RECOVERY
    assert EventKind.MIGRATION_STARTED.tone is Tone.NARRATION
    assert EventKind.WATCHDOG_ARMED.tone is Tone.NARRATION
    assert EventKind.FENCED.tone is Tone.FAULT
    assert EventKind.RECOVERED.tone is Tone.RECOVERY


def test_the_timeline_colours_by_tone():
    styles = LabelStyles.from_variables({})
    assert len({styles.bad, styles.ok, styles.accent}) == 3
    assert event_style(EventKind.NODE_LOST, styles) == styles.bad
    assert event_style(EventKind.RECOVERED, styles) == styles.ok
    assert event_style(EventKind.HA_REQUEST, styles) == styles.accent

"""A remote backend's timeline keeps its standing warnings however long it runs."""

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.journal import KEEP_EVENTS, EventJournal


def test_the_tls_warning_outlives_the_kept_events():
    journal = EventJournal()
    journal.warn_insecure_tls("lab\x1b[2J", "the API's")
    assert [e.kind for e in journal.since(0)] == [EventKind.INSECURE_TLS]
    for n in range(KEEP_EVENTS + 1):
        journal.add(EventKind.NODE_LOST, f"pve{n} lost")
    assert all(e.kind is EventKind.NODE_LOST for e in journal.since(0))
    assert journal.warnings == [
        "lab\\x1b[2J: TLS verification is OFF (verify_ssl = false): the API's identity is "
        "not checked. Set ca_file or fingerprint."]

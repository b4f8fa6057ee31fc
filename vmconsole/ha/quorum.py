"""votequorum's rule, shared by the simulator's membership (`backends/sim/membership.py`)
and the HA manager for libvirt (`vmconsole.ha.manager`).

Apart from the placement rules (`rules`): every simulated cluster counts its quorum
from its first poll, while the placement rules, and the scoring they import, wait for
the CRM's first round (issue 12).
"""


def quorate(votes: int, expected: int) -> bool:
    """votequorum: a membership is quorate with a strict majority of the expected votes
    (each node one vote, plus a quorum device's when there is one)."""
    return votes * 2 > expected

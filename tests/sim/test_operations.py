

def test_a_refused_second_operation_leaves_no_task_behind():
    from vmconsole.backends.base import Conflict
    from vmconsole.backends.sim.backend import SimBackend
    from vmconsole.backends.sim.clock import ManualClock
    from vmconsole.config import SimCluster

    backend = SimBackend(SimCluster(), clock=ManualClock())
    backend.start("qemu/103")
    before = len(backend.tasks())
    try:
        backend.start("qemu/103")
    except Conflict as exc:
        assert "busy" in exc.message
    else:
        raise AssertionError("a second start of a starting guest was accepted")
    assert len(backend.tasks()) == before

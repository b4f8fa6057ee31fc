"""What a `ClusterEvent` says happened, as one closed set: every backend, the simulator
and the HA manager's status file name their moments from it, and the views (the ping
chart's marks, the teaching timeline's colours) decide by member, never by substring.

The values are the words the event log has always used, so a status file or an audit
line written before this enum reads the same.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Tone(Enum):
    """How a student should read an event: something broke, something came back, or
    the cluster narrating what it does."""

    FAULT = "fault"
    RECOVERY = "recovery"
    NARRATION = "narration"


class EventKind(StrEnum):
    # A live migration's phases (QEMU's pre-copy rounds, the stop-and-copy switch-over;
    # libvirt reports the source's and the destination's side).
    MIGRATION_STARTED = "migration_started"
    PRECOPY_ROUND = "precopy_round"
    STOP_AND_COPY = "stop_and_copy"
    MIGRATION_DONE = "migration_done"
    MIGRATION_FAILED = "migration_failed"
    MIGRATED = "migrated"  # an offline or restart migration
    MIGRATION_INCOMING = "migration_incoming"
    MIGRATION_RESUMED = "migration_resumed"
    MIGRATED_AWAY = "migrated_away"
    RELOCATE = "relocate"  # Proxmox HA: stop, move, start

    # A guest's life (libvirt's lifecycle events, the simulator's boot).
    STARTED = "started"
    BOOTED = "booted"
    RESTART = "restart"
    CONTAINER_STOPPED = "container_stopped"
    GUEST_DEFINED = "guest_defined"
    GUEST_UNDEFINED = "guest_undefined"
    GUEST_STARTED = "guest_started"
    GUEST_PAUSED = "guest_paused"
    GUEST_RESUMED = "guest_resumed"
    GUEST_STOPPED = "guest_stopped"
    GUEST_SHUTDOWN = "guest_shutdown"
    GUEST_PMSUSPENDED = "guest_pmsuspended"
    GUEST_CRASHED = "guest_crashed"
    GUEST_EVENT = "guest_event"  # a lifecycle event libvirt added after this list

    # Nodes and the faults injected into them.
    NODE_LOST = "node_lost"
    NODE_ONLINE = "node_online"
    NODE_CONNECTING = "node_connecting"
    NODE_FAULT = "node_fault"
    NODE_ERROR = "node_error"
    NODE_BOOTING = "node_booting"
    NODE_BOOTED = "node_booted"
    NODE_RESTORED = "node_restored"
    NODE_SHUTDOWN = "node_shutdown"
    NODE_REBOOT = "node_reboot"
    POWER_OFF = "power_off"
    NETWORK_CUT = "network_cut"
    STORAGE_LOST = "storage_lost"
    PARTITION = "partition"
    PARTITION_HEALED = "partition_healed"
    SPLIT = "split"
    RESTORED = "restored"
    CFS = "cfs"  # the cluster file system (pmxcfs) failing or back

    # Quorum (corosync votequorum).
    QUORUM = "quorum"
    QUORUM_LOST = "quorum_lost"
    QUORUM_REGAINED = "quorum_regained"
    NO_QUORUM = "no_quorum"

    # High availability: pve-ha-manager's CRM and LRM, and our libvirt manager.
    HA_REQUEST = "ha_request"
    HA_MOVE = "ha_move"
    HA_MOVE_REFUSED = "ha_move_refused"
    HA_RESTART = "ha_restart"
    HA_ARMED = "ha_armed"
    HA_DISARMED = "ha_disarmed"
    HA_NODE_LOST = "ha_node_lost"  # the manager's view, next to the backend's NODE_LOST
    HA_NODE_ONLINE = "ha_node_online"
    FENCE = "fence"
    FENCE_PENDING = "fence_pending"
    FENCED = "fenced"
    FENCE_FAILED = "fence_failed"
    RECOVERY = "recovery"
    RECOVERED = "recovered"
    SERVICE_ERROR = "service_error"
    SERVICE_ADDED = "service_added"
    SERVICE_REMOVED = "service_removed"
    STALE_REMOVED = "stale_removed"
    WAITING = "waiting"
    ERROR = "error"
    WATCHDOG_ARMED = "watchdog_armed"
    WATCHDOG_DISARMED = "watchdog_disarmed"
    WATCHDOG_RESET = "watchdog_reset"
    NO_WATCHDOG = "no_watchdog"
    LRM_RESTART = "lrm_restart"
    CRM_MASTER = "crm_master"
    CRM_MASTER_LOST = "crm_master_lost"
    CRM_START = "crm_start"
    CRM_STOP = "crm_stop"
    SKIPPED_ROUND = "skipped_round"
    LOCK_REMOVED = "lock_removed"
    MAINTENANCE = "maintenance"
    MAINTENANCE_REQUEST = "maintenance_request"
    MAINTENANCE_END = "maintenance_end"
    NOT_PERMITTED = "not_permitted"

    # Fault tolerance (VMware FT; Remus).
    FT_ON = "ft_on"
    FT_OFF = "ft_off"
    FT_TAKEOVER = "ft_takeover"
    FT_UNPROTECTED = "ft_unprotected"

    # Teaching and the backends' own notes.
    SCENARIO = "scenario"
    SCENARIO_STEP = "scenario_step"
    INSECURE_TLS = "insecure_tls"
    OTHER = "other"  # a word from outside (a newer HA manager's status file)
    # A served console drawn in advance: the server no longer had some events it missed.
    EVENTS_NOT_KEPT = "events_not_kept"

    @classmethod
    def parse(cls, word: str) -> EventKind:
        """The member for a word read from outside the process; OTHER for one this
        version does not know (the event is still shown, with its message)."""
        try:
            return cls(word)
        except ValueError:
            return cls.OTHER

    @property
    def tone(self) -> Tone:
        """How the teaching timeline colours it."""
        if self in _FAULTS:
            return Tone.FAULT
        if self in _RECOVERIES:
            return Tone.RECOVERY
        return Tone.NARRATION

    @property
    def words(self) -> str:
        """The kind as a mark on a chart: "node lost"."""
        return self.value.replace("_", " ")


_FAULTS = frozenset({
    EventKind.MIGRATION_FAILED, EventKind.GUEST_CRASHED, EventKind.NODE_LOST,
    EventKind.HA_NODE_LOST, EventKind.NODE_FAULT, EventKind.NODE_ERROR, EventKind.POWER_OFF,
    EventKind.NETWORK_CUT, EventKind.STORAGE_LOST, EventKind.PARTITION, EventKind.SPLIT,
    EventKind.QUORUM_LOST, EventKind.NO_QUORUM, EventKind.FENCE, EventKind.FENCE_PENDING,
    EventKind.FENCED, EventKind.FENCE_FAILED, EventKind.SERVICE_ERROR, EventKind.ERROR,
    EventKind.WATCHDOG_RESET, EventKind.NO_WATCHDOG, EventKind.CRM_MASTER_LOST,
    EventKind.FT_UNPROTECTED,
})
_RECOVERIES = frozenset({
    EventKind.MIGRATION_DONE, EventKind.MIGRATION_RESUMED, EventKind.STARTED,
    EventKind.BOOTED, EventKind.GUEST_STARTED, EventKind.NODE_ONLINE,
    EventKind.HA_NODE_ONLINE, EventKind.NODE_BOOTED, EventKind.NODE_RESTORED,
    EventKind.RESTORED, EventKind.PARTITION_HEALED, EventKind.QUORUM_REGAINED,
    EventKind.RECOVERED, EventKind.FT_TAKEOVER,
})

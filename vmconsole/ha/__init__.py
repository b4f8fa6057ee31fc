"""The HA manager for libvirt clusters (`vmconsole ha run`): pve-ha-manager's rules
(`rules` and `quorum`, shared with the simulator), nodes and quorum, fencing, recovery, and the
status file the console and `vmconsole ha status` read. Never imports Textual."""

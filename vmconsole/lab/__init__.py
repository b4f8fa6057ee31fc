"""`vmconsole lab`: a real libvirt cluster on one Linux machine, built from network
namespaces, one libvirtd per node and tiny TCG guests. See docs/lab.md."""

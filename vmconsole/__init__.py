"""vmconsole: a terminal console for virtualization clusters."""

__version__ = "0.1.0"

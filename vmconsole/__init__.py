"""vmconsole: a terminal console for virtualization clusters."""

import os

# Textual draws at most TEXTUAL_FPS frames a second (textual.constants, read once, when
# Textual is first imported: every part of the console imports it after this package).
# At its 60, a key that came within two frames of the frame before it (the clock's, a
# poll's figures') waited up to 33 ms for its own: after a pause, Textual's update timer
# waits for its next tick but one. At 10,000 guests those keys were the slowest twentieth
# (issue 12). A user's own setting stands.
os.environ.setdefault("TEXTUAL_FPS", "120")

__version__ = "0.1.0"

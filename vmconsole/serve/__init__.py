"""`vmconsole serve`: the console over SSH (asyncssh), one VMConsoleApp per session on
one event loop, fed by poll loops shared by all of them. `server` listens and
authenticates, `console` runs one session, `driver` is the Textual driver over the
channel, `keys` the host key and the authorized keys with their roles, `limits` what
a server allows, `run` the command's lifetime. docs/serve.md is the user's guide."""

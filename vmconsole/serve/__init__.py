"""`vmconsole serve`: the console over SSH (asyncssh), one console process per session,
fed by one poll hub per cluster in the server. `server` listens, admits (`gate`) and
authenticates (`keys`); `console` is a session's server side (its limits, `input`, and
the bridge to its process); `spawn` forks session processes from a warmed fork server
(`prewarm`); `worker` is a session process's main, `driver` its Textual driver,
`remote` its clusters as the hubs serve them; `hub` shares a poll loop and its backend;
`wire` is the pipe's frames; `limits` what a server allows; `run` the command's
lifetime. docs/serve.md is the user's guide."""

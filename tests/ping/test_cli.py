"""`vmconsole ping` end to end, in a subprocess, against 127.0.0.1."""

import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def vmconsole(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vmconsole", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


def test_icmp_count_prints_a_summary(icmp_allowed: None):
    result = vmconsole("ping", "127.0.0.1", "--count", "30")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "--- 127.0.0.1 (icmp) ping statistics ---" in out
    assert "30 sent, 30 received, 0.0% loss" in out
    assert re.search(r"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", out)
    assert "outages: none" in out


def test_tcp_to_a_closed_port_reports_the_outage(tcp_server):
    port = tcp_server.port
    tcp_server.close()
    result = vmconsole("ping", "127.0.0.1", "--tcp", str(port), "-c", "10")
    assert result.returncode == 0, result.stderr
    assert "10 sent, 0 received, 100.0% loss" in result.stdout
    assert re.search(r"outage: down since pinging began: no reply in \d+ ms, 10 probes lost, "
                     r"[\d:.]+ -> still down", result.stdout)
    assert "outages: 1 (the first began before pinging did), downtime " in result.stdout
    assert result.stdout.isascii()  # the CLI's own words, in any locale


def test_a_target_that_never_answered_is_not_said_to_have_had_no_outage(tcp_server):
    """A tester's finding: with fewer probes than --min-lost, all of them lost, the
    summary said "outages: none"."""
    port = tcp_server.port
    tcp_server.close()
    result = vmconsole("ping", "127.0.0.1", "--tcp", str(port), "--count", "5",
                       "--min-lost", "10", "--interval", "0.05")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-2] == "rtt: no replies"
    assert re.fullmatch(r"outages: never answered \(down since pinging began: no reply in "
                        r"\d+ ms, 5 probes lost\)", lines[-1])


def test_tcp_with_a_listener(tcp_server):
    result = vmconsole("ping", "127.0.0.1", "--tcp", str(tcp_server.port),
                       "--duration", "0.3", "--interval", "0.05")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\b[67] sent, [67] received, 0.0% loss", result.stdout)


def test_bad_address_exits_2_with_one_line():
    result = vmconsole("ping", "300.1.2.3", "-c", "1")
    assert result.returncode == 2
    assert result.stderr == "vmconsole ping: '300.1.2.3' is not an IP address or a host name\n"
    assert result.stdout == ""


def test_bad_interval_exits_2():
    result = vmconsole("ping", "127.0.0.1", "--interval", "0.001", "-c", "1")
    assert result.returncode == 2
    assert "interval must be between 0.01 and 60.0 s" in result.stderr


def test_a_time_that_is_not_a_number_exits_2():
    """A tester's finding: `--duration nan` ran forever (`-1` and `0` were refused)."""
    for option, value in (("--duration", "nan"), ("-w", "inf"),
                          ("--interval", "nan"), ("--interval", "inf"),
                          ("--timeout", "nan"), ("--timeout", "inf")):
        result = vmconsole("ping", "127.0.0.1", "--tcp", "9", option, value)
        assert result.returncode == 2, (option, value)
        assert result.stderr.startswith("vmconsole ping: "), (option, value, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stdout == "", (option, value)


def test_missing_namespace_exits_2():
    result = vmconsole("ping", "127.0.0.1", "--netns", "vmc-no-such-ns", "-c", "1")
    assert result.returncode == 2
    assert "no network namespace 'vmc-no-such-ns'" in result.stderr


def _sigint_as_from_a_terminal() -> None:
    # A job a shell started in the background without job control (`cmd &` in a
    # script, as CI may run the suite) inherits SIGINT ignored, and Python then keeps it
    # ignored: Ctrl+C reaches a console's foreground process with its default action.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_with_the_summary(tcp_server):
    proc = subprocess.Popen([sys.executable, "-m", "vmconsole", "ping", "127.0.0.1",
                             "--tcp", str(tcp_server.port), "--duration", "20"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_sigint_as_from_a_terminal)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("PING 127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "ping statistics ---" in out and "0.0% loss" in out


def test_an_address_with_terminal_escapes_is_echoed_escaped():
    hostile = "\x1b]0;owned\x07web\u202e"
    result = vmconsole("ping", hostile, "--count", "1")
    assert result.returncode == 2
    assert "\\x1b]0;owned\\x07web\\u202e" in result.stderr
    assert not any(c in result.stderr for c in ("\x1b", "\x07", "\u202e"))


def test_an_address_with_a_newline_or_of_5000_characters_is_one_short_line():
    for hostile in ("a\nb", "x" * 5000):
        result = vmconsole("ping", hostile, "--count", "1")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and len(result.stderr) < 400, result.stderr

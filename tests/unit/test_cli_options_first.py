"""The console's options before the command work as after it: `vmconsole --config F
demo` is `vmconsole demo --config F` (a tester got "unrecognized arguments: demo")."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmconsole.cli import main


def refusal(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What `vmconsole ARGS` said on stderr, having exited 2 (argparse's refusal, or a
    config file's)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    assert exited.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("config", [["--config", "{}"], ["--config={}"]])
def test_a_config_before_demo_is_the_one_read(tmp_path: Path, config: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.toml"
    args = [word.format(missing) for word in config]
    assert refusal(capsys, *args, "demo", "--speed", "2") == (
        f"vmconsole: {missing}: file not found\n")


def test_an_option_after_the_command_wins_over_the_same_before(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    assert refusal(capsys, "--config", str(first), "demo", "--config", str(second)) == (
        f"vmconsole: {second}: file not found\n")


def test_a_config_before_ha_reaches_its_action(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.toml"
    assert main(["--config", str(missing), "--profile", "lab", "ha", "status"]) == 2
    assert capsys.readouterr().err == f"vmconsole ha: {missing}: file not found\n"


@pytest.mark.parametrize("options", [["--config", "{}", "--profile", "lab"],
                                     ["--config={}", "--profile=lab"]])
def test_options_between_ha_and_its_action_reach_the_action(
        tmp_path: Path, options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A tester's finding: `vmconsole ha --profile p status` said "argument ACTION:
    invalid choice: 'p'"."""
    missing = tmp_path / "absent.toml"
    args = [word.format(missing) for word in options]
    assert main(["ha", *args, "status"]) == 2
    assert capsys.readouterr().err == f"vmconsole ha: {missing}: file not found\n"


def test_a_mistyped_command_after_options_is_named_with_the_commands(
        capsys: pytest.CaptureFixture[str]) -> None:
    said = refusal(capsys, "--config", "x.toml", "dmeo")
    assert "invalid choice: 'dmeo' (choose from 'audit', 'console', 'demo'" in said


def test_a_command_that_takes_no_such_option_refuses_it_as_after_its_name(
        capsys: pytest.CaptureFixture[str]) -> None:
    before = refusal(capsys, "--ascii", "serve")
    assert before == refusal(capsys, "serve", "--ascii")
    assert before == ("vmconsole serve: --ascii is not an option of serve: of the "
                      "console's options it takes --config, --profile, --theme, "
                      "--read-only (`vmconsole serve --help` lists its own)\n")


@pytest.mark.parametrize("where", ["before", "after"])
def test_audit_says_it_reads_no_config_file(where: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A tester's finding: `vmconsole --config F audit` said "unrecognized arguments",
    though --help says the console's options may go before a command. The audit log is
    --log, $VMCONSOLE_AUDIT_LOG or the state folder's, whatever the config."""
    config = ["--config", "/tmp/x.toml"]
    args = [*config, "audit"] if where == "before" else ["audit", *config]
    assert refusal(capsys, *args) == (
        "vmconsole audit: --config is not an option of audit: it reads no config file "
        "and takes none of the console's options (`vmconsole audit --help` lists its "
        "own)\n")


@pytest.mark.parametrize(("args", "said"), [
    (["--profile=p", "ping", "127.0.0.1"], "ping: --profile is not an option of ping: it "
     "reads no config file"),
    (["--theme", "t", "ha", "status", "--profile", "p"], "ha: --theme is not an option of "
     "ha: of the console's options it takes --config, --profile ("),
    (["--profile", "p", "lab", "status"], "lab: --profile is not an option of lab: of the "
     "console's options it takes --config ("),
])
def test_every_command_names_the_console_s_options_it_takes(
        args: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert refusal(capsys, *args).startswith(f"vmconsole {said}")


def test_a_word_no_command_takes_is_argparse_s_refusal(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert "unrecognized arguments: --bogus" in refusal(capsys, "audit", "--bogus")


def test_no_arguments_at_all_is_the_console() -> None:
    # The README's first command is a bare `vmconsole`; a merge once made it an IndexError.
    from vmconsole.cli import build_parser, command_first

    args = command_first([])
    assert build_parser(args[0]).parse_args(args).command == "console"


def test_the_top_level_help_lists_the_options_taken_before_a_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A tester's finding: `vmconsole --help` named none of the options the README says
    may go before a command."""
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    section = shown[shown.index("the console's options"):]
    for option in ("--config PATH", "--profile NAME", "--theme NAME", "--ascii",
                   "--read-only"):
        assert option in section, option

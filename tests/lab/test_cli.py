"""`vmconsole lab`'s arguments: `--config` before or after the action, as every other
command takes it (the tester's finding: `vmconsole lab up --config X` was refused)."""

from __future__ import annotations

import pytest

from vmconsole.cli import build_parser, main


def test_lab_status_reads_the_config_named_after_the_action(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VMCONSOLE_LAB_DIR", str(tmp_path / "no-lab-here"))
    config = tmp_path / "course.toml"
    config.write_text('theme = "vmconsole-dark"\n')
    assert main(["lab", "status", "--config", str(config)]) == 0
    assert f"profile 'lab' in {config}: absent" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "expected"), [
    (["lab", "up", "--nodes", "2", "--config", "after.toml"], "after.toml"),
    (["lab", "--config", "before.toml", "up", "--nodes", "2"], "before.toml"),
    (["lab", "--config", "before.toml", "up", "--config", "after.toml"], "after.toml"),
    (["lab", "fail", "pve2", "--power", "--config", "after.toml"], "after.toml"),
    (["lab", "down", "--config", "after.toml"], "after.toml"),
])
def test_lab_takes_config_before_or_after_its_action(argv, expected):
    # parsed only: `up` and `down` act on the machine's one lab (tests/lab builds it)
    assert build_parser().parse_args(argv).config == expected


def test_each_actions_help_says_what_it_does_with_the_config(capsys):
    """A tester's finding: `lab status --help` called --config the "config file that
    receives the 'lab' profile", which status never writes."""
    said = {}
    for action in ("up", "status", "down"):
        with pytest.raises(SystemExit):
            main(["lab", action, "--help"])
        said[action] = " ".join(capsys.readouterr().out.split())
    assert "--config PATH config file that receives the 'lab' profile" in said["up"]
    assert "--config PATH config file in which to look for the 'lab' profile" in said[
        "status"]
    assert "--config PATH config file whose 'lab' profile is removed" in said["down"]


@pytest.mark.parametrize(("option", "said"), [
    (["--ha-round", "nan"], "--ha-round: expected 0.1 to 3600 seconds, got nan"),
    (["--ha-fence-delay", "inf"], "--ha-fence-delay: expected 0 to 3600 seconds, got inf"),
    (["--ha-fence-delay", "-1"], "--ha-fence-delay: expected 0 to 3600 seconds, got -1"),
    (["--nodes", "99"], "--nodes is 1..9"),
])
def test_lab_up_refuses_a_bad_size_or_time_before_it_builds_anything(
        tmp_path, monkeypatch, capsys, option, said):
    """A tester's finding: `lab up --ha-round nan` built the whole lab, then failed to
    write its profile (the config's reader refuses NaN) and told to `lab down`."""
    monkeypatch.setenv("VMCONSOLE_LAB_DIR", str(tmp_path / "lab"))
    config = tmp_path / "course.toml"
    assert main(["lab", "up", *option, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"vmconsole lab: {said}" in err
    assert "lab down" not in err  # nothing was made
    assert not (tmp_path / "lab").exists() and not config.exists()


def test_ctrl_c_during_lab_up_says_how_to_finish_or_undo_it(tmp_path, monkeypatch, capsys):
    """A tester's finding: Ctrl+C during `lab up` ended in a KeyboardInterrupt traceback
    from inside libvirt, the lab half made and nothing said of it."""
    from vmconsole.lab import builder

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # as Ctrl+C does, wherever the build is

    monkeypatch.setattr(builder, "up", interrupted)
    assert main(["lab", "up", "--config", str(tmp_path / "course.toml")]) == 130
    err = capsys.readouterr().err
    assert err == ("vmconsole lab up: interrupted; `vmconsole lab up` completes the lab, "
                   "`vmconsole lab down` removes what was made so far\n")

"""The local cloud's settings, its clock, and the patch sets that install and uninstall the emulation."""

from __future__ import annotations

import threading

import pytest

from mysfits_cli.local.clock import Clock
from mysfits_cli.local.patching import Patches
from mysfits_cli.local.settings import DEFAULT_TIME_SCALE, LENIENT, CloudSettings, SettingsError


def test_defaults_are_strict_with_the_default_time_scale():
    settings = CloudSettings.from_env({})
    assert (settings.strict, settings.time_scale, settings.latency, settings.codecommit, settings.endpoint_delay) == (
        True, DEFAULT_TIME_SCALE, "none", "open", 0.0)
    assert settings.describe() == "strict, time scale 0.0002, latency none"


def test_the_environment_sets_defaults_and_flags_win():
    env = {"MYSFITS_LOCAL_MODE": "lenient", "MYSFITS_LOCAL_TIME_SCALE": "0.05", "MYSFITS_LOCAL_LATENCY": "aws",
           "MYSFITS_LOCAL_CODECOMMIT": "closed", "MYSFITS_LOCAL_ENDPOINT_DELAY": "31"}
    settings = CloudSettings.from_env(env)
    assert settings == CloudSettings(strict=False, time_scale=0.05, latency="aws", codecommit="closed", endpoint_delay=31)
    assert settings.describe() == "lenient, time scale 0.05, latency aws, CodeCommit closed, endpoints answer after 31s"
    assert CloudSettings.from_env(env, strict=True, time_scale=None).strict is True


@pytest.mark.parametrize(("env", "message"), [
    ({"MYSFITS_LOCAL_MODE": "loose"}, "MYSFITS_LOCAL_MODE must be one of strict, lenient"),
    ({"MYSFITS_LOCAL_TIME_SCALE": "fast"}, "MYSFITS_LOCAL_TIME_SCALE must be a number"),
    ({"MYSFITS_LOCAL_TIME_SCALE": "0"}, "time scale must be greater than 0"),
    ({"MYSFITS_LOCAL_LATENCY": "gcp"}, "MYSFITS_LOCAL_LATENCY must be one of none, aws"),
    ({"MYSFITS_LOCAL_ENDPOINT_DELAY": "-1"}, "endpoint delay must be 0 or more"),
])
def test_bad_values_name_the_setting(env, message):
    with pytest.raises(SettingsError, match=message):
        CloudSettings.from_env(env)


def test_server_args_and_records_round_trip():
    settings = CloudSettings(strict=False, time_scale=0.02, latency="aws", codecommit="closed", endpoint_delay=1.5)
    from mysfits_cli.local import server

    parser = server.argparse.ArgumentParser()
    server._add_settings_arguments(parser)
    assert server.parse_settings(parser, parser.parse_args(settings.server_args())) == settings
    assert CloudSettings.from_record(settings.to_record()) == settings
    assert LENIENT.mode == "lenient"


def test_the_clock_runs_scaled_and_can_be_advanced():
    clock = Clock(1e9)
    ran: list[str] = []
    clock.call_later(10, lambda: ran.append("ten"))
    clock.call_later(0, lambda: ran.append("now"))
    assert ran == ["now"]
    clock.advance(9.5)
    assert ran == ["now"] and clock.now() >= 9.5
    clock.advance(0.5)
    assert ran == ["now", "ten"]
    clock.close()


def test_scheduled_work_runs_in_real_time_at_a_small_scale():
    clock = Clock(1e-6)
    done = threading.Event()
    clock.call_later(1000, done.set)  # 1000 AWS seconds: a millisecond
    assert done.wait(5)
    clock.close()


def test_sleep_returns_early_when_stopped_or_advanced():
    clock = Clock(1e9)
    stop = threading.Event()
    stop.set()
    assert clock.sleep(60, stop) is False
    results: list[bool] = []
    sleeper = threading.Thread(target=lambda: results.append(clock.sleep(60)))
    sleeper.start()
    clock.advance(60)
    sleeper.join(5)
    assert results == [True]
    clock.close()


def test_a_failing_transition_does_not_stop_the_others(capsys):
    clock = Clock(1e9)
    ran: list[int] = []
    clock.call_later(1, lambda: 1 / 0)
    clock.call_later(2, lambda: ran.append(2))
    clock.advance(2)
    assert ran == [2] and "ZeroDivisionError" in capsys.readouterr().err
    clock.close()


class Owner:
    def greet(self) -> str:
        return "hello"


def test_patch_sets_install_once_and_must_be_undone_in_reverse_order():
    first, second = Patches("first"), Patches("second")
    original = Owner.greet
    first.install(lambda: first.wrap(Owner, "greet", lambda real, self: real(self) + "!"))
    first.install(lambda: first.wrap(Owner, "greet", lambda real, self: real(self) + "?"))
    assert Owner().greet() == "hello!"
    second.install(lambda: second.wrap(Owner, "greet", lambda real, self: real(self).upper()))
    assert Owner().greet() == "HELLO!"
    with pytest.raises(RuntimeError, match="uninstall in reverse order"):
        first.restore()
    second.restore()
    first.restore()
    assert Owner.greet is original and Owner().greet() == "hello"


def test_a_failing_installer_leaves_nothing_behind():
    patches = Patches("broken")
    original = Owner.greet

    def install() -> None:
        patches.wrap(Owner, "greet", lambda real, self: "patched")
        raise RuntimeError("halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        patches.install(install)
    assert Owner.greet is original and not patches.installed

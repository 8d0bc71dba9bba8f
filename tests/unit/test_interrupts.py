"""SIGINT delivered twice at once (as `timeout -s INT` does) is one interrupt; a later one is Ctrl-C again."""

from __future__ import annotations

import os
import signal
import time

import pytest

from mysfits_cli import interrupts


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.setattr(interrupts, "_last", None)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupts.install()
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupts_heard(signals: int) -> int:
    heard = 0
    for _ in range(signals):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler runs here, in the main thread
        except KeyboardInterrupt:
            heard += 1
    return heard


def test_two_sigints_at_once_are_one_interrupt_and_a_later_one_is_another(installed):
    assert _interrupts_heard(2) == 1
    time.sleep(interrupts.SAME_INTERRUPT_SECONDS + 0.1)
    assert _interrupts_heard(1) == 1


def test_an_interrupt_while_held_is_heard_once_the_calls_are_done(installed):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            done.append("recorded")
    assert done == ["recorded"]
    assert signal.getsignal(signal.SIGINT) is interrupts._on_sigint


def test_sigint_ignored_by_the_parent_stays_ignored(monkeypatch):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        interrupts.install()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)

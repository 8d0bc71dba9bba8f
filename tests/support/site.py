"""The whole stack up on a private local cloud, brought up as a user does, and headless Chromium to visit the site.

    with stack_up(tmp_path) as stack, chromium(375, 812) as browser:
        browser.get(stack.url)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# This machine's network is closed: nothing of Chromium's may reach out.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars")


def browser_missing() -> str | None:
    """Why the browser cannot run here, in one line; None when it can."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed: pip install -e '.[test]'"
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return "headless Chromium is not installed: apt-get install -y chromium chromium-driver"
    return None


@dataclass
class Stack:
    url: str  # the site, as `mysfits up web` printed it
    home: Path
    env: dict[str, str]

    def cli(self, *args: str, timeout: float = 600) -> str:
        command = [sys.executable, "-m", "mysfits_cli.cli", "--local", "--state-file", str(self.home / "state.json"), *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"mysfits {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def log(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def stack_up(home: Path, layout: str = "cloudfront") -> Iterator[Stack]:
    """A local cloud in `home` seeded with the site's `layout`, and every part the page needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "MYSFITS_ENDPOINT_URL"}
    env.update(MYSFITS_LOCAL_HOME=str(home), MYSFITS_LOCAL_SITE=layout, MYSFITS_POLL_SECONDS="0.1", COLUMNS="200")
    stack = Stack("", home, env)
    try:
        stack.cli("up", "api")
        stack.cli("train", "--rows", "20000", "--sample-size", "5000", "--no-logs")
        stack.cli("deploy-endpoint", "--no-evaluate")
        stack.cli("up", "recommendations")
        stack.url = stack.cli("up", "web").strip().splitlines()[-1]
        yield stack
    finally:
        subprocess.run([sys.executable, "-m", "mysfits_cli.cli", "local", "stop"], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)


@contextlib.contextmanager
def chromium(width: int, height: int) -> Iterator[Any]:
    """Headless Chromium through the system's chromedriver, with a new empty profile; its console is kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="mysfits-chromium-") as profile:
        options = Options()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            driver.set_window_size(width, height)
            yield driver
        finally:
            driver.quit()


class Visitor:
    """A visitor on the site: the page's own controls, clicked and typed into as a person would."""

    def __init__(self, browser: Any, stack: Stack, timeout: float = 30):
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.browser = browser
        self.stack = stack
        # The page redraws its cards as answers come in: an element read mid-redraw is read again.
        self.wait = WebDriverWait(browser, timeout, ignored_exceptions=[StaleElementReferenceException])

    def find(self, css: str) -> Any:
        return self.browser.find_element("css selector", css)

    def until(self, condition: Any, what: str) -> Any:
        return self.wait.until(lambda _: condition(), message=f"waiting for {what}")

    def text(self, css: str) -> str:
        return self.find(css).text

    def type(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def choose(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def open_site(self, url: str | None = None) -> None:
        self.browser.get(url or self.stack.url)
        self.until(lambda: len(self.cards()) > 0, "the mysfits")

    def cards(self) -> list[Any]:
        return self.browser.find_elements("css selector", "#mysfits li.card")

    def card(self, name: str) -> Any:
        return next(c for c in self.cards() if c.find_element("css selector", "h3").text == name)

    def register_confirm_and_sign_in(self, email: str, password: str) -> None:
        from tests.support.srp import confirmation_code

        self.find("#sign-in-button").click()
        self.find("#sign-in-form [data-show=register-form]").click()
        self.type("#register-email", email)
        self.type("#register-password", password)
        self.type("#register-password-again", password)
        self.find("#register-form button[type=submit]").click()
        self.until(lambda: self.find("#confirm-form").is_displayed(), "the confirmation step")
        self.until(lambda: email in self.stack.log(), "the confirmation code in the local cloud's log")
        self.type("#confirm-code", confirmation_code(self.stack.log(), email))
        self.find("#confirm-form button[type=submit]").click()
        self.until(lambda: self.find("#sign-in-form").is_displayed(), "the sign-in step")
        self.type("#sign-in-password", password)
        self.find("#sign-in-form button[type=submit]").click()
        self.until(lambda: email in self.text("#account-name"), "signed in")

    def answer_questionnaire(self, answers: list[int]) -> None:
        from selenium.webdriver.support.ui import Select

        for select, answer in zip(self.browser.find_elements("css selector", "#questionnaire select"), answers):
            Select(select).select_by_value(str(answer))
        self.find("#recommend-button").click()
        self.until(lambda: self.find("#profile").get_attribute("open") is not None, "the recommended mysfit's profile")

    def overflow(self) -> tuple[int, int]:
        """(scrollWidth, clientWidth) of the page: no horizontal overflow when the first is not larger."""
        return tuple(self.browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"))

    def phone(self, width: int = 375, height: int = 812) -> None:
        self.browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})

    def console_errors(self, pictures: set[str]) -> list[str]:
        """The page's console errors, but the pictures that cannot load here (the network is closed)."""
        return [entry["message"] for entry in self.browser.get_log("browser")
                if entry["level"] == "SEVERE" and not any(entry["message"].startswith(url + " ") for url in pictures)]

"""Screenshots of the site for the README, at 1280 px and on a 375 px phone, from a private local cloud.

    python -m tests.support.screenshots [--out docs/screenshots]

Needs the test extra and Debian's chromium and chromium-driver. Brings the whole stack up with
the CLI, signs a visitor in, likes and adopts a mysfit, asks for a recommendation, and saves
site-1280.png (the list, signed in), site-1280-recommendation.png and site-375.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.support.site import Visitor, browser_missing, chromium, stack_up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    missing = browser_missing()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mysfits-screenshots-") as home, stack_up(Path(home)) as stack:
        with chromium(1280, 1000) as browser:
            visitor = Visitor(browser, stack)
            visitor.open_site()
            visitor.register_confirm_and_sign_in(f"visitor-{time.time_ns()}@example.com", "Myst1cal-Pass")
            name = visitor.cards()[1].find_element("css selector", "h3").text
            visitor.card(name).find_element("css selector", "button.secondary").click()
            visitor.until(lambda: "Liked" in visitor.card(name).text, "the like")
            visitor.card(name).find_element("css selector", "button").click()
            visitor.find("#adopt-button").click()
            visitor.until(lambda: visitor.text("#adopt-button") == "Adopted!", "the adoption")
            visitor.find("#profile [data-close]").click()
            browser.execute_script("window.scrollTo(0, 0)")
            browser.save_screenshot(str(args.out / "site-1280.png"))
            visitor.answer_questionnaire([2, 5, 3, 7, 4])
            browser.save_screenshot(str(args.out / "site-1280-recommendation.png"))
        with chromium(375, 812) as browser:
            visitor = Visitor(browser, stack)
            visitor.phone(375, 812)
            visitor.open_site()
            browser.save_screenshot(str(args.out / "site-375.png"))
    for name in ("site-1280.png", "site-1280-recommendation.png", "site-375.png"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The site in a real browser: headless Chromium against a private local cloud whose stack the CLI
brought up (`up api`, `train`, `deploy-endpoint`, `up recommendations`, `up web`), on python-cdk's
CloudFront layout. A visitor lists and filters the mysfits, opens a profile, registers, confirms
with the code from the local cloud's log, signs in (SRP in the page), likes, adopts and asks for a
recommendation; then the same page on a 375 px phone. Teardown puts the workshop's page back."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

import pytest

from mysfits_cli import reference
from mysfits_cli.local.seed import WORKSHOP_PAGE
from tests.support.site import Visitor, browser_missing, chromium, stack_up

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")]

MYSFITS = reference.mysfits()
PICTURES = {m[key] for m in MYSFITS for key in ("thumbImageUri", "profileImageUri")}
PASSWORD = "Myst1cal-Pass"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with stack_up(tmp_path_factory.mktemp("site-home")) as up:
        yield up


def stale(id_token: str) -> str:
    """The ID token as it is once expired (its signature no longer matches either): the authorizer refuses it."""
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 60
    return ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), signature])


def test_a_visitor_signs_in_likes_adopts_and_is_recommended_a_mysfit(stack):
    assert "/_mysfits/cloudfront/" in stack.url
    with chromium(1280, 900) as browser:
        visitor = Visitor(browser, stack)
        # The page is opened from another origin than the APIs' (localhost, not 127.0.0.1), as a site on CloudFront
        # calls APIs on execute-api: every answer the page reads must carry CORS headers, errors included.
        visitor.open_site(stack.url.replace("//127.0.0.1:", "//localhost:"))
        assert len(visitor.cards()) == 12
        assert visitor.text("#mysfits-status") == "12 of 12 mysfits are still looking for a home."
        assert browser.find_elements("css selector", "#mysfits li.card .picture svg"), "drawn placeholders"

        visitor.choose("#filter", "LawChaos:Lawful")
        lawful = sorted(m["name"] for m in MYSFITS if m["lawchaos"] == "Lawful")
        visitor.until(lambda: sorted(c.find_element("css selector", "h3").text for c in visitor.cards()) == lawful,
                      "the lawful mysfits")
        visitor.choose("#filter", "")
        visitor.until(lambda: len(visitor.cards()) == 12, "all mysfits again")

        name = visitor.cards()[0].find_element("css selector", "h3").text
        visitor.card(name).find_element("css selector", "button").click()
        visitor.until(lambda: visitor.text("#profile-name") == name, "the profile")
        description = next(m for m in MYSFITS if m["name"] == name)
        assert description["species"] in visitor.text("#profile-facts")
        visitor.find("#profile [data-close]").click()

        visitor.card(name).find_element("css selector", "button.secondary").click()  # like, signed out
        visitor.until(lambda: visitor.find("#auth").get_attribute("open") is not None, "the sign-in dialog")
        assert visitor.text("#auth-reason") == "Sign in to like a mysfit."
        visitor.find("#auth [data-close]").click()

        email = f"visitor-{time.time_ns()}@example.com"
        visitor.register_confirm_and_sign_in(email, PASSWORD)
        help_text = visitor.find("#confirm-help").get_attribute("textContent")
        assert "The local cloud sends no e-mail: the code is in its log" in help_text

        visitor.card(name).find_element("css selector", "button.secondary").click()
        visitor.until(lambda: "\u2665 Liked" in visitor.card(name).text, "the like")
        assert "Likes\n1" in visitor.card(name).text

        visitor.card(name).find_element("css selector", "button").click()
        visitor.until(lambda: visitor.text("#profile-name") == name, "the profile")
        visitor.find("#adopt-button").click()
        visitor.until(lambda: visitor.text("#adopt-button") == "Adopted!", "the adoption")
        assert visitor.text("#mysfits-status") == "11 of 12 mysfits are still looking for a home."
        assert "Adopted" in visitor.card(name).text
        visitor.find("#profile [data-close]").click()

        second, third, fourth = [c.find_element("css selector", "h3").text for c in visitor.cards()[1:4]]
        expire = "const s = JSON.parse(sessionStorage.getItem(arguments[0])); Object.assign(s, arguments[1]);" \
                 "sessionStorage.setItem(arguments[0], JSON.stringify(s));"
        browser.execute_script(expire, "mysfits:mysfits:session", {"expiresAt": 0})
        visitor.card(second).find_element("css selector", "button.secondary").click()  # refreshed, then liked
        visitor.until(lambda: "\u2665 Liked" in visitor.card(second).text, "the like after a refresh")
        assert email in visitor.text("#account-name")
        assert visitor.console_errors(PICTURES) == []

        # An ID token the page still trusts but the authorizer refuses (expired): API Gateway's 401 carries CORS
        # headers, so the page reads it as a 401, refreshes its session and likes again (not "could not record")
        session = json.loads(browser.execute_script("return sessionStorage.getItem(arguments[0])", "mysfits:mysfits:session"))
        browser.execute_script(expire, "mysfits:mysfits:session", {"idToken": stale(session["idToken"])})
        visitor.card(fourth).find_element("css selector", "button.secondary").click()
        visitor.until(lambda: "\u2665 Liked" in visitor.card(fourth).text, "the like after a 401 and a refresh")
        assert visitor.text("#mysfits-error") == ""
        [unauthorized] = visitor.console_errors(PICTURES)  # the refused like, which Chromium reports
        assert "/like " in unauthorized and "401" in unauthorized
        browser.execute_script(expire, "mysfits:mysfits:session", {"expiresAt": 0, "refreshToken": "revoked"})
        visitor.card(third).find_element("css selector", "button.secondary").click()
        visitor.until(lambda: visitor.find("#auth").get_attribute("open") is not None, "asked to sign in again")
        assert visitor.text("#notice") == "Your session has expired. Please sign in again."
        # The refused refresh is the only failure, and Chromium reports every refused request.
        [refused] = visitor.console_errors(PICTURES)
        assert refused.startswith(stack.url.split("/_mysfits/")[0] + "/ ") and "400" in refused
        visitor.type("#sign-in-email", email)
        visitor.type("#sign-in-password", PASSWORD)
        visitor.find("#sign-in-form button[type=submit]").click()
        visitor.until(lambda: "\u2665 Liked" in visitor.card(third).text, "the like once signed in again")

        visitor.answer_questionnaire([1, 2, 3, 4, 5])
        recommended = visitor.text("#profile-name")
        assert recommended in {m["name"] for m in MYSFITS}
        assert visitor.text("#recommendation").startswith(f"We recommend {recommended} the ")
        assert visitor.text("#profile-intro").startswith("We recommend")
        visitor.find("#profile [data-close]").click()

        visitor.find("#sign-out-button").click()
        visitor.until(lambda: visitor.find("#sign-in-button").is_displayed(), "signed out")
        assert visitor.console_errors(PICTURES) == []


def test_on_a_phone_nothing_overflows(stack):
    with chromium(375, 812) as browser:
        visitor = Visitor(browser, stack)
        visitor.phone(375, 812)
        visitor.open_site()
        assert browser.execute_script("return innerWidth") == 375
        scroll, client = visitor.overflow()
        assert scroll <= client
        visitor.cards()[0].find_element("css selector", "button").click()
        visitor.until(lambda: visitor.find("#profile").get_attribute("open") is not None, "the profile")
        assert visitor.overflow()[0] <= visitor.overflow()[1]
        assert visitor.find("#profile").size["width"] <= 375
        visitor.find("#profile [data-close]").click()
        visitor.find("#sign-in-button").click()
        assert visitor.find("#auth").size["width"] <= 375
        assert visitor.overflow()[0] <= visitor.overflow()[1]
        assert visitor.console_errors(PICTURES) == []


def test_teardown_puts_the_workshops_page_back(stack):
    stack.cli("teardown", "--yes")
    with urllib.request.urlopen(stack.url, timeout=10) as response:
        assert response.read() == WORKSHOP_PAGE

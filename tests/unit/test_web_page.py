"""The page template: its render context injected safely, the marker, the questionnaire from data, no
CDN; and the page's own SRP and SHA-256 (run under node) agreeing with Cognito's math. What the
page does in a browser is tested in tests/e2e/test_site_browser.py."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources

import jinja2
import pytest

from mysfits_cli.local import cognito
from mysfits_cli.resources.website import page_stack

TEMPLATE = "index.html.j2"
MYSFITS_API = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
RECOMMENDATIONS_API = "https://def456.execute-api.us-east-1.amazonaws.com/prod"


def data(name):
    return json.loads(resources.files("mysfits_cli.data").joinpath(name).read_text(encoding="utf-8"))


QUESTIONS = data("questionnaire.json")["questions"]
MYSFITS = data("mysfits.json")["mysfits"]


def environment(autoescape):
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("mysfits_cli.templates.web").joinpath(name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
    )


def context(**overrides):
    values = {
        "mysfits_api_url": MYSFITS_API,
        "recommendations_api_url": RECOMMENDATIONS_API,
        "user_pool_id": "us-east-1_AbCdEf123",
        "user_pool_client_id": "4p0ol5client1d",
        "region": "us-east-1",
        "cognito_endpoint_url": "https://cognito-idp.us-east-1.amazonaws.com/",
        "confirmation_hint": "",
        "questionnaire": QUESTIONS,
        "mysfits": MYSFITS,
        "stack": "mysfits",
        "stack_region": "us-east-1",
    }
    values.update(overrides)
    return values


@pytest.fixture(params=[True, False], ids=["autoescape", "no-autoescape"])
def render(request):
    template = environment(request.param).get_template(TEMPLATE)
    return lambda **overrides: template.render(**context(**overrides))


class Page(HTMLParser):
    """The parts of the page the tests look at: tags, labels, selects with their options, scripts by id."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags, self.labels, self.selects, self.scripts = [], [], [], {}
        self._capture = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "select":
            if self._capture and self._capture[0] == "label":  # a label's text is what comes before its select
                self.labels.append("".join(self._capture[2]).strip())
                self._capture = None
            self.selects.append((attrs.get("name"), []))
        if tag in ("option", "script") or (tag == "label" and attrs.get("for", "").startswith("q-")):
            self._capture = (tag, attrs, [])

    def handle_data(self, text):
        if self._capture:
            self._capture[2].append(text)

    def handle_endtag(self, tag):
        if self._capture and tag == self._capture[0]:
            kind, attrs, parts = self._capture
            text = "".join(parts)
            if kind == "option" and self.selects:
                self.selects[-1][1].append((attrs.get("value"), text.strip()))
            elif kind == "script":
                self.scripts[attrs.get("id")] = text
            self._capture = None

    def config(self):
        return json.loads(re.search(r"const CONFIG = (\{.*?\});", self.scripts["app"], re.S).group(1))


def test_the_render_context_reaches_the_script_as_json(render):
    config = Page(render()).config()
    assert config == {
        "mysfitsApi": MYSFITS_API, "recommendationsApi": RECOMMENDATIONS_API, "userPoolId": "us-east-1_AbCdEf123",
        "clientId": "4p0ol5client1d", "region": "us-east-1",
        "cognitoEndpoint": "https://cognito-idp.us-east-1.amazonaws.com/", "stack": "mysfits",
    }


def test_the_page_carries_the_mysfits_marker_with_its_stack(render):
    html = render(stack="mysfits-dev")
    assert page_stack(html.encode()) == "mysfits-dev"
    assert page_stack(b"<html><head><title>the workshop's page</title></head></html>") is None
    assert "stack mysfits-dev" in html


def test_hostile_values_cannot_break_out_of_the_script_or_the_markup(render):
    hostile = "https://x.example/prod?a='</script><script>alert(1)</script>\"&b=1"
    html = render(mysfits_api_url=hostile, recommendations_api_url=hostile, user_pool_id=hostile,
                  confirmation_hint="<b>log</b>", stack="<b>s</b>")
    assert "</script><script>alert(1)" not in html
    assert "<b>s</b>" not in html and "<b>log</b>" not in html
    config = Page(html).config()
    assert config["mysfitsApi"] == config["recommendationsApi"] == config["userPoolId"] == hostile


def test_every_question_becomes_one_select_with_all_its_options_in_order(render):
    page = Page(render())
    questionnaire = [(name, options) for name, options in page.selects if name != "filter" and name]
    assert [name for name, _ in questionnaire] == [q["id"] for q in QUESTIONS]
    for question, (_, options) in zip(QUESTIONS, questionnaire):
        assert [(v, t) for v, t in options if v] == [(str(o["value"]), o["text"]) for o in question["options"]]
    assert page.labels == [q["text"] for q in QUESTIONS]


def test_the_filters_are_the_apis_two_attributes(render):
    html = render()
    values = re.findall(r'<option value="((?:GoodEvil|LawChaos):\w+)">', html)
    assert values == ["GoodEvil:Good", "GoodEvil:Neutral", "GoodEvil:Evil",
                      "LawChaos:Lawful", "LawChaos:Neutral", "LawChaos:Chaotic"]


def test_the_confirmation_hint_is_shown_on_the_confirm_step_only_when_given(render):
    assert "sends no e-mail" not in render()
    html = render(confirmation_hint="The local cloud sends no e-mail: the code is in its log, /tmp/x/server.log.")
    step = re.search(r'<form id="confirm-form".*?</form>', html, re.S).group(0)
    assert "the code is in its log, /tmp/x/server.log." in step


def test_nothing_is_loaded_from_another_site(render):
    html = render()
    page = Page(html)
    for tag, attrs in page.tags:
        assert not (tag == "script" and "src" in attrs), attrs
        assert not (tag == "link" and re.match(r"(https?:)?//", attrs.get("href", ""))), attrs
        assert tag not in ("iframe", "object", "embed")
    assert "@import" not in html and not re.search(r"url\(\s*[\"']?(https?:)?//", html)
    allowed = ("https://www.mythicalmysfits.com/images/", "http://www.w3.org/2000/svg", MYSFITS_API,
               RECOMMENDATIONS_API, "https://cognito-idp.us-east-1.amazonaws.com/")
    for url in re.findall(r"https?://[^\s\"'<>)]+", html):
        assert url.startswith(allowed), url


def test_the_known_mysfits_are_embedded_for_when_the_api_is_down(render):
    script = Page(render()).scripts["app"]
    for mysfit in MYSFITS:
        assert json.dumps(mysfit["mysfitId"]) in script


@pytest.mark.parametrize("missing", list(context()))
def test_a_missing_context_value_is_an_error(missing):
    values = context()
    del values[missing]
    with pytest.raises(jinja2.UndefinedError):
        environment(True).get_template(TEMPLATE).render(**values)


# --- the page's SRP under node, against Cognito's math -------------------------------------------

NODE_SRP = r"""
const fs = require("fs");
eval(fs.readFileSync(process.argv[2], "utf8") + ";globalThis.MysfitsSrp = MysfitsSrp;");
const input = JSON.parse(process.argv[3]);
(async () => {
  const bytes = (hex) => Uint8Array.from(Buffer.from(hex, "hex"));
  const hex = (array) => Buffer.from(array).toString("hex");
  const a = BigInt("0x" + input.a);
  console.log(JSON.stringify({
    A: MysfitsSrp.largeA(a).toString(16),
    signature: await MysfitsSrp.passwordClaim({ ...input, a }),
    timestamp: MysfitsSrp.timestamp(new Date(Date.UTC(2021, 0, 5, 7, 1, 2))),
    sha256: input.messages.map((m) => hex(MysfitsSrp.sha256Plain(bytes(m)))),
    hmac: input.messages.map((m) => hex(MysfitsSrp.hmacPlain(bytes(input.key), bytes(m)))),
  }));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_pages_srp_claim_is_the_one_cognito_computes(tmp_path):
    script = Page(environment(True).get_template(TEMPLATE).render(**context())).scripts["srp"]
    (tmp_path / "srp.js").write_text(script)
    (tmp_path / "run.js").write_text(NODE_SRP)
    a = secrets.randbits(1024)
    salt, pool, user, password = secrets.token_hex(16), "AbCdEf123", "alice@example.com", "Corr3ct-Horse"
    verifier = cognito.password_verifier(pool, user, password, salt)
    b = secrets.randbits(1024)
    big_b = (cognito.K * verifier + pow(cognito.G, b, cognito.N)) % cognito.N
    block = base64.b64encode(secrets.token_bytes(64)).decode()
    messages = ["", "61", "00" * 55, "ff" * 56, "ab" * 64, "cd" * 200]
    key = "0b" * 80
    run = subprocess.run(
        ["node", str(tmp_path / "run.js"), str(tmp_path / "srp.js"), json.dumps({
            "a": format(a, "x"), "poolName": pool, "userId": user, "password": password, "salt": salt,
            "srpB": format(big_b, "x"), "secretBlock": block, "time": "Tue Jan 5 07:01:02 UTC 2021",
            "messages": messages, "key": key})],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    big_a = int(seen["A"], 16)
    assert big_a == pow(cognito.G, a, cognito.N)
    u = int(cognito.hash_hex(cognito.pad_hex(big_a) + cognito.pad_hex(big_b)), 16)
    premaster = pow(big_a * pow(verifier, u, cognito.N) % cognito.N, b, cognito.N)
    expected = cognito.claim_signature(cognito.authentication_key(premaster, u), pool, user, block,
                                       "Tue Jan 5 07:01:02 UTC 2021")
    assert seen["signature"] == expected
    assert seen["timestamp"] == "Tue Jan 5 07:01:02 UTC 2021"
    assert seen["sha256"] == [hashlib.sha256(bytes.fromhex(m)).hexdigest() for m in messages]
    assert seen["hmac"] == [hmac.new(bytes.fromhex(key), bytes.fromhex(m), hashlib.sha256).hexdigest() for m in messages]

"""The website page template: both API URLs injected safely, the questionnaire from data, no CDN."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources

import jinja2
import pytest

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
            lambda name: resources.files("mysfits_cli.templates.web").joinpath(name)
            .read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
    )


def context(**overrides):
    values = {
        "mysfits_api_url": MYSFITS_API,
        "recommendations_api_url": RECOMMENDATIONS_API,
        "questionnaire": QUESTIONS,
        "mysfits": MYSFITS,
        "stack": "mysfits",
    }
    values.update(overrides)
    return values


@pytest.fixture(params=[True, False], ids=["autoescape", "no-autoescape"])
def render(request):
    template = environment(request.param).get_template(TEMPLATE)
    return lambda **overrides: template.render(**context(**overrides))


class Page(HTMLParser):
    """The parts of the page the tests look at: labels, selects with their options, tags, scripts."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.labels = []  # the text of each <label> before its <select>
        self.selects = []  # [(name, [(value, text)])]
        self.tags = []
        self.scripts = []
        self._capture = None  # (kind, attrs, [text]) while inside a label, option or script
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "select":
            self._finish()
            self.selects.append((attrs.get("name"), []))
        elif tag in ("label", "option", "script"):
            self._capture = (tag, attrs, [])

    def handle_data(self, text):
        if self._capture:
            self._capture[2].append(text)

    def handle_endtag(self, tag):
        if self._capture and tag == self._capture[0]:
            self._finish()

    def _finish(self):
        if not self._capture:
            return
        kind, attrs, parts = self._capture
        text = "".join(parts)
        if kind == "label":
            self.labels.append(text.strip())
        elif kind == "option":
            self.selects[-1][1].append((attrs.get("value"), text.strip()))
        else:
            self.scripts.append(text)
        self._capture = None


def test_both_api_urls_are_json_encoded_in_the_script(render):
    page = Page(render())
    [script] = page.scripts
    assert json.dumps(MYSFITS_API) in script
    assert json.dumps(RECOMMENDATIONS_API) in script
    assert '"/mysfits"' in script
    assert '"/recommendations"' in script


def test_hostile_urls_cannot_break_out_of_the_script(render):
    hostile = "https://x.example/prod?a='</script><script>alert(1)</script>\"&b=1"
    html = render(mysfits_api_url=hostile, recommendations_api_url=hostile, stack="<b>s</b>")
    assert "</script><script>alert(1)" not in html
    assert "<b>s</b>" not in html
    [script] = Page(html).scripts
    decoded = re.search(r"var MYSFITS_API = (.*?)\.replace", script).group(1)
    assert json.loads(decoded) == hostile


def test_every_question_becomes_one_select_with_all_its_options_in_order(render):
    page = Page(render())
    assert [name for name, _ in page.selects] == [q["id"] for q in QUESTIONS]
    for question, (_, options) in zip(QUESTIONS, page.selects):
        real = [(value, text) for value, text in options if value]
        assert real == [(str(o["value"]), o["text"]) for o in question["options"]]
    assert page.labels == [q["text"] for q in QUESTIONS]


def test_the_form_is_driven_by_the_data_not_hard_coded(render):
    questions = [
        {"id": "mood", "text": "Mood & <temper>?",
         "options": [{"value": 1, "text": "Grumpy"}, {"value": 2, "text": "Sunny 'n' bright"}]},
    ]
    page = Page(render(questionnaire=questions))
    assert page.selects == [("mood", [("", "Choose an answer"), ("1", "Grumpy"),
                                      ("2", "Sunny 'n' bright")])]
    assert page.labels == ["Mood & <temper>?"]
    assert '["mood"]' in page.scripts[0]
    assert "age" not in [name for name, _ in page.selects]


def test_fallback_mysfits_are_embedded_as_json(render):
    [script] = Page(render()).scripts
    for mysfit in MYSFITS:
        assert json.dumps(mysfit["mysfitId"]) in script
        assert json.dumps(mysfit["name"]) in script


def test_nothing_is_loaded_from_another_site(render):
    html = render()
    page = Page(html)
    for tag, attrs in page.tags:
        assert not (tag == "script" and "src" in attrs), attrs
        assert not (tag == "link" and attrs.get("href")), attrs
        assert tag not in ("iframe", "object", "embed")
    assert not re.search(r"<script[^>]*\bsrc=", html, re.I)
    assert not re.search(r"<link[^>]*href=[\"']?(https?:)?//", html, re.I)
    assert "@import" not in html and not re.search(r"url\(\s*[\"']?(https?:)?//", html)
    allowed = ("https://www.mythicalmysfits.com/", MYSFITS_API, RECOMMENDATIONS_API)
    for url in re.findall(r"https?://[^\s\"'<>)]+", html):
        assert url.startswith(allowed), url


def test_page_shows_api_errors_and_the_recommendation(render):
    html = render()
    assert 'id="mysfits-error"' in html and 'id="recommendation-error"' in html
    [script] = Page(html).scripts
    assert 'method: "POST"' in script
    assert "JSON.stringify({ entry: entry })" in script
    assert "recommendedMysfit" in script
    assert "mysfitId === mysfitId" in script


def test_stack_name_is_shown(render):
    assert "stack mysfits-dev" in render(stack="mysfits-dev")


@pytest.mark.parametrize("missing", [
    "mysfits_api_url", "recommendations_api_url", "questionnaire", "mysfits", "stack",
])
def test_a_missing_context_value_is_an_error(missing):
    values = context()
    del values[missing]
    with pytest.raises(jinja2.UndefinedError):
        environment(True).get_template(TEMPLATE).render(**values)


# A minimal DOM and fetch for running the page's script under node: enough to load the
# mysfits, submit the questionnaire and read back what the page shows.
NODE_HARNESS = r"""
const fs = require("fs");
const [scriptPath, scenarioJson] = process.argv.slice(2);
const scenario = JSON.parse(scenarioJson);

class Element {
  constructor(tag) { this.tagName = tag; this.children = []; this._text = ""; this.hidden = false;
                     this.listeners = {}; this.value = ""; }
  appendChild(child) { this.children.push(child); return child; }
  set textContent(text) { this._text = String(text); this.children = []; }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  addEventListener(type, listener) { this.listeners[type] = listener; }
}
const elements = {};
global.document = {
  getElementById: (id) => (elements[id] = elements[id] || new Element("div")),
  createElement: (tag) => new Element(tag),
};
for (const [id, value] of Object.entries(scenario.answers)) { document.getElementById(id).value = value; }

const requests = [];
global.fetch = (url, options) => {
  requests.push({ url, method: (options && options.method) || "GET", body: options && options.body });
  const [status, body] = scenario.responses[url] || [404, {message: "no such route"}];
  return Promise.resolve({ ok: status >= 200 && status < 300, status, statusText: "",
                           text: () => Promise.resolve(JSON.stringify(body)) });
};

eval(fs.readFileSync(scriptPath, "utf8"));
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
(async () => {
  await settle();
  document.getElementById("questionnaire").listeners.submit({ preventDefault() {} });
  await settle();
  const show = (id) => ({ text: document.getElementById(id).textContent,
                          hidden: document.getElementById(id).hidden });
  console.log(JSON.stringify({
    requests,
    cards: document.getElementById("mysfits").children.length,
    mysfitsError: show("mysfits-error"),
    recommendation: show("recommendation"),
    recommendationError: show("recommendation-error"),
  }));
})();
"""


def run_page(tmp_path, responses, answers=None):
    html = environment(True).get_template(TEMPLATE).render(**context(
        mysfits_api_url=MYSFITS_API + "/", recommendations_api_url=RECOMMENDATIONS_API))
    [script] = Page(html).scripts
    (tmp_path / "page.js").write_text(script)
    (tmp_path / "harness.js").write_text(NODE_HARNESS)
    if answers is None:
        answers = {f"q-{q['id']}": str(q["options"][i]["value"]) for i, q in enumerate(QUESTIONS)}
    scenario = json.dumps({"responses": responses, "answers": answers})
    result = subprocess.run(["node", str(tmp_path / "harness.js"), str(tmp_path / "page.js"), scenario],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
MYSFITS_URL = MYSFITS_API + "/mysfits"
RECOMMEND_URL = RECOMMENDATIONS_API + "/recommendations"
GRETTA = next(m for m in MYSFITS if m["name"] == "Gretta")


@needs_node
def test_page_lists_mysfits_and_shows_the_recommended_one(tmp_path):
    seen = run_page(tmp_path, {
        MYSFITS_URL: [200, {"mysfits": MYSFITS[:4]}],
        RECOMMEND_URL: [200, {"recommendedMysfit": GRETTA["mysfitId"]}],
    })
    get, post = seen["requests"]
    assert (get["url"], get["method"], get.get("body")) == (MYSFITS_URL, "GET", None)
    assert post["url"] == RECOMMEND_URL and post["method"] == "POST"
    assert json.loads(post["body"]) == {"entry": [1, 2, 3, 4, 5]}
    assert seen["cards"] == 4
    assert seen["mysfitsError"]["hidden"]
    assert f"We recommend {GRETTA['name']} the {GRETTA['species']}!" in seen["recommendation"]["text"]
    assert seen["recommendationError"]["hidden"]


@needs_node
def test_page_shows_api_errors_and_falls_back_to_the_built_in_list(tmp_path):
    seen = run_page(tmp_path, {
        MYSFITS_URL: [500, {"message": "backend down"}],
        RECOMMEND_URL: [503, {"message": "recommendation model failed: ThrottlingException"}],
    })
    assert not seen["mysfitsError"]["hidden"]
    assert "backend down" in seen["mysfitsError"]["text"]
    assert seen["cards"] == len(MYSFITS)
    assert not seen["recommendationError"]["hidden"]
    assert "HTTP 503: recommendation model failed" in seen["recommendationError"]["text"]
    assert seen["recommendation"]["text"] == ""


@needs_node
def test_page_asks_for_every_answer_before_posting(tmp_path):
    seen = run_page(tmp_path, {MYSFITS_URL: [200, MYSFITS]}, answers={"q-age": "3"})
    assert [r["url"] for r in seen["requests"]] == [MYSFITS_URL]
    assert seen["cards"] == len(MYSFITS)
    assert "answer every question" in seen["recommendationError"]["text"]

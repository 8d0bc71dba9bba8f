"""`mysfits demo` on a stack of its own: where its page goes, and that it leaves another stack's page alone."""

from __future__ import annotations

from mysfits_cli.local import seed as local_seed
from mysfits_cli.steps.demo import DEMO_STACK, _site


def test_the_demo_publishes_on_the_local_clouds_site_unless_it_shows_another_stacks_page(aws, make_ctx, monkeypatch,
                                                                                          capsys):
    """The site in the python branch's layout (the e2e demo meets python-cdk's, the default)."""
    monkeypatch.setenv(local_seed.SITE_LAYOUT_VARIABLE, "website")
    seeded = local_seed.seed("us-east-1")
    demo = make_ctx(stack=DEMO_STACK)
    assert _site(demo) == (seeded["bucket"], [])  # the workshop's own page: the demo's goes there, and is put back

    users_page = (b'<html><head><meta name="generator" content="mysfits"><meta name="mysfits:stack" content="mysfits">'
                  b'<meta name="mysfits:region" content="us-east-1"></head></html>')
    demo.aws.client("s3").put_object(Bucket=seeded["bucket"], Key="index.html", Body=users_page)
    assert _site(demo) == (seeded["bucket"], ["web"])
    assert ("The site shows the page of stack mysfits in us-east-1: the demo leaves it as it is"
            in " ".join(capsys.readouterr().err.split()))

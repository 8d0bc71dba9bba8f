"""The instance-type table by region and its reader."""

from __future__ import annotations

import botocore.session
import pytest

from mysfits_cli import instance_types
from mysfits_cli.instance_types import offered, suggest

NEWER_REGIONS = ("il-central-1", "ca-west-1", "ap-southeast-4", "eu-central-2", "me-central-1", "af-south-1")


@pytest.mark.parametrize("region", NEWER_REGIONS)
def test_newer_regions_offer_current_types_only(region):
    assert not offered("notebook", "ml.t2.medium", region)
    assert not offered("training", "ml.m4.xlarge", region)
    assert not offered("hosting", "ml.m4.xlarge", region)
    assert offered("notebook", "ml.t3.medium", region)
    assert offered("training", "ml.m5.2xlarge", region)
    assert offered("hosting", "ml.m5.xlarge", region)


def test_older_regions_still_offer_the_workshops_types():
    assert offered("notebook", "ml.t2.medium", "us-east-1")
    assert offered("hosting", "ml.m4.xlarge", "us-east-1")
    assert offered("training", "ml.m5.2xlarge", "us-east-1")


def test_some_older_regions_lack_one_family():
    assert offered("notebook", "ml.t2.medium", "eu-west-3") and not offered("hosting", "ml.m4.xlarge", "eu-west-3")
    assert not offered("notebook", "ml.t2.medium", "eu-north-1") and not offered("hosting", "ml.m4.xlarge", "eu-north-1")


def test_a_type_a_use_does_not_take_is_never_offered():
    assert not offered("training", "ml.t2.medium", "us-east-1")


def test_what_the_table_does_not_cover_is_not_refused():
    assert offered("hosting", "ml.g5.xlarge", "il-central-1")
    assert offered("notebook", "ml.t2.medium", "xx-nowhere-1")


@pytest.mark.parametrize(("use", "wanted", "region", "expected"), [
    ("notebook", "ml.t2.medium", "il-central-1", "ml.t3.medium"),
    ("hosting", "ml.m4.xlarge", "il-central-1", "ml.m5.xlarge"),
    ("hosting", "ml.m4.10xlarge", "ca-west-1", "ml.m5.12xlarge"),
    ("hosting", "ml.m4.16xlarge", "ca-west-1", "ml.m5.24xlarge"),
    ("training", "ml.c4.8xlarge", "ap-southeast-4", "ml.c5.9xlarge"),
    ("training", "ml.t2.medium", "us-east-1", "ml.t3.medium"),
    ("hosting", "ml.m4.xlarge", "us-east-1", "ml.m4.xlarge"),
    ("notebook", "ml.m5.xlarge", "il-central-1", "ml.m5.xlarge"),
])
def test_suggest_the_nearest_current_type(use, wanted, region, expected):
    assert suggest(use, wanted, region) == expected


def test_no_suggestion_without_a_successor():
    assert suggest("training", "ml.t3.medium", "us-east-1") == "ml.t3.medium"
    assert suggest("notebook", "ml.m5.large", "us-east-1") is None  # not a notebook type, no successor


def test_the_table_names_its_sources_and_date_and_knows_sagemakers_regions():
    table = instance_types._table()
    assert table["retrieved"] and table["sources"]
    assert instance_types.source().startswith("sagemaker-instance-types.json (retrieved ")
    session = botocore.session.get_session()
    assert set(table["regions"]) == set(session.get_available_regions("sagemaker"))
    for uses in table["regions"].values():
        assert set(uses) == set(instance_types.USES)
        for use, families in uses.items():
            assert families and all(instance_types.types_for(use, family) for family in families)


def test_an_unknown_use_is_an_error():
    with pytest.raises(ValueError, match="use must be one of"):
        offered("batch", "ml.m5.xlarge", "us-east-1")

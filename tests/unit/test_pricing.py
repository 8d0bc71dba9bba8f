"""The shipped price table, lookups, accrued cost, display formats and live prices from the Price List API.

moto has no Price List (`pricing`) backend, so live prices are tested with botocore's Stubber on a
real `pricing` client, answering with get_products pages shaped like AWS's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from mysfits_cli import pricing, reference
from mysfits_cli.aws import known_regions
from mysfits_cli.errors import MysfitsError

# A made-up rate, so tests never stand in for a real price.
SYNTHETIC_RATE = 0.5
START = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def table():
    return reference.load(pricing.TABLE)


def table_rows():
    for use, types in table()["sagemaker"].items():
        for instance_type, regions in types.items():
            for region, rate in regions.items():
                yield use, instance_type, region, rate


# --- the shipped table ----------------------------------------------------------------------------


def test_table_carries_its_date_and_source():
    data = table()
    assert date.fromisoformat(data["as_of"]) <= date.today()
    assert data["source"] and data["method"] and data["fallback"]
    assert data["currency"] == "USD"


def test_table_has_the_three_uses_and_only_them():
    assert set(table()["sagemaker"]) == set(pricing.COMPONENTS)


def test_every_row_is_a_positive_hourly_price_for_an_ml_instance():
    rows = list(table_rows())
    assert rows
    for use, instance_type, region, rate in rows:
        assert isinstance(rate, (int, float)) and not isinstance(rate, bool), (use, instance_type, region)
        assert rate > 0, (use, instance_type, region)
        assert re.fullmatch(r"ml\.[a-z0-9]+\.[0-9]*x?large|ml\.[a-z0-9]+\.medium", instance_type), instance_type


def test_every_region_is_a_real_region_with_a_knn_image():
    knn_regions = set(reference.load("knn-image-registries.json")["registries"])
    regions = {region for _, _, region, _ in table_rows()} | {row["region"] for row in table()["reference"]}
    assert regions <= known_regions()
    assert {region for _, _, region, _ in table_rows()} <= knn_regions


def test_no_instance_type_is_both_priced_and_listed_as_not_established():
    missing = table()["not_established"]
    for use, types in table()["sagemaker"].items():
        assert not set(types) & set(missing[use]), use


def test_reference_rows_are_positive_and_sourced():
    rows = pricing.reference_charges()
    assert rows
    for row in rows:
        assert row["usd"] > 0 and row["per"] and row["source"]
        date.fromisoformat(row["as_of"])


def test_table_source_is_one_line_with_the_date():
    line = pricing.table_source()
    assert "\n" not in line
    assert line.startswith(f"SageMaker on-demand prices of {table()['as_of']} (")


# --- lookups ---------------------------------------------------------------------------------------


def test_hourly_multiplies_the_instance_price_by_the_count():
    one = pricing.hourly("training", "ml.m5.xlarge", "us-east-1")
    three = pricing.hourly("training", "ml.m5.xlarge", "us-east-1", count=3)
    assert one.usd_per_instance_hour == three.usd_per_instance_hour == 0.23
    assert three.usd_per_hour == pytest.approx(0.69)
    assert (three.count, three.use, three.instance_type, three.region) == (3, "training", "ml.m5.xlarge", "us-east-1")
    assert three.origin == "table" and three.as_of == table()["as_of"]
    assert three.source == f"shipped table of {table()['as_of']}"


def test_zero_instances_cost_nothing():
    assert pricing.hourly("notebook", "ml.t3.medium", "us-east-1", count=0).usd_per_hour == 0


def test_each_region_has_its_own_price():
    assert pricing.hourly("notebook", "ml.t3.medium", "us-east-1").usd_per_hour == 0.05
    assert pricing.hourly("notebook", "ml.t3.medium", "ap-south-1").usd_per_hour == 0.054


def test_a_missing_region_has_no_price_rather_than_us_east_1s():
    assert pricing.hourly("training", "ml.m5.xlarge", "eu-west-1") is None


def test_a_missing_instance_type_or_use_has_no_price():
    assert pricing.hourly("training", "ml.m5.2xlarge", "eu-west-1") is None
    assert pricing.hourly("hosting", "ml.m4.xlarge", "ap-south-1") is None
    assert pricing.hourly("training", "ml.t3.medium", "us-east-1") is None


def test_the_workshop_defaults_have_cross_checked_estimates_in_us_east_1_said_as_such():
    for use, instance_type, usd in (("notebook", "ml.t2.medium", 0.0464), ("training", "ml.m5.2xlarge", 0.461),
                                    ("hosting", "ml.m4.xlarge", 0.28)):
        price = pricing.hourly(use, instance_type, "us-east-1")
        assert price.usd_per_hour == usd and price.origin == "cross-checked"
        assert price.source.startswith("estimate from public SageMaker price tables")
    assert pricing.hourly("notebook", "ml.t3.medium", "us-east-1").origin == "table"  # the Price List comes first


def test_an_unknown_use_or_negative_count_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown use"):
        pricing.hourly("inference", "ml.m5.xlarge", "us-east-1")
    with pytest.raises(ValueError, match="negative"):
        pricing.hourly("training", "ml.m5.xlarge", "us-east-1", count=-1)


def test_total_per_hour_adds_the_known_prices_only():
    prices = [
        pricing.hourly("notebook", "ml.t3.medium", "us-east-1"),
        pricing.hourly("training", "ml.m5.xlarge", "us-east-1", count=2),
        pricing.hourly("hosting", "ml.m4.xlarge", "eu-west-1"),
    ]
    assert prices[2] is None
    assert pricing.total_per_hour(prices) == pytest.approx(0.05 + 0.46)
    assert pricing.total_per_hour([]) == 0


# --- accrued cost ----------------------------------------------------------------------------------


def test_since_bills_the_hourly_rate_per_second():
    price = pricing.hourly("training", "ml.m5.xlarge", "us-east-1", count=2)
    assert pricing.since(price, START, START + timedelta(minutes=90)) == pytest.approx(0.69)
    assert pricing.since(price, START, START + timedelta(seconds=1)) == pytest.approx(0.46 / 3600)


def test_since_counts_whole_seconds_only():
    price = pricing.hourly("training", "ml.m5.xlarge", "us-east-1")
    assert pricing.since(price, START, START + timedelta(seconds=59, microseconds=999_999)) == pytest.approx(0.23 * 59 / 3600)


def test_since_takes_naive_times_as_utc_and_converts_other_zones():
    price = pricing.hourly("notebook", "ml.m5.xlarge", "us-east-1")
    naive_start = START.replace(tzinfo=None)
    plus_two = timezone(timedelta(hours=2))
    assert pricing.since(price, naive_start, START + timedelta(hours=1)) == pytest.approx(0.23)
    assert pricing.since(price, START, (START + timedelta(hours=2)).astimezone(plus_two)) == pytest.approx(0.46)


def test_since_is_never_negative():
    price = pricing.hourly("notebook", "ml.m5.xlarge", "us-east-1")
    assert pricing.since(price, START, START - timedelta(hours=1)) == 0


# --- display ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rate, text",
    [(0.24, "$0.24/h"), (0.05, "$0.05/h"), (0.0464, "$0.0464/h"), (0.922, "$0.922/h"), (1, "$1.00/h"), (1234.5, "$1,234.50/h"), (0, "$0.00/h")],
)
def test_format_rate(rate, text):
    assert pricing.format_rate(rate) == text


def test_format_rate_of_a_price_and_of_no_price():
    assert pricing.format_rate(pricing.hourly("training", "ml.m5.xlarge", "us-east-1", count=2)) == "$0.46/h"
    assert pricing.format_rate(None) == pricing.UNKNOWN


@pytest.mark.parametrize(
    "usd, text",
    [(1.234, "$1.23"), (0, "$0.00"), (0.004, "<$0.01"), (0.005, "$0.01"), (1234.5, "$1,234.50"), (-2.5, "-$2.50")],
)
def test_format_money(usd, text):
    assert pricing.format_money(usd) == text


def test_importing_pricing_does_not_import_boto3():
    code = "import sys, mysfits_cli.pricing; sys.exit(1 if 'boto3' in sys.modules or 'botocore' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --- live prices -----------------------------------------------------------------------------------


LOCATIONS = {"us-east-1": "US East (N. Virginia)", "ap-south-1": "Asia Pacific (Mumbai)"}


def product(instance_type, component, region, usd, usage, sku="K3RQ4ZQ8CNT9YA8D"):
    """One PriceList entry as the Price List API returns it: a JSON string."""
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "servicecode": "AmazonSageMaker",
                    "location": LOCATIONS[region],
                    "locationType": "AWS Region",
                    "regionCode": region,
                    "instanceName": instance_type,
                    "instanceType": f"{instance_type}-{component}",
                    "component": component,
                    "usagetype": usage,
                    "operation": "RunInstance",
                    "vCpu": "4",
                    "memory": "16 GiB",
                    "servicename": "Amazon SageMaker",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": f"${usd} per {component} {instance_type} instance hour",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": f"{usd:.10f}"},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-09-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20260924235959",
            "publicationDate": "2026-09-24T23:59:59Z",
        }
    )


def request(region, instance_type, component, token=None):
    params = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
            {"Type": "TERM_MATCH", "Field": "component", "Value": component},
        ],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def page(*entries, token=None):
    body = {"FormatVersion": "aws_v1", "PriceList": list(entries)}
    if token:
        body["NextToken"] = token
    return body


class FakeSession:
    """Hands out one stubbed pricing client and records how it was asked for."""

    def __init__(self, client):
        self._client = client
        self.calls = []

    def client(self, service, region_name=None, config=None):
        self.calls.append((service, region_name))
        return self._client


@pytest.fixture
def stubbed():
    client = boto3.client("pricing", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    with Stubber(client) as stubber:
        yield FakeSession(client), stubber
        stubber.assert_no_pending_responses()


NOW = datetime(2026, 11, 2, 9, 30, 15, tzinfo=timezone.utc)


def test_refresh_live_fetches_parses_and_caches(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(product("ml.m5.xlarge", "Training", "us-east-1", 0.23, "USE1-Train:ml.m5.xlarge")),
                         request("us-east-1", "ml.m5.xlarge", "Training"))
    prices = pricing.refresh_live(session, "us-east-1", ["ml.m5.xlarge"], ["training"], tmp_path, now=NOW)

    assert session.calls == [("pricing", "us-east-1")]
    (price,) = prices
    assert (price.use, price.instance_type, price.region, price.count) == ("training", "ml.m5.xlarge", "us-east-1", 1)
    assert price.usd_per_hour == 0.23 and price.origin == "live"
    assert price.source == "AWS Price List API, fetched 2026-11-02T09:30:15Z"
    cached = json.loads((tmp_path / pricing.LIVE_CACHE).read_text())
    assert cached["prices"] == [
        {"use": "training", "instance_type": "ml.m5.xlarge", "region": "us-east-1", "usd_per_instance_hour": 0.23, "fetched_at": "2026-11-02T09:30:15Z"}
    ]


def test_hourly_prefers_a_cached_live_price_only_when_asked(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(product("ml.m5.xlarge", "Training", "us-east-1", SYNTHETIC_RATE, "USE1-Train:ml.m5.xlarge")))
    stubber.add_response("get_products", page(product("ml.m4.xlarge", "Hosting", "us-east-1", SYNTHETIC_RATE, "USE1-Host:ml.m4.xlarge")))
    pricing.refresh_live(session, "us-east-1", ["ml.m5.xlarge"], ["training"], tmp_path, now=NOW)
    pricing.refresh_live(session, "us-east-1", ["ml.m4.xlarge"], ["hosting"], tmp_path, now=NOW)

    live = pricing.hourly("training", "ml.m5.xlarge", "us-east-1", count=2, live_dir=tmp_path)
    assert (live.origin, live.usd_per_hour, live.count) == ("live", 2 * SYNTHETIC_RATE, 2)
    assert pricing.hourly("hosting", "ml.m4.xlarge", "us-east-1", live_dir=tmp_path).origin == "live"
    assert pricing.hourly("training", "ml.m5.xlarge", "us-east-1").origin == "table"
    # Not cached live: the table answers.
    assert pricing.hourly("notebook", "ml.t3.medium", "us-east-1", live_dir=tmp_path).origin == "table"


def test_refresh_live_follows_next_token_and_asks_each_pair(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(token="page-2"), request("ap-south-1", "ml.m5.xlarge", "Notebook"))
    stubber.add_response("get_products", page(product("ml.m5.xlarge", "Notebook", "ap-south-1", 0.242, "APS3-Notebk:ml.m5.xlarge")),
                         request("ap-south-1", "ml.m5.xlarge", "Notebook", token="page-2"))
    stubber.add_response("get_products", page(product("ml.m5.xlarge", "Training", "ap-south-1", 0.242, "APS3-Train:ml.m5.xlarge")),
                         request("ap-south-1", "ml.m5.xlarge", "Training"))
    prices = pricing.refresh_live(session, "ap-south-1", ["ml.m5.xlarge", "ml.m5.xlarge"], ["notebook", "training"], tmp_path, now=NOW)
    assert [(p.use, p.usd_per_hour) for p in prices] == [("notebook", 0.242), ("training", 0.242)]
    assert session.calls == [("pricing", "ap-south-1")]


def test_refresh_live_leaves_out_pairs_aws_does_not_price(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(product("ml.m5.xlarge", "Training", "us-east-1", 0.23, "USE1-Train:ml.m5.xlarge")))
    stubber.add_response("get_products", page())
    prices = pricing.refresh_live(session, "us-east-1", ["ml.m5.xlarge", "ml.t3.medium"], ["training"], tmp_path, now=NOW)
    assert [p.instance_type for p in prices] == ["ml.m5.xlarge"]


def test_refresh_live_with_no_product_at_all_is_an_error_and_caches_nothing(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page())
    with pytest.raises(MysfitsError, match=r"no on-demand SageMaker price in us-east-1 for ml\.x9\.huge \(hosting\)"):
        pricing.refresh_live(session, "us-east-1", ["ml.x9.huge"], ["hosting"], tmp_path, now=NOW)
    assert not (tmp_path / pricing.LIVE_CACHE).exists()


def test_refresh_live_keeps_earlier_entries_in_the_cache(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(product("ml.m5.xlarge", "Training", "us-east-1", 0.23, "USE1-Train:ml.m5.xlarge")))
    stubber.add_response("get_products", page(product("ml.m5.xlarge", "Notebook", "ap-south-1", 0.242, "APS3-Notebk:ml.m5.xlarge")))
    pricing.refresh_live(session, "us-east-1", ["ml.m5.xlarge"], ["training"], tmp_path, now=NOW)
    pricing.refresh_live(session, "ap-south-1", ["ml.m5.xlarge"], ["notebook"], tmp_path, now=NOW + timedelta(days=1))
    assert pricing.hourly("training", "ml.m5.xlarge", "us-east-1", live_dir=tmp_path).as_of == "2026-11-02T09:30:15Z"
    assert pricing.hourly("notebook", "ml.m5.xlarge", "ap-south-1", live_dir=tmp_path).as_of == "2026-11-03T09:30:15Z"


def test_the_exact_usage_type_settles_two_different_rates(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(
        product("ml.m4.xlarge", "Hosting", "us-east-1", SYNTHETIC_RATE, "USE1-Host:ml.m4.xlarge", sku="AAAAAAAAAAAAAAAA"),
        product("ml.m4.xlarge", "Hosting", "us-east-1", 2 * SYNTHETIC_RATE, "USE1-Host:ml.m4.xlarge-Special", sku="BBBBBBBBBBBBBBBB"),
    ))
    (price,) = pricing.refresh_live(session, "us-east-1", ["ml.m4.xlarge"], ["hosting"], tmp_path, now=NOW)
    assert price.usd_per_hour == SYNTHETIC_RATE


def test_rates_that_cannot_be_told_apart_are_an_error(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(
        product("ml.m4.xlarge", "Hosting", "us-east-1", SYNTHETIC_RATE, "USE1-Host:ml.m4.xlarge", sku="AAAAAAAAAAAAAAAA"),
        product("ml.m4.xlarge", "Hosting", "us-east-1", 2 * SYNTHETIC_RATE, "USE1-Host:ml.m4.xlarge", sku="BBBBBBBBBBBBBBBB"),
    ))
    with pytest.raises(MysfitsError, match="2 different prices for ml.m4.xlarge"):
        pricing.refresh_live(session, "us-east-1", ["ml.m4.xlarge"], ["hosting"], tmp_path, now=NOW)


def test_rates_with_no_exact_usage_type_are_an_error_too(stubbed, tmp_path):
    session, stubber = stubbed
    stubber.add_response("get_products", page(
        product("ml.m4.xlarge", "Hosting", "us-east-1", SYNTHETIC_RATE, "USE1-Host:ml.m4.xlarge-A", sku="AAAAAAAAAAAAAAAA"),
        product("ml.m4.xlarge", "Hosting", "us-east-1", 2 * SYNTHETIC_RATE, "USE1-Host:ml.m4.xlarge-B", sku="BBBBBBBBBBBBBBBB"),
    ))
    with pytest.raises(MysfitsError, match="2 different prices"):
        pricing.refresh_live(session, "us-east-1", ["ml.m4.xlarge"], ["hosting"], tmp_path, now=NOW)


@pytest.mark.parametrize(
    "code, message",
    [
        ("AccessDeniedException", "need pricing:GetProducts"),
        ("ThrottlingException", "throttling"),
        ("InvalidParameterException", r"refused the request \(InvalidParameterException: bad filter\)"),
    ],
)
def test_client_errors_become_one_line_messages(stubbed, tmp_path, code, message):
    session, stubber = stubbed
    stubber.add_client_error("get_products", service_error_code=code, service_message="bad filter", http_status_code=400)
    with pytest.raises(MysfitsError, match=message) as info:
        pricing.refresh_live(session, "us-east-1", ["ml.m5.xlarge"], ["training"], tmp_path, now=NOW)
    assert "\n" not in str(info.value)


class RaisingClient:
    def __init__(self, exc):
        self.exc = exc

    def get_products(self, **kwargs):
        raise self.exc


@pytest.mark.parametrize(
    "exc, message",
    [
        (NoCredentialsError(), "No AWS credentials"),
        (EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com"), "Could not reach"),
    ],
)
def test_missing_credentials_and_no_network_become_one_line_messages(tmp_path, exc, message):
    with pytest.raises(MysfitsError, match=message) as info:
        pricing.refresh_live(FakeSession(RaisingClient(exc)), "us-east-1", ["ml.m5.xlarge"], ["training"], tmp_path, now=NOW)
    assert "\n" not in str(info.value)


def test_an_unreadable_cache_is_ignored(tmp_path):
    (tmp_path / pricing.LIVE_CACHE).write_text("{not json")
    assert pricing.hourly("training", "ml.m5.xlarge", "us-east-1", live_dir=tmp_path).origin == "table"
    assert pricing.hourly("training", "ml.m5.xlarge", "us-east-1", live_dir=tmp_path / "absent").origin == "table"


@pytest.mark.parametrize(
    "region, endpoint",
    [("us-east-1", "us-east-1"), ("us-west-2", "us-east-1"), ("sa-east-1", "us-east-1"), ("ca-central-1", "us-east-1"),
     ("eu-west-1", "eu-central-1"), ("il-central-1", "eu-central-1"), ("af-south-1", "eu-central-1"),
     ("ap-northeast-1", "ap-south-1"), ("me-south-1", "ap-south-1")],
)
def test_the_price_list_endpoint_is_the_nearest_of_three(region, endpoint):
    assert pricing.pricing_endpoint_region(region) == endpoint

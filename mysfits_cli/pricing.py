"""What SageMaker instances cost: the shipped price table, and live prices only when asked.

The shipped table (`data/prices.json`) holds AWS on-demand prices in USD per instance-hour, per
use (`notebook` instances, `training` jobs, real-time `hosting`), per instance type and per region,
with the date of the AWS price list it was read from (`table_source()` says which). A region,
instance type or use missing from the table has no price: `hourly` returns None rather than
another region's figure, and callers show "price unknown".

`refresh_live` asks the AWS Price List API (the `pricing` client; needs credentials allowed
`pricing:GetProducts`) for the given instance types and uses in one region and caches the answers
in `prices-live.json` inside a directory the caller chooses. `hourly(..., live_dir=that directory)`
then prefers a cached live price. Nothing here touches the network unless `refresh_live` is called.

SageMaker bills instances per second, so `since` is the hourly rate times the whole seconds run.
Only instance-hours are priced; the table's `reference` rows (API Gateway requests, Lambda) are
for display and are not part of any hourly total.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from . import reference
from .errors import MysfitsError

TABLE = "prices.json"
LIVE_CACHE = "prices-live.json"
# The Price List API's name for each use, and the usage-type prefix that marks it.
COMPONENTS = {"notebook": "Notebook", "training": "Training", "hosting": "Hosting"}
USAGE_PREFIXES = {"notebook": "Notebk", "training": "Train", "hosting": "Host"}
UNKNOWN = "price unknown"


@dataclass(frozen=True)
class Price:
    """The on-demand price of `count` instances of one type, for one use, in one region."""

    use: str
    instance_type: str
    region: str
    count: int
    usd_per_instance_hour: float
    origin: str  # "table", "cross-checked" (public tables that agree) or "live"
    as_of: str  # the table's date, or the live price's fetch time (ISO 8601, UTC)

    @property
    def usd_per_hour(self) -> float:
        return self.usd_per_instance_hour * self.count

    @property
    def source(self) -> str:
        if self.origin == "live":
            return f"AWS Price List API, fetched {self.as_of}"
        if self.origin == "cross-checked":
            return f"estimate from {_table()['cross_checked']['source']} ({self.as_of})"
        return f"shipped table of {self.as_of}"

    def with_count(self, count: int) -> Price:
        return Price(self.use, self.instance_type, self.region, _checked_count(count),
                     self.usd_per_instance_hour, self.origin, self.as_of)


def hourly(use: str, instance_type: str, region: str, count: int = 1, *, live_dir: Path | str | None = None) -> Price | None:
    """The price of `count` running instances, or None when neither the cache nor the table has it."""
    _check_use(use)
    count = _checked_count(count)
    if live_dir is not None:
        cached = _live_entries(Path(live_dir)).get((use, instance_type, region))
        if cached is not None:
            return cached.with_count(count)
    rate = _table()["sagemaker"][use].get(instance_type, {}).get(region)
    if rate is not None:
        return Price(use, instance_type, region, count, float(rate), "table", _table()["as_of"])
    checked = _table()["cross_checked"]
    rate = checked["sagemaker"][use].get(instance_type, {}).get(region)
    if rate is None:
        return None
    return Price(use, instance_type, region, count, float(rate), "cross-checked", checked["as_of"])


def since(price: Price, started_at: datetime, now: datetime | None = None) -> float:
    """USD accrued from `started_at` to `now`, billed per whole second; never negative."""
    now = now or datetime.now(timezone.utc)
    seconds = math.floor((_as_utc(now) - _as_utc(started_at)).total_seconds())
    return price.usd_per_hour * max(seconds, 0) / 3600


def total_per_hour(prices: Iterable[Price | None]) -> float:
    """The hourly sum of the prices that are known (unknown ones are left out, not guessed)."""
    return sum(p.usd_per_hour for p in prices if p is not None)


def table_source() -> str:
    table = _table()
    return f"SageMaker on-demand prices of {table['as_of']} ({table['source']})"


def reference_charges() -> list[dict[str, Any]]:
    """Non-instance charges (requests, GB-seconds) for display only."""
    return list(_table()["reference"])


def format_rate(price: Price | float | None) -> str:
    """'$0.23/h' for a Price or a USD-per-hour number; UNKNOWN for None."""
    if price is None:
        return UNKNOWN
    rate = price.usd_per_hour if isinstance(price, Price) else price
    return f"{_dollars(rate)}/h"


def format_money(usd: float) -> str:
    """'$1.23'; a positive amount under a cent reads '<$0.01' rather than '$0.00'."""
    if 0 < usd < 0.005:
        return "<$0.01"
    sign = "-" if usd < 0 else ""
    return f"{sign}${abs(usd):,.2f}"


def refresh_live(session: Any, region: str, instance_types: Iterable[str], uses: Iterable[str],
                 cache_dir: Path | str, now: datetime | None = None) -> list[Price]:
    """Fetch on-demand prices from the AWS Price List API and merge them into the cache.

    Returns one single-instance Price per (use, instance type) that AWS prices in `region`;
    pairs AWS has no product for are left out. Raises MysfitsError, with one line saying what to
    do, on missing credentials, denied access, throttling or when no pair at all has a price.
    """
    types = list(dict.fromkeys(instance_types))
    pairs = [(_check_use(use), instance_type) for use in dict.fromkeys(uses) for instance_type in types]
    fetched_at = _iso(now or datetime.now(timezone.utc))
    client = _pricing_client(session, region)
    prices = []
    for use, instance_type in pairs:
        rate = _fetch_rate(client, use, instance_type, region)
        if rate is not None:
            prices.append(Price(use, instance_type, region, 1, rate, "live", fetched_at))
    if not prices:
        wanted = ", ".join(f"{t} ({u})" for u, t in pairs)
        raise MysfitsError(f"The AWS Price List API has no on-demand SageMaker price in {region} for {wanted}")
    _write_live(Path(cache_dir), prices)
    return prices


def pricing_endpoint_region(region: str) -> str:
    """The nearest of the three regions that serve the Price List API."""
    if region.startswith(("ap-", "me-")):
        return "ap-south-1"
    if region.startswith(("eu-", "af-", "il-")):
        return "eu-central-1"
    return "us-east-1"


def _table() -> dict[str, Any]:
    return reference.load(TABLE)


def _check_use(use: str) -> str:
    if use not in COMPONENTS:
        raise ValueError(f"unknown use {use!r}: expected one of {', '.join(COMPONENTS)}")
    return use


def _checked_count(count: int) -> int:
    if count < 0:
        raise ValueError(f"instance count must not be negative, got {count}")
    return count


def _as_utc(moment: datetime) -> datetime:
    # Naive datetimes are taken as UTC, the way boto3 and the state file record times.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dollars(amount: float) -> str:
    text = f"{amount:.4f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${int(whole):,}.{cents.ljust(2, '0')}"


def _pricing_client(session: Any, region: str) -> Any:
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30)
    return session.client("pricing", region_name=pricing_endpoint_region(region), config=config)


def _fetch_rate(client: Any, use: str, instance_type: str, region: str) -> float | None:
    filters = {"regionCode": region, "instanceName": instance_type, "component": COMPONENTS[use]}
    items = _get_products(client, filters)
    return _choose_rate(items, use, instance_type, region)


def _get_products(client: Any, filters: dict[str, str]) -> list[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    request = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    items: list[dict[str, Any]] = []
    try:
        while True:
            page = client.get_products(**request)
            items.extend(json.loads(entry) for entry in page.get("PriceList", []))
            if not page.get("NextToken"):
                return items
            request["NextToken"] = page["NextToken"]
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise MysfitsError("No AWS credentials for the Price List API: set AWS_PROFILE or run `aws configure`, or use the shipped prices") from exc
    except ClientError as exc:
        raise MysfitsError(_client_error_message(exc)) from exc
    except BotoCoreError as exc:
        raise MysfitsError(f"Could not reach the AWS Price List API ({exc}); the shipped prices still apply") from exc


def _client_error_message(exc: Any) -> str:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Unknown"), error.get("Message", "")
    if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
        return "Not allowed to read AWS prices: the credentials need pricing:GetProducts (or use the shipped prices)"
    if code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
        return "The AWS Price List API is throttling requests: wait a minute and refresh again"
    return f"The AWS Price List API refused the request ({code}: {message})"


def _choose_rate(items: list[dict[str, Any]], use: str, instance_type: str, region: str) -> float | None:
    """The one hourly on-demand rate among the products; None when there is none."""
    rates = {rate for item in items for rate in _hourly_rates(item)}
    if len(rates) > 1:
        exact = [item for item in items if _usage_type(item) == f"{USAGE_PREFIXES[use]}:{instance_type}"]
        rates = {rate for item in exact for rate in _hourly_rates(item)} or rates
    if len(rates) > 1:
        raise MysfitsError(f"The AWS Price List API gave {len(rates)} different prices for {instance_type} ({use}) in {region}; not caching them")
    return rates.pop() if rates else None


def _hourly_rates(item: dict[str, Any]) -> list[float]:
    dimensions = (d for term in item.get("terms", {}).get("OnDemand", {}).values()
                  for d in term.get("priceDimensions", {}).values())
    rates = (float(d.get("pricePerUnit", {}).get("USD", 0)) for d in dimensions if d.get("unit", "").lower() in ("hrs", "hours"))
    return [rate for rate in rates if rate > 0]


def _usage_type(item: dict[str, Any]) -> str:
    """The usage type without its region prefix: 'USE1-Host:ml.m5.xlarge' -> 'Host:ml.m5.xlarge'."""
    usage = item.get("product", {}).get("attributes", {}).get("usagetype", "")
    head, dash, tail = usage.partition("-")
    return tail if dash and ":" not in head else usage


def _live_entries(cache_dir: Path) -> dict[tuple[str, str, str], Price]:
    """The cached live prices; an absent or unreadable cache is simply empty (the table applies)."""
    try:
        rows = json.loads((cache_dir / LIVE_CACHE).read_text(encoding="utf-8"))["prices"]
        prices = [Price(r["use"], r["instance_type"], r["region"], 1, float(r["usd_per_instance_hour"]), "live", r["fetched_at"])
                  for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {(p.use, p.instance_type, p.region): p for p in prices}


def _write_live(cache_dir: Path, prices: list[Price]) -> None:
    entries = _live_entries(cache_dir)
    entries.update({(p.use, p.instance_type, p.region): p for p in prices})
    rows = [{"use": p.use, "instance_type": p.instance_type, "region": p.region,
             "usd_per_instance_hour": p.usd_per_instance_hour, "fetched_at": p.as_of}
            for p in sorted(entries.values(), key=lambda p: (p.region, p.use, p.instance_type))]
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{LIVE_CACHE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"source": "AWS Price List API, AmazonSageMaker, on-demand", "prices": rows}, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, cache_dir / LIVE_CACHE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""What the workshop's earlier modules built, so the local cloud has something to point at.

A VPC with two subnets in two zones, the Fargate service's network load balancer, the Cognito
user pool with the app client the site signs in with, the site, and the DynamoDB table of mysfits.
Every step finds before it creates, so seeding twice changes nothing.

The site comes in either of the workshop's layouts, chosen by MYSFITS_LOCAL_SITE:
  cloudfront (default)  python-cdk, the layout of this module's own workshop page: a private
                        bucket with the pages under web/, served by a CloudFront distribution
                        through an origin access identity (originPath /web, default root object
                        index.html);
  website               the python branch: a public S3 static website bucket.
Either way the bucket already holds the workshop's own index.html, as the earlier modules left it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import botocore.session

from .. import reference

ACCOUNT_ID = "123456789012"
STACK_TAG = {"Key": "mysfits:stack", "Value": "mysfits"}
NLB_NAME = "mysfits-nlb"
USER_POOL_NAME = "MysfitsUserPool"
USER_POOL_CLIENT_NAME = "MysfitsUserPoolClient"
# The workshop's CDK client lists no auth flows, so it gets Cognito's defaults.
USER_POOL_CLIENT_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
SITE_LAYOUTS = ("cloudfront", "website")
SITE_LAYOUT_VARIABLE = "MYSFITS_LOCAL_SITE"
DISTRIBUTION_COMMENT = "mythical-mysfits"
ORIGIN_ACCESS_IDENTITY = "E2MYSFITSWEBSITE"  # moto keeps the reference without the identity itself
WORKSHOP_PAGE = (b"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mythical Mysfits</title>"
                 b"</head><body><h1>Mythical Mysfits</h1><p>The workshop's own page.</p></body></html>\n")
TABLE_NAME = "MysfitsTable"
VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = ("10.0.0.0/24", "10.0.1.0/24")

# The workshop's table carried a description per mysfit; our data file does not.
_DESCRIPTIONS = {
    "Chimera": "A lion, a goat and a snake share one body and never one opinion.",
    "Cyclops": "Sees the world through one eye and still spots every snack.",
    "Dragon": "Hoards kind words instead of gold and breathes only warm hugs.",
    "Gorgon": "Keeps her sunglasses on at all times, for everyone's sake.",
    "Haetae": "An ancient guardian who judges right from wrong and naps in between.",
    "Yeti": "Hides in the snow, hates the cold, and loves a good snowball fight.",
    "Kraken": "Eight arms, all of them ready for a hug that is slightly too tight.",
    "Plesiosaurus": "Shy lake dweller who surfaces only for photos that come out blurry.",
    "Mandrake": "Screams when pulled from the ground, so please let it come out on its own.",
    "Pegasus": "Flies anywhere on feathered wings, always on time and always by the rules.",
    "Phoenix": "Bursts into flames now and then, and comes back with a brand new hairstyle.",
    "Troll": "Guards a bridge nobody crosses and charges a toll nobody pays.",
}


def site_layout() -> str:
    layout = os.environ.get(SITE_LAYOUT_VARIABLE) or SITE_LAYOUTS[0]
    if layout not in SITE_LAYOUTS:
        raise ValueError(f"{SITE_LAYOUT_VARIABLE}={layout!r}: use one of {', '.join(SITE_LAYOUTS)}")
    return layout


def bucket_name(account_id: str = ACCOUNT_ID, layout: str | None = None) -> str:
    """The site's bucket: named as CDK names it (python-cdk), or as the python branch does."""
    if (layout or site_layout()) == "cloudfront":
        return f"mythicalmysfits-website-bucket-{account_id}"
    return f"mysfits-website-{account_id}"


def table_item(mysfit: dict[str, Any]) -> dict[str, Any]:
    """One row of MysfitsTable in the workshop's attribute names (DynamoDB wire format)."""
    description = mysfit.get("description") or _DESCRIPTIONS.get(
        mysfit["species"], f"A {mysfit['species'].lower()} looking for a new home."
    )
    return {
        "MysfitId": {"S": mysfit["mysfitId"]},
        "Name": {"S": mysfit["name"]},
        "Species": {"S": mysfit["species"]},
        "Description": {"S": description},
        "Age": {"N": str(mysfit["age"])},
        "GoodEvil": {"S": mysfit["goodevil"]},
        "LawChaos": {"S": mysfit["lawchaos"]},
        "ThumbImageUri": {"S": mysfit["thumbImageUri"]},
        "ProfileImageUri": {"S": mysfit["profileImageUri"]},
        "Likes": {"N": "0"},
        "Adopted": {"BOOL": False},
    }


def seed(region: str, endpoint_url: str | None = None) -> dict[str, str]:
    """Create what is missing; return the ids of what is there."""
    # Fake credentials, and no AWS_PROFILE lookup: the caller's profile may not exist.
    botocore_session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region,
        botocore_session=botocore_session,
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    subnets = _network(client("ec2"), region)
    layout = site_layout()
    pool_id = _user_pool(client("cognito-idp"))
    bucket = _site_bucket(client("s3"), region, layout)
    return {
        "nlb_arn": _load_balancer(client("elbv2"), subnets),
        "user_pool_id": pool_id,
        "user_pool_client_id": _user_pool_client(client("cognito-idp"), pool_id),
        "site": layout,
        "bucket": bucket,
        "distribution_id": _distribution(client("cloudfront"), bucket) if layout == "cloudfront" else None,
        "table": _table(client("dynamodb")),
    }


def _network(ec2: Any, region: str) -> list[str]:
    tag_filter = [{"Name": "tag:mysfits:stack", "Values": ["mysfits"]}]
    vpcs = ec2.describe_vpcs(Filters=tag_filter)["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
    else:
        vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=[_tags("vpc", "mysfits-vpc")])["Vpc"]["VpcId"]
    existing = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    by_cidr = {s["CidrBlock"]: s["SubnetId"] for s in existing}
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnet_ids = []
    for cidr, zone in zip(SUBNET_CIDRS, zones or [f"{region}a", f"{region}b"]):
        if cidr not in by_cidr:
            by_cidr[cidr] = ec2.create_subnet(
                VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone,
                TagSpecifications=[_tags("subnet", f"mysfits-public-{zone}")],
            )["Subnet"]["SubnetId"]
        subnet_ids.append(by_cidr[cidr])
    return subnet_ids


def _load_balancer(elbv2: Any, subnets: list[str]) -> str:
    try:
        return elbv2.describe_load_balancers(Names=[NLB_NAME])["LoadBalancers"][0]["LoadBalancerArn"]
    except elbv2.exceptions.LoadBalancerNotFoundException:
        pass
    created = elbv2.create_load_balancer(
        Name=NLB_NAME, Subnets=subnets, Scheme="internet-facing", Type="network", Tags=[STACK_TAG]
    )
    return created["LoadBalancers"][0]["LoadBalancerArn"]


def _user_pool(cognito: Any) -> str:
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == USER_POOL_NAME:
                return pool["Id"]
    return cognito.create_user_pool(
        PoolName=USER_POOL_NAME, AutoVerifiedAttributes=["email"],
        UserPoolTags={STACK_TAG["Key"]: STACK_TAG["Value"]},
    )["UserPool"]["Id"]


def _user_pool_client(cognito: Any, pool_id: str) -> str:
    for client in cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]:
        if client["ClientName"] == USER_POOL_CLIENT_NAME:
            return client["ClientId"]
    return cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName=USER_POOL_CLIENT_NAME, GenerateSecret=False,
        ExplicitAuthFlows=USER_POOL_CLIENT_FLOWS,
    )["UserPoolClient"]["ClientId"]


def _site_bucket(s3: Any, region: str, layout: str) -> str:
    name = bucket_name(layout=layout)
    if name in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        return name
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [STACK_TAG]})
    s3.put_bucket_website(Bucket=name, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    if layout == "cloudfront":
        # Private: only CloudFront's origin access identity may read it.
        reader = {"CanonicalUser": f"cloudfront-origin-access-identity-{ORIGIN_ACCESS_IDENTITY}"}
        prefix = "web/"
    else:
        # As the workshop's first module left it: a static website anyone may read.
        reader, prefix = "*", ""
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "ReadForGetBucketObjects", "Effect": "Allow", "Principal": reader,
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}],
    }))
    s3.put_object(Bucket=name, Key=f"{prefix}index.html", Body=WORKSHOP_PAGE, ContentType="text/html")
    return name


def _distribution(cloudfront: Any, bucket: str) -> str:
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for distribution in page.get("DistributionList", {}).get("Items", []):
            if distribution.get("Comment") == DISTRIBUTION_COMMENT:
                return distribution["Id"]
    origin_id = "MysfitsWebsiteOrigin"
    return cloudfront.create_distribution(DistributionConfig={
        "CallerReference": DISTRIBUTION_COMMENT,
        "Comment": DISTRIBUTION_COMMENT,
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{
            "Id": origin_id, "DomainName": f"{bucket}.s3.amazonaws.com", "OriginPath": "/web",
            "S3OriginConfig": {"OriginAccessIdentity": f"origin-access-identity/cloudfront/{ORIGIN_ACCESS_IDENTITY}"},
        }]},
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id, "ViewerProtocolPolicy": "allow-all",
            "AllowedMethods": {"Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"]},
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": 0,
        },
    })["Distribution"]["Id"]


def _table(dynamodb: Any) -> str:
    if TABLE_NAME not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=TABLE_NAME,
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("MysfitId", "GoodEvil", "LawChaos")],
            KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
            # the workshop's service answers ?filter=GoodEvil|LawChaos through these indexes
            GlobalSecondaryIndexes=[_index("LawChaos"), _index("GoodEvil")],
            BillingMode="PAY_PER_REQUEST",
            Tags=[STACK_TAG],
        )
        for mysfit in reference.mysfits():
            dynamodb.put_item(TableName=TABLE_NAME, Item=table_item(mysfit))
    return TABLE_NAME


def _index(attribute: str) -> dict[str, Any]:
    return {
        "IndexName": f"{attribute}Index",
        "KeySchema": [
            {"AttributeName": attribute, "KeyType": "HASH"},
            {"AttributeName": "MysfitId", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def _tags(resource_type: str, name: str) -> dict[str, Any]:
    return {"ResourceType": resource_type, "Tags": [STACK_TAG, {"Key": "Name", "Value": name}]}

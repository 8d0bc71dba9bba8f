import pytest

from mysfits_cli.errors import MysfitsError
from mysfits_cli.ml.images import knn_image_uri


def test_commercial_region():
    assert knn_image_uri("us-east-1") == "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
    assert knn_image_uri("ap-northeast-2") == "835164637446.dkr.ecr.ap-northeast-2.amazonaws.com/knn:1"


def test_china_region_uses_the_cn_domain():
    assert knn_image_uri("cn-north-1") == "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/knn:1"


@pytest.mark.parametrize("region", ["us-iso-east-1", "us-isob-east-1", "mars-north-1"])
def test_unsupported_regions_are_named(region):
    with pytest.raises(MysfitsError) as caught:
        knn_image_uri(region)
    message = str(caught.value)
    assert region in message and "knn-image-registries.json" in message and "us-west-2" in message
    assert "us-iso-east-1," not in message
    assert "\n" not in message

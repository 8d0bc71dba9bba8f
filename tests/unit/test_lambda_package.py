"""The recommendations Lambda package: reproducible bytes, exact contents, and it runs."""

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from importlib import resources

from mysfits_cli import lambda_package
from mysfits_cli.lambda_package import HANDLER, build_package, package_sha256


def test_building_twice_gives_the_same_bytes():
    first, second = build_package(), build_package()
    assert first == second
    assert package_sha256(first) == package_sha256(second)


def test_contains_exactly_the_handler_and_the_label_table_in_a_fixed_order():
    with zipfile.ZipFile(io.BytesIO(build_package())) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["recommendations.py", "mysfits.json"]
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.create_system == 3
            assert info.external_attr >> 16 == 0o100644
        handler = archive.read("recommendations.py")
        table = archive.read("mysfits.json")
    assert handler == resources.files("mysfits_cli.templates.recommendations") \
        .joinpath("recommendations.py").read_bytes()
    assert table == resources.files("mysfits_cli.data").joinpath("mysfits.json").read_bytes()
    assert len(json.loads(table)["mysfits"]) == 12


def test_handler_name_points_into_the_package():
    module, function = HANDLER.split(".")
    assert (module, function) == ("recommendations", "recommend")
    with zipfile.ZipFile(io.BytesIO(build_package())) as archive:
        assert f"{module}.py" in archive.namelist()


def test_a_change_in_a_source_changes_the_bytes(monkeypatch, tmp_path):
    original = build_package()
    (tmp_path / "recommendations.py").write_text("def recommend(event, context):\n    return {}\n")
    (tmp_path / "mysfits.json").write_bytes(
        resources.files("mysfits_cli.data").joinpath("mysfits.json").read_bytes())
    monkeypatch.setattr(lambda_package.resources, "files", lambda package: tmp_path)
    assert build_package() != original


EXTRACTED_RUN = """
import json, sys
sys.path.insert(0, sys.argv[1])
import recommendations
assert recommendations.__file__.startswith(sys.argv[1]), recommendations.__file__

options = recommendations.recommend({"httpMethod": "OPTIONS"}, None)
assert options["statusCode"] == 200, options
assert options["headers"]["Access-Control-Allow-Origin"] == "*", options

class Runtime:
    def invoke_endpoint(self, **kwargs):
        import io
        return {"Body": io.BytesIO(b'{"predictions": [{"predicted_label": 7.0}]}')}

recommendations.runtime = Runtime()
post = recommendations.recommend({"httpMethod": "POST", "body": '{"entry": [1, 2, 3, 4, 5]}'}, None)
print("RESULT " + json.dumps([options, post]))
"""


def test_extracted_package_imports_and_answers(tmp_path):
    with zipfile.ZipFile(io.BytesIO(build_package())) as archive:
        archive.extractall(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", EXTRACTED_RUN, str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"ENDPOINT_NAME": "knn-test", "PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    options, post = json.loads(line[len("RESULT "):])
    assert options["statusCode"] == 200
    # the label table it used is the one shipped inside the package
    shipped = json.loads((tmp_path / "mysfits.json").read_text())["mysfits"]
    [seventh] = [mysfit["mysfitId"] for mysfit in shipped if mysfit["label"] == 7]
    assert post["statusCode"] == 200, post
    assert json.loads(post["body"]) == {"recommendedMysfit": seventh}


def test_sha256_is_base64_like_lambda_code_sha256():
    data = build_package()
    assert package_sha256(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert package_sha256(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

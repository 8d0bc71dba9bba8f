"""The wheel carries the templates, the API documents and the data: a plain `pip install .` works."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contains_the_data_folders(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = tmp_path.glob("mysfits-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "mysfits_cli/swagger/mysfits-api.json.j2",
        "mysfits_cli/swagger/recommendations-api.json.j2",
        "mysfits_cli/swagger/_macros.j2",
        "mysfits_cli/templates/web/index.html.j2",
        "mysfits_cli/templates/recommendations/recommendations.py",
        "mysfits_cli/data/mysfits.json",
        "mysfits_cli/data/questionnaire.json",
        "mysfits_cli/data/knn-image-registries.json",
        "mysfits_cli/data/prices.json",
        "mysfits_cli/data/sagemaker-instance-types.json",
    ):
        assert expected in names
    assert not any(name.startswith("tests/") for name in names)
    # every module of the source tree is in the wheel: a subpackage left out of pyproject.toml breaks the install
    modules = {str(path.relative_to(ROOT)) for path in (ROOT / "mysfits_cli").rglob("*.py")
               if "__pycache__" not in path.parts}
    assert sorted(modules - names) == []

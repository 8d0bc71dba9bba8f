"""The recommendations Lambda's deployment package, built byte-for-byte reproducibly.

The same sources always give the same zip, so a re-run of the deploy can compare
package_sha256(build_package()) with the CodeSha256 Lambda reports and leave the
function alone when they match.
"""

import base64
import hashlib
import io
import zipfile
from importlib import resources

HANDLER = "recommendations.recommend"

# (name in the zip, package it is read from), in the order they are written.
FILES = (
    ("recommendations.py", "mysfits_cli.templates.recommendations"),
    ("mysfits.json", "mysfits_cli.data"),
)

_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
_REGULAR_FILE_0644 = 0o100644 << 16
_UNIX = 3
_COMPRESSION_LEVEL = 9


def build_package() -> bytes:
    """The zip Lambda runs: the handler and the label table it reads, nothing else."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, package in FILES:
            info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX  # so the permission bits mean the same everywhere
            info.external_attr = _REGULAR_FILE_0644
            data = resources.files(package).joinpath(name).read_bytes()
            archive.writestr(info, data, compresslevel=_COMPRESSION_LEVEL)
    return buffer.getvalue()


def package_sha256(data: bytes) -> str:
    """The base64 SHA-256 of a package, as Lambda reports it in CodeSha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")

"""The JavaScript the site and the slides load, fetched once from the npm registry, kept locally.

Built pages would otherwise load MathJax, require.js, jQuery, reveal.js and the widget manager
from CDNs at every view, and show broken maths and dead widgets without the internet. This tool
downloads the exact versions below (each tarball checked against the sha512 the registry
published for it) into ``build/vendor/<name>-<version>/``; ``make site`` and ``make slides``
copy from there, and after the first fetch they build with no network at all.

Why these versions: nbconvert 7's reveal template is written for reveal.js 4.0.2, require.js
2.1.10 and the MathJax 2 API; Sphinx 7 configures MathJax 3; ipywidgets 8 state renders with
@jupyter-widgets/html-manager 1.x; jQuery 2.0.3 (the template's default) is not on npm, 2.1.4 is.

Usage: python tools/vendor_js.py   (prints the folder of each package)
The registry is https://registry.npmjs.org/ unless ``NPM_CONFIG_REGISTRY`` names a mirror.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "build" / "vendor"

# name -> (version, sha512 integrity of the tarball, as `npm view NAME@VERSION dist.integrity` prints it)
PACKAGES = {
    "mathjax@3": ("mathjax", "3.2.2", "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="),
    "mathjax@2": ("mathjax", "2.7.7", "OOl0B2/0tSJAtAZarXnQuLDBLgTNRqiI9VqHTQzPsxf4okT2iIpDrvaklK9x2QEMD1sDj4yRn11Ygci41DxMAQ=="),
    "requirejs": ("requirejs", "2.1.10", "4JqdTihK3kOnT387LxCHuJZ/9QsKg2EIl7LmaW35PIyM4LwCI2jwyy4fy6pbY/ZZH2JoY/QEcb5PzULFPP6gcQ=="),
    "html-manager": ("@jupyter-widgets/html-manager", "1.0.15", "5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=="),
    "reveal.js": ("reveal.js", "4.0.2", "LWZSUenufF1gpD7npxJ7KfoQQFKgc1D6XrLTFgKlwWNP1BQ74hT48KONFWMAw+8R/QUeaScCLCLrBVHDfFIEiw=="),
    "jquery": ("jquery", "2.1.4", "wWR+eCq/T/Qt0NcFyM+QVho0ZVzWxFYANijmSMImXiM5mjr1aOaf4SF0eOEPc92bbK2L2vDpxw3lIszus7eO8Q=="),
}


class VendorError(RuntimeError):
    """A package could not be fetched or did not match its recorded checksum."""


def tarball_url(name: str, version: str) -> str:
    """The registry's address of ``name``'s tarball (scoped names keep their scope in the path only)."""
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org/").rstrip("/")
    return f"{registry}/{name}/-/{name.split('/')[-1]}-{version}.tgz"


def package_dir(key: str, vendor: Path = VENDOR) -> Path:
    """The local folder of package ``key`` (a key of PACKAGES), fetched first if it is not there yet."""
    name, version, integrity = PACKAGES[key]
    target = vendor / f"{name.lstrip('@').replace('/', '-')}-{version}"
    if (target / "package.json").exists():
        return target
    url = tarball_url(name, version)
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise VendorError(f"could not download {name} {version} from {url} ({error}); the site and the slides "
                          "need it once: connect to the npm registry (or set NPM_CONFIG_REGISTRY to a mirror) "
                          "and run the command again") from None
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        raise VendorError(f"{url} does not match the sha512 recorded in tools/vendor_js.py "
                          f"(got {digest[:16]}..., expected {integrity[:16]}...): refusing to use it")
    vendor.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=vendor))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(staging, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        (staging / "package").rename(target)  # npm tarballs keep everything under package/
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main() -> int:
    try:
        for key in PACKAGES:
            print(package_dir(key))
    except VendorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

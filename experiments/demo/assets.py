"""The browser assets the dashboard needs, kept on disk so a classroom needs no internet.

Solara's server serves its front end (the Vuetify app, RequireJS, Font Awesome, the draggable
grid Mesa lays components out in) from a content-delivery network through a local cache
directory, ``SOLARA_ASSETS_PROXY_CACHE_DIR`` (by default ``share/solara/cdn`` in the virtualenv).
:func:`fetch_assets` fills that cache from the npm registry with ``npm pack``, the same way the
``solara-assets`` package is built, so the app runs offline afterwards. The Vuetify app's version
is read from Solara's own page template, so an upgrade of Solara asks for the matching bundle.

Run ``python -m experiments.demo.assets`` (``make setup`` does) to fetch what is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from market.errors import CceiError

__all__ = ["Asset", "AssetsMissing", "cache_dir", "required_assets", "missing_assets", "fetch_assets", "main"]

#: npm packages the page loads besides the Vuetify app, at the versions Solara's code names.
_FIXED = (("requirejs", "2.3.6"), ("font-awesome", "4.5.0"), ("@widgetti/vue-grid-layout", "2.3.13-alpha.2"))


class AssetsMissing(CceiError):
    """The browser assets are not in Solara's cache and cannot be fetched."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Asset:
    """One npm package the page loads: served from ``<cache>/<name>@<version>/``."""

    name: str
    version: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def cache_dir() -> Path:
    """Solara's asset cache directory (``SOLARA_ASSETS_PROXY_CACHE_DIR``)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def _vuetify_app() -> Asset:
    """The Vuetify app bundle the installed Solara's page template loads (Vue 3 with ipyvue 3)."""
    import ipyvue
    import solara.server

    template = (Path(solara.server.__file__).parent / "templates" / "solara.html.j2").read_text()
    package = "solara-vuetify3-app" if ipyvue.__version__.startswith("3") else "solara-vuetify-app"
    found = re.search(rf"@widgetti/{package}@([0-9][^/]*)/", template)
    if found is None:  # pragma: no cover - only if Solara changes its template layout
        raise AssetsMissing(f"cannot find the @widgetti/{package} version in Solara's page template")
    return Asset(f"@widgetti/{package}", found.group(1))


def required_assets() -> list[Asset]:
    """Every npm package the dashboard's page loads."""
    return [_vuetify_app(), *(Asset(n, v) for n, v in _FIXED)]


def missing_assets(cache: Path | None = None) -> list[Asset]:
    """The required assets not yet in ``cache`` (default: Solara's cache directory)."""
    cache = cache_dir() if cache is None else cache
    return [a for a in required_assets() if not (cache / a.spec / "package.json").is_file()]


def fetch_assets(cache: Path | None = None, npm: str = "npm") -> list[Asset]:
    """Fetches each missing asset with ``npm pack`` and unpacks it into ``cache``.

    Returns:
        The assets fetched (empty when all were there).

    Raises:
        AssetsMissing: ``npm`` is not installed or a package cannot be fetched.
    """
    cache = cache_dir() if cache is None else cache
    missing = missing_assets(cache)
    if missing and shutil.which(npm) is None:
        raise AssetsMissing(f"{npm} not found: install Node.js (npm) to fetch {', '.join(a.spec for a in missing)}")
    for asset in missing:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([npm, "pack", "--silent", asset.spec], cwd=tmp, capture_output=True, text=True, check=False)
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode or len(tarballs) != 1:
                reason = (done.stderr.strip().splitlines() or ["no tarball"])[-1]
                raise AssetsMissing(f"npm pack {asset.spec} failed: {reason}")
            with tarfile.open(tarballs[0]) as tar:
                tar.extractall(tmp, filter="data")
            target = cache / asset.spec
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(Path(tmp) / "package", target)
    return missing


def main() -> int:
    """``python -m experiments.demo.assets``: fetches what is missing and says what it did."""
    try:
        fetched = fetch_assets()
    except AssetsMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    where = cache_dir()
    print(f"fetched {', '.join(a.spec for a in fetched)} into {where}" if fetched else f"browser assets present in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

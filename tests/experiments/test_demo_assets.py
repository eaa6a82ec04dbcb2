"""The browser assets: which the page needs, which are missing, and fetching them with npm pack."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from experiments.demo import assets
from experiments.demo.assets import Asset, AssetsMissing, fetch_assets, missing_assets, required_assets


def test_the_page_needs_the_vuetify_app_its_solara_template_names() -> None:
    needed = required_assets()
    app = needed[0]
    assert app.name in {"@widgetti/solara-vuetify-app", "@widgetti/solara-vuetify3-app"}
    import solara.server

    template = (Path(solara.server.__file__).parent / "templates" / "solara.html.j2").read_text()
    assert f"{app.spec}/dist" in template
    assert {a.name for a in needed[1:]} == {"requirejs", "font-awesome", "@widgetti/vue-grid-layout"}


def test_missing_assets_lists_what_the_cache_lacks(tmp_path: Path) -> None:
    assert missing_assets(tmp_path) == required_assets()
    first = required_assets()[0]
    (tmp_path / first.spec).mkdir(parents=True)
    (tmp_path / first.spec / "package.json").write_text("{}")
    assert first not in missing_assets(tmp_path)


def fake_npm(tmp_path: Path, fail: str = "") -> str:
    """An ``npm`` that packs a one-file package named after its argument (and fails for ``fail``)."""
    script = tmp_path / "npm"
    script.write_text(
        f"#!{sys.executable}\n"
        "import io, json, sys, tarfile\n"
        "spec = sys.argv[-1]\n"
        f"if spec == {fail!r}:\n"
        "    print('npm error 404 Not Found', file=sys.stderr); sys.exit(1)\n"
        "data = json.dumps({'name': spec}).encode()\n"
        "with tarfile.open('pkg.tgz', 'w:gz') as tar:\n"
        "    info = tarfile.TarInfo('package/package.json'); info.size = len(data)\n"
        "    tar.addfile(info, io.BytesIO(data))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_fetch_unpacks_each_missing_package_into_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cdn"
    fetched = fetch_assets(cache, npm=fake_npm(tmp_path))
    assert fetched == required_assets()
    for asset in fetched:
        assert json.loads((cache / asset.spec / "package.json").read_text()) == {"name": asset.spec}
    assert missing_assets(cache) == [] and fetch_assets(cache, npm="/no/npm") == []  # nothing left to fetch


def test_fetch_errors(tmp_path: Path) -> None:
    with pytest.raises(AssetsMissing, match=r"/no/npm not found: install Node.js \(npm\) to fetch"):
        fetch_assets(tmp_path / "cdn", npm="/no/npm")
    broken = required_assets()[1].spec
    with pytest.raises(AssetsMissing, match=rf"npm pack {broken} failed: npm error 404 Not Found"):
        fetch_assets(tmp_path / "cdn", npm=fake_npm(tmp_path, fail=broken))


def test_main_reports_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(assets, "cache_dir", lambda: tmp_path / "cdn")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert assets.main() == 2
    assert "npm not found" in capsys.readouterr().err
    fake_npm(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert assets.main() == 0
    assert capsys.readouterr().out.startswith("fetched ")
    assert assets.main() == 0
    assert "browser assets present in" in capsys.readouterr().out


def test_asset_spec() -> None:
    assert Asset("@widgetti/vue-grid-layout", "2.3.13-alpha.2").spec == "@widgetti/vue-grid-layout@2.3.13-alpha.2"

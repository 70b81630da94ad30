"""Issue 16: the download page in a real browser (Playwright driving Debian's Chromium), audited by axe-core."""
from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from conftest import FIXTURES, build_into

playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs Playwright")
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="apt-get install chromium (see .ci/run)")


def axe_script() -> Path:
    import axe_playwright_python
    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = build_into(FIXTURES / "publish", out, formats=("pdf", "epub", "print", "cover", "site"))
    return out, result


@pytest.fixture
def served(site):
    """The output folder on a static HTTP server (as a reader's host would serve it)."""
    out, _ = site
    handler = functools.partial(QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_page_links_every_edition_and_passes_axe(site, served):
    out, result = site
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_context(accept_downloads=True).new_page()
        page.goto(served + "index.html")
        assert page.evaluate("document.documentElement.lang") == "fr-FR"
        assert page.title().startswith("Carnets de la rivière")
        assert page.locator("h1").inner_text().startswith("Carnets de la rivière")
        assert page.locator("script").count() == 0  # the page needs no JavaScript
        cover = page.locator("img.cover")
        assert cover.evaluate("img => img.complete && img.naturalWidth > 0")
        links = page.locator("ul.editions a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert sorted(hrefs) == sorted(Path(result.outputs[f]).name for f in ("pdf", "epub", "print", "cover"))
        for i, href in enumerate(hrefs):
            target = out / href
            assert target.is_file()
            # the SHA-256 printed beside the link is the file's
            item = page.locator("ul.editions li").nth(i)
            assert hashlib.sha256(target.read_bytes()).hexdigest() in item.inner_text()
            with page.expect_download() as download:
                links.nth(i).click()
            saved = download.value.path()
            assert Path(saved).read_bytes() == target.read_bytes()
        og = {m.get_attribute("property"): m.get_attribute("content")
              for m in page.locator("meta[property]").all()}
        assert og["og:title"] == "Carnets de la rivière" and og["og:type"] == "book"
        assert (out / og["og:image"]).is_file()
        page.add_script_tag(path=str(axe_script()))
        report = page.evaluate("axe.run()")
        bad = [(v["id"], v["impact"], v["help"]) for v in report["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, bad
        assert report["passes"], "axe ran its rules"
        # from a folder too: the cover is inlined, the links relative
        page.goto((out / "index.html").as_uri())
        assert page.locator("img.cover").evaluate("img => img.complete && img.naturalWidth > 0")
        assert page.locator("ul.editions a").first.evaluate("a => a.href").startswith("file://")
        browser.close()


def test_page_without_site_format_is_not_written(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "publish", book)
    build_into(book, tmp_path / "out", formats=("pdf",))
    assert not (tmp_path / "out" / "index.html").exists()

"""Widget code and client files at content-hashed, immutable, compressed URLs."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
from pathlib import Path

from starlette.requests import Request

import pytest

from numerous.apps._assets import (IMMUTABLE, Asset, AssetStore, ClientFiles, content_hash,
                                  is_remote, is_url, remote_imports)

BIG_JS = "export default { render() {} }\n" + "// padding\n" * 500


def request(**headers: str) -> Request:
    return Request({
        "type": "http", "method": "GET", "path": "/", "query_string": b"",
        "headers": [(k.replace("_", "-").lower().encode(), v.encode())
                    for k, v in headers.items()],
    })


def test_the_same_text_gets_the_same_name_and_is_stored_once() -> None:
    store = AssetStore()
    first = store.register(BIG_JS, "js")
    second = store.register("".join(list(BIG_JS)), "js")  # an equal string, another object
    assert first == second
    assert first == f"{hashlib.sha256(BIG_JS.encode()).hexdigest()[:32]}.js"
    assert len(store._assets) == 1  # noqa: SLF001
    asset = store.get(first)
    assert asset is not None and asset.body == BIG_JS.encode()


def test_different_texts_and_kinds_get_different_names() -> None:
    store = AssetStore()
    js = store.register("a{}", "js")
    css = store.register("a{}", "css")
    other = store.register("b{}", "js")
    assert js.endswith(".js") and css.endswith(".css")
    assert js[:-3] == css[:-4], "the hash is of the text"
    assert len({js, css, other}) == 3
    assert store.get(css).media_type.startswith("text/css")
    assert store.get(js).media_type.startswith("text/javascript")
    assert store.register("a{}", "js") == js


def test_unknown_names_are_not_found() -> None:
    assert AssetStore().get("0" * 32 + ".js") is None


def test_registering_from_many_threads_stores_one_asset() -> None:
    store = AssetStore()
    names: list[str] = []
    threads = [threading.Thread(target=lambda i=i: names.append(
        store.register(f"shared text {i % 2}", "js"))) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(names)) == 2
    assert len(store._assets) == 2  # noqa: SLF001


def test_gzip_is_served_when_accepted_with_immutable_caching() -> None:
    asset = Asset(BIG_JS.encode(), "text/javascript; charset=utf-8", '"etag-1"')
    response = asset.response(request(accept_encoding="gzip, deflate, br"))
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == IMMUTABLE == \
        "public, max-age=31536000, immutable"
    assert response.headers["etag"] == '"etag-1"'
    assert response.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(response.body) == BIG_JS.encode()
    assert len(response.body) < len(BIG_JS)
    assert response.headers["content-type"].startswith("text/javascript")


def test_gzip_is_made_once() -> None:
    asset = Asset(BIG_JS.encode(), "text/javascript", '"e"')
    assert asset.gzipped() is asset.gzipped()


def test_plain_bytes_without_accept_encoding() -> None:
    asset = Asset(BIG_JS.encode(), "text/javascript", '"e"')
    response = asset.response(request())
    assert "content-encoding" not in response.headers
    assert response.body == BIG_JS.encode()
    assert response.headers["cache-control"] == IMMUTABLE


def test_small_files_are_not_compressed() -> None:
    asset = Asset(b"x{}", "text/css", '"e"')
    response = asset.response(request(accept_encoding="gzip"))
    assert "content-encoding" not in response.headers
    assert response.body == b"x{}"


def test_a_matching_if_none_match_gets_304_without_a_body() -> None:
    asset = Asset(BIG_JS.encode(), "text/javascript", '"etag-1"')
    response = asset.response(request(if_none_match='"etag-1"', accept_encoding="gzip"))
    assert response.status_code == 304
    assert response.body == b""
    assert response.headers["etag"] == '"etag-1"'
    assert response.headers["cache-control"] == IMMUTABLE
    stale = asset.response(request(if_none_match='"other"'))
    assert stale.status_code == 200


def test_the_cache_header_can_be_chosen() -> None:
    asset = Asset(b"body{}", "text/css", '"e"')
    assert asset.response(request(), cache_control="no-cache").headers["cache-control"] == \
        "no-cache"


def test_content_hash_is_32_hex_digits_of_sha256() -> None:
    assert content_hash(b"abc") == hashlib.sha256(b"abc").hexdigest()[:32]


def test_client_files_are_versioned_by_their_contents(tmp_path: Path) -> None:
    (tmp_path / "main.js").write_text("import './protocol.js'")
    (tmp_path / "protocol.js").write_text("export const V = 1")
    (tmp_path / "notes.txt").write_text("not served")
    first = ClientFiles(tmp_path)
    assert set(first.files) == {"main.js", "protocol.js"}
    assert len(first.version) == 16
    main = first.get(first.version, "main.js")
    assert main is not None and main.body == b"import './protocol.js'"
    assert main.etag == f'"{first.version}"'
    assert first.get("0" * 16, "main.js") is None
    assert first.get(first.version, "notes.txt") is None
    assert first.get(first.version, "../main.js") is None

    (tmp_path / "protocol.js").write_text("export const V = 2")
    assert ClientFiles(tmp_path).version != first.version


def test_the_real_client_is_one_module_per_entry_with_its_source_map() -> None:
    client = ClientFiles()
    assert set(client.files) == {"main.js", "main.js.map", "auth.js", "auth.js.map"}
    # The page's inline script is read, not served: pages carry it (security test).
    assert client.early_script.startswith("(()=>{") and "numerous-config" in client.early_script
    for entry in ("main.js", "auth.js"):
        code = client.files[entry].body.decode()
        # One request loads the whole entry: nothing in it imports another client file.
        assert not re.search(r"""(?:from|import)\s*\(?\s*["']\.{1,2}/""", code), entry
        assert code.rstrip().endswith(f"//# sourceMappingURL={entry}.map")
        source_map = client.files[f"{entry}.map"]
        assert source_map.media_type == "application/json"
        assert json.loads(source_map.body)["sourcesContent"], "readable in the browser's tools"


def test_fonts_embedded_in_css_become_files_of_their_own() -> None:
    import base64

    from numerous.apps._assets import AssetStore

    store = AssetStore()
    font = bytes(range(256)) * 20
    encoded = base64.b64encode(font).decode()
    small = base64.b64encode(b"tiny").decode()
    css = (f"@font-face{{font-family:A;src:url(data:font/woff2;base64,{encoded}) format('woff2')}}"
           f".icon{{background:url('data:image/png;base64,{encoded}')}}"
           f"@font-face{{font-family:B;src:url(data:font/woff;base64,{small})}}")
    name = store.register(css, "css")
    served = store.get(name)
    assert served is not None
    text = served.body.decode()
    assert "data:font/woff2" not in text  # the large font moved out...
    assert "data:image/png" in text  # ...images stay (not fonts: kept inline)
    assert f"data:font/woff;base64,{small}" in text  # ...and so do small fonts
    font_name = text.split('url("')[1].split('")')[0]
    assert font_name.endswith(".woff2")
    extracted = store.get(font_name)
    assert extracted is not None and extracted.body == font
    assert extracted.media_type == "font/woff2"
    assert store.register(css, "css") == name  # once per text


@pytest.mark.parametrize(("text", "url"), [
    ("https://esm.sh/widget@1", True), ("/static/widget.js", True), ("//cdn.example/w.js", True),
    ("/* a stylesheet that opens with a comment */\n.w { color: red }", False),
    ("/*compact*/.w{}", False), (".w { color: red }", False), ("export default {}", False),
    ("/static/two words.js", False),
])
def test_one_rule_tells_a_url_from_widget_code(text: str, url: bool) -> None:
    assert is_url(text) is url


def test_only_other_origins_are_remote() -> None:
    assert is_remote("https://esm.sh/x") and is_remote("//cdn.example/x")
    assert not is_remote("/static/x.js")


def test_remote_imports_are_found_once_per_text() -> None:
    from numerous.apps import _assets

    code = ('import * as vega from "https://esm.sh/vega@5";\n'
            + "// widget code\n" * 200_000
            + 'const lite = await import("//cdn.example/lite.js"); import "./local.js";\n')
    assert remote_imports(code) == ("https://esm.sh/vega@5", "//cdn.example/lite.js")
    cache = _assets._remote_imports  # noqa: SLF001
    hits = cache.cache_info().hits
    assert remote_imports(code) == ("https://esm.sh/vega@5", "//cdn.example/lite.js")
    assert cache.cache_info().hits == hits + 1, "a page load does not scan it again"

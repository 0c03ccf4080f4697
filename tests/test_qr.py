"""GET /api/qr.svg over a real gateway: an http(s) link becomes a QR code in SVG; anything else is a 400 with a
JSON reason, never a 500; the token check is the one /api/languages has."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
import resvg_py
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from PIL import Image

from gateway.rooms.qr import MAX_TEXT_CHARS, link_problem
from harness.servers import Gateway, running, start_gateway

LINK = "http://127.0.0.1:8080/?room=3f9c1b2a0d4e5f60718293a4b5c6d7e8&listen=Zm9vYmFyYmF6cXV4cXV1eA&langs=eng,fra"


def get(gateway: Gateway, query: dict[str, str] | str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of GET /api/qr.svg?query (a dict is url-encoded, a string sent as it is)."""
    query = urllib.parse.urlencode(query) if isinstance(query, dict) else query
    try:
        with urllib.request.urlopen(f"{gateway.base_url}/api/qr.svg?{query}", timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def decoded(svg: bytes) -> str:
    """What a QR reader finds in the SVG once drawn as pixels (resvg draws it, zxing-cpp reads it)."""
    image = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg.decode(), zoom=2)))).convert("L")
    barcode = zxingcpp.read_barcode(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert barcode is not None, "no QR code found in the SVG"
    return barcode.text


@pytest.fixture(scope="module")
def tokened_gateway(echo_worker, server_logs) -> Iterator[Gateway]:
    with running(start_gateway(echo_worker.address, {"S2ST_API_TOKENS": "secret-token"}, log_dir=server_logs,
                               processes=1)) as gateway:
        yield gateway


def test_a_link_comes_back_as_an_svg_qr_code_that_is_never_cached(echo_gateway):
    status, headers, body = get(echo_gateway, {"text": LINK})
    assert status == 200
    assert headers["content-type"] == "image/svg+xml"
    assert headers["cache-control"] == "no-store"
    assert body.startswith(b"<svg") and body.rstrip().endswith(b"</svg>")
    assert decoded(body) == LINK  # a phone's camera reads back the exact link


@pytest.mark.parametrize("query, reason", [
    ("", "required"),
    ("text=", "required"),
    (urllib.parse.urlencode({"text": "https://example.org/" + "a" * (MAX_TEXT_CHARS - 19)}), "longer than"),
    (urllib.parse.urlencode({"text": "not a link"}), "printable ASCII"),
    (urllib.parse.urlencode({"text": "javascript:alert(1)"}), "http or https"),
    (urllib.parse.urlencode({"text": "ftp://example.org/file"}), "http or https"),
    (urllib.parse.urlencode({"text": "https://"}), "http or https"),
    (urllib.parse.urlencode({"text": "http://[::1/"}), "not a URL"),
    (urllib.parse.urlencode({"text": "https://exämple.org/"}), "printable ASCII"),
    ("text=%ED%A0%80", "printable ASCII"),  # a lone surrogate's UTF-8 bytes
])
def test_anything_but_an_http_link_is_a_bad_request_with_its_reason(echo_gateway, query, reason):
    status, headers, body = get(echo_gateway, query)
    assert status == 400, body
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["error"] == "bad_request" and reason in answer["message"], answer


def test_the_longest_link_allowed_is_drawn(echo_gateway):
    link = "https://example.org/" + "a" * (MAX_TEXT_CHARS - 20)
    assert len(link) == MAX_TEXT_CHARS
    status, _, body = get(echo_gateway, {"text": link})
    assert status == 200
    assert decoded(body) == link


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=600), st.text(max_size=80).map(lambda rest: "https://" + rest),
                      st.text(max_size=80).map(lambda rest: "http://example.org/" + rest)))
def test_any_unicode_text_is_drawn_or_refused_never_a_server_error(echo_gateway, text):
    # urlencode writes lone surrogates as their own bytes' escapes; what the server decodes is what it judges.
    query = urllib.parse.urlencode({"text": text.encode("utf-8", "surrogatepass")})
    status, _, body = get(echo_gateway, query)
    decoded = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert status == (200 if link_problem(decoded) is None else 400), (status, body)


def test_the_token_check_is_the_one_of_the_language_list(tokened_gateway):
    assert get(tokened_gateway, {"text": LINK})[0] == 401
    assert get(tokened_gateway, {"text": LINK, "token": "wrong"})[0] == 401
    assert get(tokened_gateway, {"text": LINK, "token": "secret-token"})[0] == 200

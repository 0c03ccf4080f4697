"""QR codes of links, as SVG: `GET /api/qr.svg?text=URL`.

The room page shows its listener link as a QR code so a phone in the audience can open it. It is
drawn here (segno, pure Python) rather than by a script in the page, so the page loads no
third-party code. Only http(s) links are drawn: the endpoint is not a general QR service.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import segno
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.identity.authenticator import Authenticator, bearer_token

MAX_TEXT_CHARS = 512  # a listener link is about 100; room for a token in it
QR_ERROR_CORRECTION = "m"  # 15 % of the code may be damaged or covered and it still reads
QR_SCALE = 4  # pixels per module in the SVG's own size; the page scales it
QR_BORDER = 4  # modules of quiet zone, as ISO/IEC 18004 asks

Endpoint = Callable[[Request], Awaitable[Response]]


def link_problem(text: str | None) -> str | None:
    """Why text is not a link this endpoint draws, or None when it is one."""
    if not text:
        return "text is required: the link to draw"
    if len(text) > MAX_TEXT_CHARS:
        return f"text is longer than {MAX_TEXT_CHARS} characters"
    # Printable ASCII only: browsers write international names in punycode and percent-encode the rest.
    if not all("!" <= char <= "~" for char in text):
        return "text must be a URL of printable ASCII characters (percent-encode the rest)"
    try:
        parts = urlsplit(text)
    except ValueError as error:  # e.g. an unclosed IPv6 bracket
        return f"text is not a URL: {error}"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "text must be an http or https URL"
    return None


def qr_svg(text: str) -> bytes:
    """The QR code of text as a standalone SVG document (black on white)."""
    buffer = io.BytesIO()
    segno.make(text, error=QR_ERROR_CORRECTION, micro=False).save(
        buffer, kind="svg", scale=QR_SCALE, border=QR_BORDER, dark="#000", light="#fff", xmldecl=False)
    return buffer.getvalue()


def bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "message": message}, status_code=400)


def qr_endpoint(authenticator: Authenticator) -> Endpoint:
    """The endpoint, behind the same token check as /api/languages."""

    async def qr_code(request: Request) -> Response:
        if await authenticator.grant(bearer_token(request.headers.get("authorization"),
                                                  request.query_params.get("token"))) is None:
            return JSONResponse({"error": "unauthorized", "message": "a valid token is required"}, status_code=401)
        text = request.query_params.get("text")
        problem = link_problem(text)
        if problem is not None:
            return bad_request(problem)
        # A link shown once (its key may be revoked); nothing to cache.
        return Response(qr_svg(text), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    return qr_code

"""Static files, compressed and with content-hash URLs that browsers keep for a year.

``url_for("static", filename=...)`` adds ``?v=`` and the first 12 hex digits of the file's SHA-256,
so templates need nothing special. A request whose ``v`` is the file's current hash is answered with
``Cache-Control: public, max-age=31536000, immutable``: the URL changes when the content does. Any
other request for the file (no ``v``, or the hash of an older version during a deploy) still gets the
current file, with ``no-cache`` so the browser revalidates it by its ETag.

Text files (JavaScript, CSS, SVG, JSON, source maps) are sent brotli- or gzip-compressed when the
request's Accept-Encoding allows, with ``Vary: Accept-Encoding``. Each file is compressed once per
process at first use and kept in memory, keyed by its path, size and modification time. Only
static files are compressed: pages carry CSRF tokens next to text a visitor can choose, which
compression would expose to a BREACH-style attack.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path

import brotli
from flask import Flask, abort, current_app, request
from werkzeug.security import safe_join

FINGERPRINT_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".map", ".txt"}
MIN_COMPRESSED_SIZE = 1024
# Brotli's best quality takes seconds on plotly.js; 9 is within 8 % of it in a tenth of the time.
BROTLI_QUALITY = 9


def init_app(app: Flask) -> None:
    """Serve the app's ``static`` endpoint through :func:`send_static` and fingerprint its URLs."""
    app.view_functions["static"] = send_static
    app.url_defaults(_fingerprint_url)


def _fingerprint_url(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        if current_app.debug:
            # The development server: files change under it, so look at each one every time.
            path = _static_path(values["filename"])
            version = fingerprint(path) if path is not None else None
        else:
            version = _deployed_fingerprint(current_app.static_folder, values["filename"])
        if version is not None:
            values["v"] = version


@lru_cache(maxsize=512)
def _deployed_fingerprint(folder: str, filename: str) -> str | None:
    """A file's fingerprint, looked up once per process: a deployment restarts the workers, and
    every page names several static files (a ``stat`` and a path check each, otherwise)."""
    path = _static_path(filename, folder)
    return fingerprint(path) if path is not None else None


def _static_path(filename: str, folder: str | None = None) -> Path | None:
    joined = safe_join(folder or current_app.static_folder, filename)
    return Path(joined) if joined and Path(joined).is_file() else None


def _key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def fingerprint(path: Path) -> str:
    """The first hex digits of the file's SHA-256 (read once per version of the file)."""
    return _fingerprint(*_key(path))


@lru_cache(maxsize=512)
def _fingerprint(path: str, _size: int, _mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:FINGERPRINT_LENGTH]


@lru_cache(maxsize=256)
def _encoded(path: str, _size: int, _mtime_ns: int, encoding: str) -> bytes:
    data = Path(path).read_bytes()
    if encoding == "br":
        return brotli.compress(data, quality=BROTLI_QUALITY)
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=9, mtime=0)
    return data


def _encoding_for(path: Path, size: int) -> str:
    if path.suffix not in COMPRESSIBLE or size < MIN_COMPRESSED_SIZE:
        return "identity"
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):  # brotli is smaller, when the browser takes it
        if accepted[encoding]:
            return encoding
    return "identity"


def send_static(filename: str):
    """The static file ``filename``, compressed if it helps, cached for a year when asked by its fingerprint.

    :raise 404: no such file in the static folder.
    """
    path = _static_path(filename)
    if path is None:
        abort(404)
    key = _key(path)
    encoding = _encoding_for(path, key[1])
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = current_app.response_class(_encoded(*key, encoding), mimetype=mimetype)
    if path.suffix in COMPRESSIBLE:
        response.vary.add("Accept-Encoding")
    if encoding != "identity":
        response.headers["Content-Encoding"] = encoding
    current = _fingerprint(*key)
    response.set_etag(f"{current}-{encoding}")
    response.headers["Cache-Control"] = IMMUTABLE if request.args.get("v") == current else REVALIDATE
    return response.make_conditional(request)

"""Content-Security-Policy for the self-contained pages purport writes (reports, records).

The pages load nothing from elsewhere and run no script; their one inline stylesheet is
allowed by its SHA-256, so an injected ``<style>`` or ``<script>`` does nothing.
"""

from __future__ import annotations

import base64
import hashlib


def style_source(css: str) -> str:
    """The CSP source that allows exactly one inline stylesheet: ``'sha256-...'``."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def content_security_policy(css: str, *, forms: bool = False) -> str:
    """The policy of a self-contained page whose one ``<style>`` holds ``css``: that
    stylesheet, and nothing else loaded, run, or sent anywhere (forms only to the page's
    own site when ``forms``). Inline SVG needs no source; the page has no images, scripts,
    fonts or frames. A policy in a ``<meta>`` cannot forbid framing: a server sends
    ``frame-ancestors`` in its header."""
    action = "'self'" if forms else "'none'"
    return (f"default-src 'none'; style-src {style_source(css)}; base-uri 'none'; "
            f"form-action {action}")

"""`purport serve`: the web app and REST API over the archive (a thin shell over assess/archive)."""

from purport.web.app import Settings, create_app

__all__ = ["Settings", "create_app"]

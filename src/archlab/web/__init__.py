"""The web app (`archlab serve`): server-rendered pages over a workspace, with steering."""

from archlab.web.app import create_app

__all__ = ["create_app"]

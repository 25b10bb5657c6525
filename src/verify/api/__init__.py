"""The HTTP API (issue 17): ``verify api`` serves ``create_app`` with uvicorn. See docs/team.md."""

from verify.api.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]

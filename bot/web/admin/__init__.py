"""The admin pages under /admin (administrators only): knowledge-base versions and builds, FAQ drafts,
staff accounts and analytics. Each page group is its own module with its own router."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from bot.web.admin import analytics, faq, kb, staff
from bot.web.auth import Admin


def install(app: FastAPI) -> None:
    """Add the admin routes to the app (the console's `install` has set up sessions and refusals)."""
    for module in (kb, faq, staff, analytics):
        app.include_router(module.router)

    @app.get("/admin", include_in_schema=False)
    def admin_home(user: Admin) -> RedirectResponse:
        return RedirectResponse("/admin/kb", status_code=303)

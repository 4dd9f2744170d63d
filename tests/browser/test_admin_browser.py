"""The admin pages in a real browser against a real `stdbot serve`: an administrator measures the active
knowledge base on the golden set, uploads a file and builds a new version while the progress card follows
it live, sees the new version active with its figures beside the old one's, and rolls back. Screenshots go
to tests/artifacts/admin-*.png."""

from __future__ import annotations

from pathlib import Path

from browser.conftest import ConsolePage, ServedHotline, require_browser

from bot.web.auth import console_text

require_browser()

from playwright.sync_api import expect  # noqa: E402  (imported once it is known to be installed)

ADMIN = "chief"
JOB_MS = 180_000  # a build of the sample with its embeddings cached, and two golden-set runs
FAQ_SHEET = "问题,答案,依据\n热线周末有人值班吗,热线全年无休，周末由值班人员接听。,热线服务规范\n"


def test_admin_measures_builds_activates_and_rolls_back(
    console: ConsolePage, hotline: ServedHotline, tmp_path: Path
) -> None:
    page = console.page
    hotline.add_account(ADMIN, role="admin")
    console.log_in(ADMIN)
    page.get_by_role("link", name=console_text("admin_kb")).click()
    expect(page.locator("h1")).to_have_text(console_text("admin_kb"))
    v1 = page.locator("#kb-versions tr[data-version='1']")
    expect(v1).to_contain_text(console_text("kb_active"))
    console.screenshot("admin-1-versions")

    # measure the active version: the job card follows it, then the page shows its figures
    v1.get_by_role("button", name=console_text("kb_evaluate")).click()
    expect(page.locator("#kb-job")).to_contain_text(console_text("kb_state_done"), timeout=JOB_MS)
    expect(v1.locator("td").nth(5)).to_have_text(_decimal())  # hit@5

    # upload a sheet and build; progress shows while it runs, the page reloads by itself when done
    sheet = tmp_path / "值班安排.csv"
    sheet.write_text(FAQ_SHEET, encoding="utf-8")
    page.locator("#kb-build input[type=file]").set_input_files(str(sheet))
    page.locator("#kb-build button[type=submit]").click()
    expect(page.locator("#kb-job")).to_contain_text(console_text("kb_kind_build"))
    console.screenshot("admin-2-building")
    v2 = page.locator("#kb-versions tr[data-version='2']")
    expect(v2).to_contain_text(console_text("kb_active"), timeout=JOB_MS)
    expect(page.locator("#kb-job")).to_contain_text(console_text("kb_activated"))
    expect(v2.locator("td").nth(5)).to_have_text(_decimal())
    expect(page.locator("#kb-versions tr[data-version='1'] td").nth(9)).to_have_text(_signed())
    expect(v2.locator(".sources")).to_contain_text("值班安排.csv")
    console.screenshot("admin-3-built")

    # roll back: v1 is active again
    page.get_by_role("button", name=console_text("kb_rollback")).click()
    expect(page.locator(".notice")).to_contain_text("v1")
    expect(page.locator("#kb-versions tr[data-version='1']")).to_contain_text(console_text("kb_active"))
    console.screenshot("admin-4-rolled-back")

    for name, shot in (("admin_faq", "admin-5-faq"), ("admin_staff", "admin-6-staff")):
        page.get_by_role("link", name=console_text(name)).click()
        expect(page.locator("h1")).to_have_text(console_text(name))
        console.screenshot(shot)


def _decimal() -> object:
    import re

    return re.compile(r"^\d\.\d{3}$")


def _signed() -> object:
    import re

    return re.compile(r"^[+-]\d\.\d{3}$")

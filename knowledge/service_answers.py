"""Answers about the hotline itself (人工几点上班, 周末有人吗, 怎么转人工), from the handoff settings:
staff hours as configured, working days in Chinese, days off and make-up working days ahead.
Texts: prompts/service_hours.md, prompts/service_labels.md, prompts/handoff_weekdays.md."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache
from string import Template
from zoneinfo import ZoneInfo

import prompts
from config.settings import HandoffSettings
from knowledge.intent import load_keyword_sections

#: How many runs of days off (or make-up working days) ahead the answer names.
MAX_DATE_RUNS = 3


@cache
def service_labels() -> dict[str, str]:
    """The ``name = text`` lines of prompts/service_labels.md."""
    labels = {}
    for line in prompts.load("service_labels").splitlines():
        name, sep, text = line.partition("=")
        if sep and not line.startswith("#"):
            labels[name.strip()] = text.strip()
    return labels


def describe_weekdays(weekdays: Iterable[int]) -> str:
    """ISO weekdays in Chinese: [1, 2, 3, 4, 5] → 周一至周五, [1, 3] → 周一、周三."""
    sections = load_keyword_sections("handoff_weekdays")
    names, joiner = sections.get("names", ()), (sections.get("range") or ("-",))[0]
    runs: list[list[int]] = []
    for day in sorted(set(weekdays)):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return "、".join(
        f"{names[r[0] - 1]}{joiner}{names[r[-1] - 1]}" if len(r) > 2 else "、".join(names[d - 1] for d in r)
        for r in runs
    )


def _date_runs(days: Iterable[date], today: date) -> str:
    """Consecutive dates from ``today`` on as 10月1日至10月8日, the first few runs only."""
    labels = service_labels()
    ahead = sorted({d for d in days if d >= today})
    runs: list[list[date]] = []
    for day in ahead:
        if runs and runs[-1][-1] == day - timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])

    def label(day: date) -> str:
        return Template(labels["date"]).substitute(month=day.month, day=day.day)

    return "、".join(
        label(r[0])
        if len(r) == 1
        else Template(labels["date_range"]).substitute(first=label(r[0]), last=label(r[-1]))
        for r in runs[:MAX_DATE_RUNS]
    )


def service_answer(settings: HandoffSettings, today: date | None = None) -> str:
    """Staff hours, working days, days off and how to reach a person; only holidays and make-up working
    days from ``today`` on are listed (default: today in the hotline's time zone)."""
    labels = service_labels()
    today = today or datetime.now(ZoneInfo(settings.timezone)).date()
    days_off = labels["days_off"]
    if holidays := _date_runs(settings.holidays, today):
        days_off += Template(labels["holidays"]).substitute(dates=holidays)
    if workdays := _date_runs(settings.workdays, today):
        days_off += Template(labels["workdays"]).substitute(dates=workdays)
    return prompts.render(
        "service_hours",
        days=describe_weekdays(settings.weekdays),
        hours=settings.hours,
        zone=labels.get(settings.timezone, settings.timezone),
        days_off=days_off,
    )

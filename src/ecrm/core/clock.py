"""The one place eCRM asks for the time, so tests can pin it."""

from datetime import date, datetime

from django.utils import timezone

# The days a report or a filter may name: a shop's history, with room on both sides for the
# periods built around them (a week's Monday, the 90 days before an end) without leaving
# Python's calendar.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def now() -> datetime:
    return timezone.now()


def in_calendar(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY

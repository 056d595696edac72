"""Date awareness: "as of" a day, and time words in questions turned into filters and soft preferences."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from index.retriever import DatePreference, SearchFilters

_RECENT = re.compile(r"\b(latest|most recent|recent(ly)?|newest|current(ly)?|now|so far|to date|"
                     r"this (week|month)|past (week|few days)|last (week|few days)|today|yesterday|upcoming|next)\b",
                     re.I)
_WEEK = re.compile(r"\b(this|last|past) week\b|\btoday\b|\byesterday\b|\bthis weekend\b", re.I)
_LAST_YEAR = re.compile(r"\blast year\b", re.I)
_THIS_YEAR = re.compile(r"\bthis year\b", re.I)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")


def scope(question: str, filters: SearchFilters | None, as_of: date | None,
          default_half_life: float | None = None,
          weight: float = 0.5) -> tuple[SearchFilters | None, DatePreference | None]:
    """Restrict to articles published by ``as_of``; prefer recent ones, or the year named, when asked."""
    if as_of is not None:
        before = filters.published_before if filters and filters.published_before else None
        bound = min(before, as_of) if before else as_of
        filters = replace(filters, published_before=bound) if filters else SearchFilters(published_before=bound)
    reference = as_of or date.today()
    half_life: float | None = None
    year: int | None = None
    if _WEEK.search(question):
        half_life = 7.0
    elif _RECENT.search(question):
        half_life = 30.0
    if _LAST_YEAR.search(question):
        year = reference.year - 1
    elif _THIS_YEAR.search(question):
        year = reference.year
    else:
        years = [int(y) for y in _YEAR.findall(question)]
        year = years[-1] if len(years) == 1 else None
    if half_life is None and year is None and as_of is not None:
        half_life = default_half_life
    if half_life is None and year is None:
        return filters, None
    if year is not None and half_life is None and filters and filters.published_after:
        return filters, None
    return filters, DatePreference(reference=reference, half_life_days=half_life, year=year, weight=weight)

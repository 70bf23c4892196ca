"""Messages are short like ruff's (#20): `perfsquad.rule.fit` keeps a templated message within the limit."""

from __future__ import annotations

from perfsquad.rule import MESSAGE_LIMIT, clip, fit


def test_fit_shares_the_room_left_between_the_parts() -> None:
    template = "`{test}` scans the {kind} `{name}` on every iteration; use a set"
    long = fit(template, test="est.__class__.__name__ not in DATA_VALIDATION_META", kind="list",
               name="DATA_VALIDATION_META_ESTIMATORS_TO_IGNORE")  # fmt: skip
    assert len(long) <= MESSAGE_LIMIT and "scans the list `" in long and "\u2026" in long
    short = fit(template, test="x in seen", kind="list", name="seen")
    assert short == "`x in seen` scans the list `seen` on every iteration; use a set"  # nothing cut when it fits


def test_clip() -> None:
    assert clip("abcdef", 4) == "abc\u2026" and clip("abc", 4) == "abc"

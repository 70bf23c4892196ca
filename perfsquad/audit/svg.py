"""Tiny inline-SVG charts for the audit report (no JavaScript, nothing fetched at view time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
FONT = "font-family:system-ui,-apple-system,Segoe UI,sans-serif;font-size:12px"
CHAR_WIDTH = 7
"""A generous average glyph width at 12px: enough room for any label in the chart's font."""


@dataclass(frozen=True)
class Segment:
    label: str
    value: float


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    note: str = ""
    """Text drawn after the bar (e.g. ``1.23 s``)."""

    @property
    def total(self) -> float:
        return sum(max(s.value, 0.0) for s in self.segments)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def hbar_chart(
    title: str,
    bars: Sequence[Bar],
    series: Sequence[str],
    *,
    width: int = 760,
    label_width: int = 260,
    chart_id: str = "",
    unit: str = "",
) -> str:
    """A horizontal (stacked) bar chart; ``series`` names the segments in legend order."""
    row, top, note_width = 22, 46, 120
    # Labels are never clipped: the label column (and the chart) widen to the longest one.
    label_width = max(label_width, 10 + CHAR_WIDTH * max((len(b.label) for b in bars), default=0))
    width = max(width, label_width + note_width + 300)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    height = top + max(len(bars), 1) * row + 16
    plot = width - label_width - note_width - 10
    biggest = max((b.total for b in bars), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" style="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    x = 0
    for name in series:
        parts.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{colors[name]}"/>')
        parts.append(f'<text x="{x + 14}" y="35">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    if not bars:
        parts.append(f'<text x="0" y="{top + 14}" fill="#666">nothing to show</text>')
    for i, bar in enumerate(bars):
        y = top + i * row
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end"><title>{escape(bar.label)}</title>'
            f"{escape(bar.label)}</text>"
        )
        cx = float(label_width)
        for seg in bar.segments:
            if seg.value <= 0:
                continue
            w = plot * seg.value / biggest
            parts.append(
                f'<rect class="bar" x="{cx:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row - 6}" '
                f'fill="{colors.get(seg.label, PALETTE[0])}"><title>{escape(bar.label)} · {escape(seg.label)}: '
                f"{_fmt(seg.value)}{escape(unit)}</title></rect>"
            )
            cx += w
        note = bar.note or f"{_fmt(bar.total)}{unit}"
        parts.append(f'<text x="{cx + 6:.1f}" y="{y + 14}" fill="#333">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    title: str,
    groups: Sequence[tuple[str, dict[str, int]]],
    series: Sequence[str],
    *,
    width: int = 760,
    height: int = 260,
    chart_id: str = "",
) -> str:
    """Stacked columns (one per group, e.g. a rule family), segments per series (e.g. audit phase)."""
    top, bottom, left = 46, 40, 36
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    plot_h = height - top - bottom
    biggest = max((sum(c.values()) for _, c in groups), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" style="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    x = 0
    for name in series:
        parts.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{colors[name]}"/>')
        parts.append(f'<text x="{x + 14}" y="35">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    base = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>')
    parts.append(f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" fill="#666">{biggest}</text>')
    parts.append(f'<text x="{left - 6}" y="{base}" text-anchor="end" fill="#666">0</text>')
    if not groups:
        parts.append(f'<text x="{left + 10}" y="{top + 20}" fill="#666">nothing to show</text>')
    slot = (width - left - 10) / max(len(groups), 1)
    col_w = min(60.0, slot * 0.6)
    for i, (label, counts) in enumerate(groups):
        cx = left + i * slot + (slot - col_w) / 2
        y = float(base)
        for name in series:
            n = counts.get(name, 0)
            if n <= 0:
                continue
            h = plot_h * n / biggest
            y -= h
            parts.append(
                f'<rect class="bar" x="{cx:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                f'fill="{colors[name]}"><title>{escape(label)} · {escape(name)}: {n}</title></rect>'
            )
        parts.append(
            f'<text x="{cx + col_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{sum(counts.values())}</text>'
        )
        parts.append(
            f'<text x="{cx + col_w / 2:.1f}" y="{base + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

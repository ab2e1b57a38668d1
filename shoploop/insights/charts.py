"""Small server-drawn SVG charts: no JavaScript, no CDN, a 360-unit-wide viewBox that scales to
the page (readable at 390 px). Every label goes through ``escape``; a hidden figure (fewer than k
people) is drawn as an empty bar labelled "<k"."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 360
BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 110
COLOURS = ("#2f6f4e", "#3b6ea5", "#b5651d", "#8a3b8f")


def _hidden_label(k: int) -> str:
    return f"&lt;{k}"


def _svg(height: int, title: str, body: list[str]) -> SafeString:
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="sans-serif" font-size="12"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def bar_chart(title: str, rows: list[tuple[str, float | None, str]], *, k: int = 5) -> SafeString:
    """Horizontal bars: (label, value or None when hidden, text to print at the bar's end)."""
    values = [value for _label, value, _text in rows if value]
    top = max(values, default=1) or 1
    span = WIDTH - LABEL_WIDTH - 50
    body = []
    for i, (label, value, text) in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = 0 if value is None else max(1, round(span * value / top)) if value else 0
        colour = COLOURS[i % len(COLOURS)]
        body.append(
            f'<text x="0" y="{y + 15}" fill="#222">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" '
            f'fill="{colour}" rx="2"/>'
            f'<text x="{LABEL_WIDTH + length + 4}" y="{y + 15}" fill="#222">'
            f"{_hidden_label(k) if value is None else escape(text)}</text>"
        )
    return _svg(GAP + len(rows) * (BAR_HEIGHT + GAP), title, body)


def line_chart(title: str, labels: list[str], values: list[float | None]) -> SafeString:
    """A line over the weeks; hidden weeks are gaps. The first and last labels are printed."""
    height, left, bottom, top_pad = 150, 36, 130, 12
    known = [v for v in values if v is not None]
    top = max(known, default=1) or 1
    step = (WIDTH - left - 10) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return left + i * step, bottom - (bottom - top_pad) * v / top

    body = [
        f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 10}" y2="{bottom}" stroke="#888"/>',
        f'<text x="0" y="{top_pad + 4}" fill="#222">{top:.2f}</text>',
        f'<text x="0" y="{bottom}" fill="#222">0</text>',
    ]
    segment: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if len(segment) > 1:
                body.append(_polyline(segment))
            segment = []
            continue
        x, y = point(i, value)
        segment.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[1]}"/>')
    if len(segment) > 1:
        body.append(_polyline(segment))
    if labels:
        body.append(f'<text x="{left}" y="{height - 4}" fill="#222">{escape(labels[0])}</text>')
        body.append(
            f'<text x="{WIDTH - 10}" y="{height - 4}" fill="#222" text-anchor="end">'
            f"{escape(labels[-1])}</text>"
        )
    return _svg(height, title, body)


def _polyline(points: list[str]) -> str:
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS[1]}" '
        'stroke-width="2"/>'
    )

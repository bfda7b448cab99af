"""Inline SVG charts for the scorecard page, drawn here: no JavaScript, no CDN.

Each function returns one ``<svg>`` element as a string, with every label escaped,
a ``<title>`` per bar or point (the browser shows it on hover) and a text
alternative, so the page works offline and with a screen reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "Series", "bar_chart", "line_chart", "stacked_columns"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
"""Colour per series, in order (colour-blind friendly enough for four partners)."""

_W = 640
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    """A named line of points, one value (or None, a gap) per x label."""

    name: str
    values: Sequence[float | None]


def _svg(height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {_FONT}>'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    colour: str = PALETTE[0],
) -> str:
    """Horizontal bars, one per label, scaled to the largest value."""
    row, left, top = 22, 130, 8
    height = top * 2 + row * max(len(bars), 1)
    top_value = max((v for _, v in bars), default=0.0) or 1.0
    width = _W - left - 80
    body: list[str] = []
    if not bars:
        body.append(_text(left, top + 14, "no data"))
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        length = max(0.0, value) / top_value * width
        body.append(_text(left - 6, y + 14, label, "end"))
        body.append(
            f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{colour}"><title>{escape(f"{label}: {fmt(value)}")}</title></rect>'
        )
        body.append(_text(left + length + 4, y + 14, fmt(value)))
    return _svg(height, title, body)


def _legend(names: Sequence[str], y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        x = 50 + i * 140
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, y, name))
    return out


def _axis(
    left: float, top: float, bottom: float, top_value: float, fmt: Callable[[float], str]
) -> list[str]:
    out = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888"/>']
    for frac in (0.0, 0.5, 1.0):
        y = bottom - frac * (bottom - top)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{_W - 10}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(_text(left - 4, y + 4, fmt(top_value * frac), "end"))
    return out


def _x_labels(labels: Sequence[str], x_of: Callable[[int], float], y: float) -> list[str]:
    step = max(1, len(labels) // 10)  # at most about ten labels fit
    return [_text(x_of(i), y, labels[i], "middle") for i in range(0, len(labels), step)]


def stacked_columns(
    title: str, labels: Sequence[str], stacks: Mapping[str, Sequence[float]]
) -> str:
    """Columns per x label, stacked by series (e.g. messages per day, by partner)."""
    height, left, top, bottom = 240, 50, 26, 200
    totals = [sum(s[i] for s in stacks.values()) for i in range(len(labels))]
    top_value = max(totals, default=0.0) or 1.0
    slot = (_W - left - 10) / max(len(labels), 1)
    body = [*_legend(list(stacks), 14), *_axis(left, top, bottom, top_value, lambda v: f"{v:.0f}")]
    for i, label in enumerate(labels):
        y = float(bottom)
        for k, (name, values) in enumerate(stacks.items()):
            h = values[i] / top_value * (bottom - top)
            y -= h
            body.append(
                f'<rect x="{left + i * slot + slot * 0.15:.1f}" y="{y:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{escape(f'{label} {name}: {values[i]:g}')}</title></rect>"
            )
    body += _x_labels(labels, lambda i: left + (i + 0.5) * slot, bottom + 16)
    if not labels:
        body.append(_text(left + 10, bottom - 10, "no data"))
    return _svg(height, title, body)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    top_value: float = 1.0,
    fmt: Callable[[float], str] = lambda v: f"{v:.0%}",
) -> str:
    """Lines over x labels, one per series; None values leave gaps."""
    height, left, top, bottom = 240, 50, 26, 200
    span = max(len(labels) - 1, 1)

    def x_of(i: int) -> float:
        return left + 10 + i * (_W - left - 30) / span

    def y_of(v: float) -> float:
        return bottom - min(v, top_value) / top_value * (bottom - top)

    body = [*_legend([s.name for s in series], 14), *_axis(left, top, bottom, top_value, fmt)]
    for k, line in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = [(i, v) for i, v in enumerate(line.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for i, v in points:
            tip = escape(f"{line.name} {labels[i]}: {fmt(v)}")
            body.append(
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3" fill="{colour}">'
                f"<title>{tip}</title></circle>"
            )
    body += _x_labels(labels, x_of, bottom + 16)
    if not labels:
        body.append(_text(left + 10, bottom - 10, "no data"))
    return _svg(height, title, body)

"""Inline SVG charts for the console dashboard and the HTML transparency report: plain geometry, no plotting
library and nothing fetched (templates/_bars.html draws them).

Each chart is a dataclass of shapes the template draws, so the numbers are testable without a browser
and every bar carries a text label (screen readers get the figure, not just a shape).
"""

from __future__ import annotations

from dataclasses import dataclass

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 170
PLOT_WIDTH = 320


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the figure as shown, e.g. "1,204" or "37 %"
    y: int
    width: float
    css: str = ""


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH

    @property
    def width(self) -> int:
        return self.label_width + self.plot_width + 70


def bar_chart(title: str, rows: list[tuple[str, float]], *, unit: str = "", scale_to: float | None = None,
              css: dict[str, str] | None = None) -> BarChart:
    """Horizontal bars, longest = `scale_to` (default: the largest value). `css` maps a label to a class."""
    top = scale_to if scale_to is not None else max((v for _, v in rows), default=0)
    bars = []
    for i, (label, value) in enumerate(rows):
        width = 0.0 if top <= 0 else PLOT_WIDTH * min(value, top) / top
        shown = f"{value:,.0f}{unit}" if float(value).is_integer() else f"{value:,.1f}{unit}"
        bars.append(Bar(label=label, value=value, text=shown, y=i * (BAR_HEIGHT + BAR_GAP), width=round(width, 1),
                        css=(css or {}).get(label, "")))
    return BarChart(title=title, bars=tuple(bars), height=max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP))


@dataclass(frozen=True)
class Share:
    """A part of a whole, drawn as one stacked bar: e.g. automated vs human decisions."""

    title: str
    part_label: str
    rest_label: str
    part: int
    total: int

    @property
    def ratio(self) -> float:
        return self.part / self.total if self.total else 0.0

    @property
    def percent(self) -> str:
        return f"{100 * self.ratio:.0f} %" if self.total else "no data"

    @property
    def part_width(self) -> float:
        return round(PLOT_WIDTH * self.ratio, 1)

    @property
    def plot_width(self) -> int:
        return PLOT_WIDTH

"""The e-mail's inline chart: the last six months as bars, drawn as a PNG with Pillow.

Why Pillow: mail clients show no JavaScript and few show SVG, so the chart must be a bitmap;
Plotly's image export needs Kaleido (a Chromium download) and matplotlib is heavy, while Pillow
is one wheel with a built-in scalable font. Heights are computed with ``Decimal`` and rounded to
whole pixels. A month whose total is unknown is an empty box marked "?" (never a zero bar), and
a partial month has a "*" after its amount (and is paler unless it is the report's month).
"""

from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal

from PIL import Image, ImageDraw, ImageFont

from costtracker.reports.model import MonthlyReport, TrendPoint

WIDTH, HEIGHT = 640, 260
TOP, BOTTOM, SIDE = 44, 40, 24
COLOURS = {
    "current": (37, 99, 235),
    "past": (147, 180, 240),
    "partial": (203, 213, 225),
    "axis": (100, 116, 139),
    "text": (15, 23, 42),
    "unknown": (148, 163, 184),
}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def short_money(amount: Decimal, currency: str) -> str:
    """``$1,234`` under 100k, ``$123k`` above: a bar label must stay narrow."""
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    if amount >= 100_000:
        return f"{symbol}{(amount / 1000).quantize(Decimal(1), ROUND_HALF_UP):,}k"
    return f"{symbol}{amount.quantize(Decimal(1), ROUND_HALF_UP):,}"


def bar_height(total: Decimal, highest: Decimal, room: int) -> int:
    """Pixels for ``total`` when ``highest`` fills ``room`` (at least 1 pixel for any spend)."""
    if highest <= 0 or total <= 0:
        return 0
    return max(1, int((total * room / highest).quantize(Decimal(1), ROUND_HALF_UP)))


def trend_png(report: MonthlyReport) -> bytes:
    """The PNG bytes of the chart (deterministic for a given report and Pillow version)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text(
        (SIDE, 12),
        f"Monthly costs ({report.currency}), last {len(report.trend)} months",
        fill=COLOURS["text"],
        font=_font(15),
    )
    points = report.trend or []
    notes = [
        text
        for status, text in (("partial", "* partial"), ("unknown", "? unknown"))
        if any(point.status == status or (status == "unknown" and point.total is None) for point in points)
    ]
    if notes:
        draw.text((WIDTH - SIDE, 14), "   ".join(notes), fill=COLOURS["axis"], font=_font(12), anchor="ra")
    known = [point.total for point in points if point.total is not None]
    highest = max(known, default=Decimal(0))
    baseline = HEIGHT - BOTTOM
    draw.line([(SIDE, baseline), (WIDTH - SIDE, baseline)], fill=COLOURS["axis"], width=1)
    slot = (WIDTH - 2 * SIDE) // max(1, len(points))
    for index, point in enumerate(points):
        left = SIDE + index * slot + slot // 5
        right = SIDE + (index + 1) * slot - slot // 5
        _bar(draw, point, (left, right, baseline), highest, report)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _bar(
    draw: ImageDraw.ImageDraw,
    point: TrendPoint,
    box: tuple[int, int, int],
    highest: Decimal,
    report: MonthlyReport,
) -> None:
    left, right, baseline = box
    small = _font(12)
    centre = (left + right) // 2
    draw.text((centre, baseline + 8), point.month, fill=COLOURS["text"], font=small, anchor="mt")
    room = baseline - TOP - 18
    if point.total is None:
        draw.rectangle([left, baseline - room // 3, right, baseline], outline=COLOURS["unknown"], width=1)
        draw.text((centre, baseline - room // 3 - 4), "?", fill=COLOURS["unknown"], font=small, anchor="mb")
        return
    height = bar_height(point.total, highest, room)
    colour = "current" if point.month == report.month else "partial" if point.status == "partial" else "past"
    if height:
        draw.rectangle([left, baseline - height, right, baseline - 1], fill=COLOURS[colour])
    label = short_money(point.total, report.currency) + ("*" if point.status == "partial" else "")
    draw.text((centre, baseline - height - 4), label, fill=COLOURS["text"], font=small, anchor="mb")

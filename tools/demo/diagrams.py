"""Simple line diagrams for the demo manuals, drawn with reportlab graphics.

Every label is real text (``String``), so it is extractable from the PDF. Each
function takes the available width in points and returns a ``Drawing``; the
manuals name them in ``@figure name: Caption`` lines.
"""

from __future__ import annotations

from collections.abc import Callable

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors

INK = colors.HexColor("#1E2328")
GREY = colors.HexColor("#5F6B76")
STEEL = colors.HexColor("#4A5560")
NAVY = colors.HexColor("#1B3A5C")
RED = colors.HexColor("#B3261E")
TEAL = colors.HexColor("#2A7F8E")


def _text(d, x, y, s, size=8.0, bold=False, anchor="start", color=INK) -> None:
    d.add(
        String(
            x,
            y,
            s,
            fontName="Helvetica-Bold" if bold else "Helvetica",
            fontSize=size,
            fillColor=color,
            textAnchor=anchor,
        )
    )


def _leader(d, x1, y1, x2, y2) -> None:
    """A thin line from a point on the drawing (dot) to a label."""
    d.add(Circle(x1, y1, 1.8, fillColor=INK, strokeColor=None))
    d.add(Line(x1, y1, x2, y2, strokeColor=GREY, strokeWidth=0.6))


def _dashed(d, x1, y1, x2, y2, color=NAVY, width=1.2) -> None:
    d.add(Line(x1, y1, x2, y2, strokeColor=color, strokeWidth=width, strokeDashArray=[4, 3]))


def _arrow_right(d, x1, x2, y, color=NAVY) -> None:
    d.add(Line(x1, y, x2 - 6, y, strokeColor=color, strokeWidth=1.6))
    d.add(Polygon([x2, y, x2 - 8, y + 4, x2 - 8, y - 4], fillColor=color, strokeColor=None))


def fryer_vat(width: float) -> Drawing:
    d = Drawing(width, 240)
    oil = colors.HexColor("#F4D58D")
    d.add(
        Polygon(
            [40, 175, 40, 95, 85, 45, 185, 45, 230, 95, 230, 175], fillColor=oil, strokeColor=None
        )
    )
    # heating tubes and probe
    for x in (65, 100, 135, 170, 205):
        d.add(Circle(x, 108, 9, fillColor=colors.HexColor("#8A8F94"), strokeColor=STEEL))
    d.add(Rect(219, 112, 4, 30, fillColor=INK, strokeColor=None))
    # basket support screen and basket
    d.add(Line(42, 122, 228, 122, strokeColor=STEEL, strokeWidth=1, strokeDashArray=[2, 2]))
    d.add(
        Rect(
            70,
            126,
            128,
            64,
            fillColor=None,
            strokeColor=colors.HexColor("#6B7780"),
            strokeWidth=1.2,
            strokeDashArray=[3, 2],
        )
    )
    d.add(Line(198, 188, 250, 226, strokeColor=INK, strokeWidth=3))
    # fill and low lines
    _dashed(d, 40, 175, 240, 175, NAVY)
    _dashed(d, 40, 150, 240, 150, RED)
    _text(d, 46, 178, "FILL", 7, bold=True, color=NAVY)
    _text(d, 46, 153, "LOW", 7, bold=True, color=RED)
    # vat walls, drain pipe and valve
    d.add(
        PolyLine(
            [40, 215, 40, 95, 85, 45, 185, 45, 230, 95, 230, 215], strokeColor=STEEL, strokeWidth=3
        )
    )
    d.add(Rect(130, 18, 10, 27, fillColor=colors.HexColor("#8A8F94"), strokeColor=STEEL))
    d.add(Rect(140, 26, 32, 7, fillColor=colors.HexColor("#E2B007"), strokeColor=STEEL))

    lx = 292
    labels = [
        (198, 188, 206, "Fry basket: fill no more than half full (1.5 lb)"),
        (240, 175, 180, "FILL line: top off to here with oil at 350°F"),
        (240, 150, 154, "LOW line: never heat or cook below this line"),
        (223, 130, 128, "Temperature probe: keep it free of crumbs"),
        (214, 108, 102, "Heating tubes: must always be under oil"),
        (150, 58, 76, "Cold zone: crumbs settle here, below the tubes"),
        (172, 30, 32, "Drain valve (yellow handle): closed in service"),
    ]
    for x, y, ly, label in labels:
        _leader(d, x, y, lx - 4, ly + 3)
        _text(d, lx, ly, label, 8.2)
    return d


def grill_gap(width: float) -> Drawing:
    d = Drawing(width, 190)
    # side view: grill plate, patty, release sheet, platen, hinge post
    d.add(Rect(20, 50, 220, 22, fillColor=colors.HexColor("#55606B"), strokeColor=None))
    d.add(Rect(95, 72, 70, 14, rx=5, ry=5, fillColor=colors.HexColor("#7B4A2D"), strokeColor=None))
    d.add(Rect(20, 86, 220, 3, fillColor=colors.HexColor("#D9C27A"), strokeColor=None))
    d.add(Rect(20, 89, 220, 20, fillColor=colors.HexColor("#8C98A4"), strokeColor=STEEL))
    d.add(Rect(240, 95, 18, 8, fillColor=STEEL, strokeColor=None))
    d.add(Rect(256, 40, 8, 98, fillColor=STEEL, strokeColor=None))
    # the gap, dimensioned
    d.add(Line(60, 72, 60, 86, strokeColor=RED, strokeWidth=1))
    d.add(Line(55, 72, 65, 72, strokeColor=RED, strokeWidth=1))
    d.add(Line(55, 86, 65, 86, strokeColor=RED, strokeWidth=1))
    _text(d, 67, 76, "gap", 7.5, bold=True, color=RED)
    _text(d, 130, 116, "Upper platen 425°F (release sheet on its underside)", 7.8, anchor="middle")
    _text(d, 130, 37, "Lower grill plate 350°F", 7.8, anchor="middle")
    _text(d, 140, 176, "Clamshell (side view)", 8.5, bold=True, anchor="middle")
    _text(d, 130, 76, "patty", 7, anchor="middle", color=colors.white)

    # gap gauge, side view, step heights drawn to scale (120 pt per inch)
    x0, base, step_w, scale = 292, 62, 52, 120
    steps = [
        ("A", 0.20, ["Dock Junior"]),
        ("B", 0.34, ["Harbor Quarter", "Veggie patty"]),
        ("C", 0.42, ["Captain"]),
        ("D", 0.50, ["Grilled", "chicken"]),
    ]
    points = [x0, base]
    for n, (_, inches, _) in enumerate(steps):
        h = base + inches * scale
        points += [x0 + n * step_w, h, x0 + (n + 1) * step_w, h]
    points += [x0 + len(steps) * step_w, base]
    d.add(Polygon(points, fillColor=colors.HexColor("#C9D1D8"), strokeColor=STEEL, strokeWidth=1))
    for n, (letter, inches, products) in enumerate(steps):
        cx = x0 + n * step_w + step_w / 2
        top = base + inches * scale
        _text(d, cx, top + 12, f"Step {letter}", 7.5, bold=True, anchor="middle", color=NAVY)
        _text(d, cx, top + 3, f"{inches:.2f} in", 7.5, anchor="middle")
        for k, product in enumerate(products):
            _text(d, cx, base - 11 - 9 * k, product, 7, anchor="middle", color=GREY)
    _text(d, x0 + 2 * step_w, 176, "Gap gauge (side view)", 8.5, bold=True, anchor="middle")
    return d


def softserve_hopper(width: float) -> Drawing:
    d = Drawing(width, 236)
    # hopper with mix
    d.add(Rect(70, 110, 140, 75, fillColor=colors.HexColor("#F5EBD3"), strokeColor=None))
    d.add(PolyLine([70, 220, 70, 110, 210, 110, 210, 220], strokeColor=STEEL, strokeWidth=2.5))
    _dashed(d, 70, 200, 210, 200, NAVY)
    _dashed(d, 70, 135, 210, 135, RED)
    _text(d, 75, 203, "FILL", 7, bold=True, color=NAVY)
    _text(d, 75, 138, "MIX LOW", 7, bold=True, color=RED)
    d.add(Rect(202, 131, 8, 8, fillColor=INK, strokeColor=None))
    # agitator
    d.add(Line(120, 128, 120, 178, strokeColor=STEEL, strokeWidth=2))
    d.add(Rect(110, 116, 20, 12, fillColor=colors.HexColor("#9AA6B1"), strokeColor=STEEL))
    # feed tube into the freezing cylinder
    d.add(Rect(166, 75, 8, 45, fillColor=colors.HexColor("#DDE6EE"), strokeColor=STEEL))
    d.add(Rect(60, 40, 190, 35, fillColor=colors.HexColor("#DDE6EE"), strokeColor=STEEL))
    zig = []
    for n in range(18):
        zig += [70 + n * 10, 46 if n % 2 else 69]
    d.add(PolyLine(zig, strokeColor=STEEL, strokeWidth=1.2))
    # door, draw valve and handle
    d.add(Rect(45, 33, 15, 48, fillColor=colors.HexColor("#9AA6B1"), strokeColor=STEEL))
    d.add(Rect(42, 16, 12, 17, fillColor=colors.HexColor("#9AA6B1"), strokeColor=STEEL))
    d.add(Line(52, 81, 30, 104, strokeColor=INK, strokeWidth=3))

    lx = 292
    labels = [
        (210, 200, 212, "FILL mark: 2 in below the rim, never above it"),
        (190, 165, 186, "Mix hopper: 20 qt, mix at 41°F or below"),
        (120, 160, 162, "Agitator: keeps the mix blended and even"),
        (210, 135, 136, "MIX LOW sensor: add mix before it is exposed"),
        (174, 100, 106, "Mix feed tube: meters mix and air into the cylinder"),
        (250, 60, 62, "Freezing cylinder: beater and scraper blades"),
        (48, 24, 28, "Door, draw valve and draw handle"),
    ]
    for x, y, ly, label in labels:
        _leader(d, x, y, lx - 4, ly + 3)
        _text(d, lx, ly, label, 8.2)
    return d


def walkin_shelves(width: float) -> Drawing:
    d = Drawing(width, 262)
    shelves = [
        (
            210,
            colors.HexColor("#5BA56B"),
            "Ready-to-eat food",
            "Produce, cheese, sauces, dessert mix, cooked food",
        ),
        (170, colors.HexColor("#4F86C6"), "Seafood", "Fish fillets (cook to 145°F)"),
        (
            130,
            colors.HexColor("#C9704F"),
            "Whole cuts of beef and pork",
            "Whole-muscle cuts, raw bacon (cook to 145°F)",
        ),
        (90, colors.HexColor("#9E3B3B"), "Ground meats", "Beef patties (cook to 155°F)"),
        (
            50,
            colors.HexColor("#D9A93B"),
            "Raw poultry",
            "Raw chicken: breasts, fillets, nuggets (cook to 165°F)",
        ),
    ]
    d.add(Line(10, 20, 262, 20, strokeColor=INK, strokeWidth=2))
    _text(d, 14, 8, "floor", 7, color=GREY)
    for x in (40, 226):
        d.add(Rect(x, 20, 4, 232, fillColor=STEEL, strokeColor=None))
    lx = 276
    for n, (y, color, title, detail) in enumerate(shelves, 1):
        d.add(Rect(40, y, 190, 4, fillColor=STEEL, strokeColor=None))
        for bx, bw in ((54, 48), (108, 56), (170, 48)):
            d.add(Rect(bx, y + 4, bw, 24, fillColor=color, strokeColor=INK, strokeWidth=0.5))
        d.add(Circle(24, y + 16, 9, fillColor=NAVY, strokeColor=None))
        _text(d, 24, y + 13, str(n), 9, bold=True, anchor="middle", color=colors.white)
        d.add(Line(232, y + 16, lx - 4, y + 16, strokeColor=GREY, strokeWidth=0.6))
        where = {1: " (top)", len(shelves): " (bottom)"}.get(n, "")
        _text(d, lx, y + 19, f"Shelf {n}{where}: {title}", 8.6, bold=True)
        _text(d, lx, y + 8, detail, 7.8, color=GREY)
    # 6 in clearance
    d.add(Line(248, 20, 248, 50, strokeColor=RED, strokeWidth=1))
    d.add(Line(243, 50, 253, 50, strokeColor=RED, strokeWidth=1))
    _text(d, lx, 30, "Lowest shelf at least 6 in off the floor", 7.8, bold=True, color=RED)
    return d


def three_compartment_sink(width: float) -> Drawing:
    d = Drawing(width, 160)
    boxes = [
        (10, 82, None, "SOILED", ["Scrape and", "pre-rinse", "into the trash", "or disposal"]),
        (
            96,
            100,
            colors.HexColor("#CFE3F2"),
            "1  WASH",
            ["Detergent solution", "Water at least 110°F", "Scrub off all soil"],
        ),
        (
            200,
            100,
            colors.HexColor("#E4F1F8"),
            "2  RINSE",
            ["Clear, clean water", "Rinse off all", "detergent"],
        ),
        (
            304,
            100,
            colors.HexColor("#D8EFE3"),
            "3  SANITIZE",
            ["Quat 200 to 400 ppm", "Water at least 75°F", "Soak at least 60 s"],
        ),
        (408, 82, None, "CLEAN", ["Air-dry only:", "never towel-dry;", "store inverted"]),
    ]
    for x, w, fill, title, lines in boxes:
        if fill is None:
            d.add(Rect(x, 50, w, 90, fillColor=colors.HexColor("#EEF1F3"), strokeColor=STEEL))
            for k in range(3):
                d.add(
                    Line(
                        x + 8,
                        56 + 5 * k,
                        x + w - 8,
                        56 + 5 * k,
                        strokeColor=colors.HexColor("#C5CCD2"),
                        strokeWidth=0.6,
                    )
                )
        else:
            d.add(Rect(x, 50, w, 90, fillColor=colors.white, strokeColor=STEEL, strokeWidth=2))
            d.add(Rect(x + 5, 55, w - 10, 64, fillColor=fill, strokeColor=None))
        _text(d, x + w / 2, 126, title, 9, bold=True, anchor="middle", color=NAVY)
        for k, line in enumerate(lines):
            _text(d, x + w / 2, 106 - 11 * k, line, 7.6, anchor="middle")
    _arrow_right(d, 30, 480, 32)
    _text(d, 250, 14, "Work flows left to right: soiled to clean", 8.2, bold=True, anchor="middle")
    return d


def opening_timeline(width: float) -> Drawing:
    rows = [
        ("Lights, alarm, hand sinks", [("task", 0, 5)]),
        ("Walk-in temperatures", [("task", 5, 10)]),
        ("Exhaust hood fans ON", [("ready", 10, 120)]),
        ("Fryers ON (melt cycle)", [("heat", 15, 35), ("ready", 35, 120)]),
        ("Dish machine fill and heat", [("heat", 15, 45), ("ready", 45, 120)]),
        ("Clamshell grill ON", [("heat", 30, 50), ("ready", 50, 120), ("mark", 60, 60)]),
        ("Holding cabinets ON", [("heat", 45, 65), ("ready", 65, 120)]),
        ("Soft-serve freezer AUTO", [("heat", 60, 75), ("ready", 75, 120)]),
        ("POS, headsets, drive-thru", [("task", 75, 90)]),
        ("Temperature log HB-F-12", [("task", 90, 105)]),
        ("Pre-shift huddle", [("task", 105, 115)]),
        ("Doors open", [("mark", 120, 120)]),
    ]
    row_h = 16
    top = 28 + row_h * len(rows)
    d = Drawing(width, top + 26)
    x0, x1 = 132, width - 14
    per_min = (x1 - x0) / 120
    fills = {
        "task": TEAL,
        "heat": colors.HexColor("#F2C27B"),
        "ready": colors.HexColor("#7A95B3"),
    }
    for minute in range(0, 121, 15):
        x = x0 + minute * per_min
        d.add(Line(x, 24, x, top + 2, strokeColor=colors.HexColor("#D5DBE0"), strokeWidth=0.5))
        hour, mins = divmod(8 * 60 + 30 + minute, 60)
        _text(d, x, top + 8, f"{hour}:{mins:02d}", 7.5, anchor="middle", color=GREY)
    for n, (label, bars) in enumerate(rows):
        y = top - row_h * (n + 1)
        _text(d, x0 - 6, y + 4, label, 7.8, anchor="end")
        for kind, start, end in bars:
            if kind == "mark":
                x = x0 + start * per_min
                d.add(Polygon([x, y + 12, x - 5, y + 1, x + 5, y + 1], fillColor=RED))
            else:
                d.add(
                    Rect(
                        x0 + start * per_min,
                        y + 2,
                        (end - start) * per_min,
                        9,
                        fillColor=fills[kind],
                        strokeColor=None,
                    )
                )
    legend = [
        (TEAL, "task"),
        (fills["heat"], "heating up"),
        (fills["ready"], "on and ready"),
        (RED, "check or event"),
    ]
    x = x0
    for color, text in legend:
        d.add(Rect(x, 6, 10, 8, fillColor=color, strokeColor=None))
        _text(d, x + 14, 7, text, 7.5)
        x += 86
    return d


def food_temperatures(width: float) -> Drawing:
    d = Drawing(width, 292)

    def y_of(temp: float) -> float:
        return 40 + (temp + 10) * 1.2

    # danger zone band
    d.add(
        Rect(
            100,
            y_of(41),
            width - 110,
            y_of(135) - y_of(41),
            fillColor=colors.HexColor("#FBEAE8"),
            strokeColor=None,
        )
    )
    _text(d, 330, y_of(100), "TEMPERATURE DANGER ZONE", 10, bold=True, anchor="middle", color=RED)
    _text(
        d,
        330,
        y_of(100) - 13,
        "41°F to 135°F: bacteria multiply fastest here",
        8,
        anchor="middle",
        color=RED,
    )
    # thermometer
    d.add(Rect(70, 30, 16, 250, rx=8, ry=8, fillColor=colors.white, strokeColor=STEEL))
    d.add(Rect(74, 30, 8, y_of(155) - 30, fillColor=RED, strokeColor=None))
    d.add(Circle(78, 26, 13, fillColor=RED, strokeColor=STEEL))
    # (temperature, label, bold, label raised by): the top four are spread apart
    marks = [
        (165, "165°F  Poultry; reheating for hot holding; veggie patty", True, 16),
        (155, "155°F  Ground beef patties (17 s)", True, 12),
        (145, "145°F  Fish; whole cuts of beef and pork (15 s)", True, 8),
        (135, "135°F  Hot holding: keep hot food at 135°F or above", True, 4),
        (70, "70°F  Cooling, stage 1: from 135°F to 70°F within 2 hours", False, 0),
        (41, "41°F  Cold holding: 41°F or below; cooling stage 2 ends here", True, 0),
        (0, "0°F  Walk-in freezer: 0°F or below", True, 0),
    ]
    for temp, label, bold, raise_by in marks:
        y = y_of(temp)
        color = INK if bold else GREY
        d.add(Line(86, y, 98, y, strokeColor=color, strokeWidth=1))
        d.add(Line(98, y, 108, y + raise_by, strokeColor=color, strokeWidth=0.6))
        _text(d, 112, y + raise_by - 3, label, 8.2, bold=bold, color=color)
    return d


DIAGRAMS: dict[str, Callable[[float], Drawing]] = {
    "fryer_vat": fryer_vat,
    "grill_gap": grill_gap,
    "softserve_hopper": softserve_hopper,
    "walkin_shelves": walkin_shelves,
    "three_compartment_sink": three_compartment_sink,
    "opening_timeline": opening_timeline,
    "food_temperatures": food_temperatures,
}

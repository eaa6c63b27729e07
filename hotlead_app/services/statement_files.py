"""A monthly statement as files: CSV (for a spreadsheet or accounting import) and PDF
(to file), from a ``reads.statements.Statement``.

CSV: one table with readable headers; an "Opening balance" row first, one row per
entry, a "Total" row per entry type, and a "Closing balance" row last; money as plain
Decimal numbers (``-12.00``), every text cell neutralised against formula injection
(``csv_export``).  PDF: fpdf2 with the bundled DejaVu Sans (any provider name prints),
a text wordmark and the flame of ``assets/logo.svg``, the account and the period, a
summary, the entries in a table whose header repeats on every page, the totals per
type, and "Page n of N" on every page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

from hotlead_app.domain.statements import type_text
from hotlead_app.services.csv_export import Number, csv_line
from hotlead_app.services.statements import Statement

BRAND = "Find Me A Hot Lead"
FONTS = Path(__file__).resolve().parent.parent / "fonts"
ORANGE = (234, 88, 12)
INK = (28, 25, 23)
MUTED = (120, 113, 108)
RULE = (214, 211, 209)
BAND = (250, 245, 240)
# The logo's flame (assets/logo.svg without its text, which fpdf2 draws itself).
FLAME_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    b'<rect x="0" y="0" width="64" height="64" rx="14" fill="#1c1917"/>'
    b'<path d="M32 58 C19 58 12 49 12 39 C12 28 20 22 23 11 C28 16 30 21 29 27 C33 23 35 15 33 5 '
    b'C45 13 52 26 52 39 C52 49 45 58 32 58 Z" fill="#f97316"/>'
    b'<path d="M32 54 C25 54 21 49 21 43 C21 37 26 33 28 27 C31 31 32 35 31 40 C35 38 38 34 38 29 '
    b'C42 34 43 38 43 43 C43 49 39 54 32 54 Z" fill="#fde047"/></svg>'
)


def file_name(st: Statement, ext: str) -> str:
    return f"statement-{st.month.key}.{ext}"


# --------------------------------------------------------------------------- CSV

CSV_HEADERS = [
    "Date",
    "Time zone",
    "Type",
    "Description",
    "Reference",
    "Amount",
    "Balance",
    "Entry ID",
]


def statement_csv(st: Statement) -> Iterator[str]:
    """The statement's CSV lines (each with its line end)."""
    yield csv_line(CSV_HEADERS)
    zone = st.time_zone
    yield csv_line([_day(st.start, st), zone, "Opening balance", st.month.label, "", None, st.opening, ""])
    for line in st.lines:
        yield csv_line(
            [
                line.local_time.strftime("%Y-%m-%d %H:%M:%S"),
                zone,
                line.type_text,
                line.description,
                line.reference,
                Number(line.amount, plus_sign=True),
                line.balance,
                line.entry_id,
            ]
        )
    for total in st.totals:
        noun = "entry" if total.count == 1 else "entries"
        yield csv_line(
            [
                "",
                "",
                f"Total: {type_text(total.type)}",
                f"{total.count} {noun}",
                "",
                Number(total.signed_total, plus_sign=True),
                None,
                "",
            ]
        )
    closing = "Balance to date" if st.to_date else "Closing balance"
    last = st.generated_at if st.to_date else st.end - timedelta(microseconds=1)
    yield csv_line([_day(last, st), zone, closing, st.month.label, "", Number(st.net, plus_sign=True), st.closing, ""])


def _day(moment: datetime, st: Statement) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(st.time_zone)).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------- PDF


def money_text(amount: Decimal, *, plus: bool = False) -> str:
    """``1530`` -> ``1,530.00``; ``-5`` -> ``-5.00``; with ``plus`` a gain shows ``+``."""
    text = f"{abs(amount):,.2f}"
    if amount < 0:
        return "-" + text
    return ("+" + text) if plus and amount > 0 else text


def _long_date(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


def statement_pdf(st: Statement, *, currency: str = "USD") -> bytes:
    """The statement as a PDF file (US Letter, portrait)."""
    from zoneinfo import ZoneInfo

    from fpdf import FPDF, FontFace
    from fpdf.enums import TableBordersLayout

    tz = ZoneInfo(st.time_zone)
    first_day = st.start.astimezone(tz)
    last_day = (st.end - timedelta(microseconds=1)).astimezone(tz)
    generated = st.generated_at.astimezone(tz)
    title = f"Statement {st.month.label}" + (" (to date)" if st.to_date else "")

    class Doc(FPDF):
        def header(self) -> None:
            self.set_y(12)
            self.image(BytesIO(FLAME_SVG), x=15, y=11, w=13, h=13)
            self.set_xy(30, 11.2)
            self.set_font("DejaVu", "", 9)
            self.set_text_color(*MUTED)
            self.cell(60, 4.5, "Find Me A")
            self.set_xy(30, 15.6)
            self.set_font("DejaVu", "B", 14)
            self.set_text_color(*ORANGE)
            self.cell(60, 7, "Hot Lead")
            self.set_xy(-95, 11)
            self.set_font("DejaVu", "B", 15)
            self.set_text_color(*INK)
            self.cell(80, 7, "Account statement", align="R")
            self.set_xy(-95, 18)
            self.set_font("DejaVu", "", 9.5)
            self.set_text_color(*MUTED)
            self.cell(80, 5, st.month.label + (" — to date" if st.to_date else ""), align="R")
            self.set_draw_color(*ORANGE)
            self.set_line_width(0.6)
            self.line(15, 27, self.w - 15, 27)
            self.set_y(32)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(15, self.get_y(), self.w - 15, self.get_y())
            self.set_y(-12)
            self.set_font("DejaVu", "", 7.5)
            self.set_text_color(*MUTED)
            self.cell(0, 5, f"{BRAND} · {st.provider_name} · {st.month.label}", align="L")
            self.set_x(15)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    pdf = Doc(orientation="P", unit="mm", format="Letter")
    pdf.set_title(f"{BRAND} — {title} — {st.provider_name}")
    pdf.set_author(BRAND)
    pdf.set_creator(BRAND)
    pdf.set_creation_date(st.generated_at)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(15, 32, 15)
    pdf.set_auto_page_break(True, margin=20)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.w - 30

    # Account and period
    def pair(label: str, value: str, x: float, y: float, w: float, bold: bool = False) -> None:
        pdf.set_xy(x, y)
        pdf.set_font("DejaVu", "", 7.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(w, 4, label.upper())
        pdf.set_xy(x, y + 4.2)
        pdf.set_font("DejaVu", "B" if bold else "", 10)
        pdf.set_text_color(*INK)
        pdf.multi_cell(w, 5, value)

    top = pdf.get_y()
    pair("Account", st.provider_name, 15, top, 90, bold=True)
    pdf.set_xy(15, pdf.get_y())
    pdf.set_font("DejaVu", "", 8.5)
    pdf.set_text_color(*MUTED)
    pdf.cell(90, 4.5, st.provider_email)
    pdf.set_xy(15, pdf.get_y() + 4.5)
    pdf.cell(90, 4.5, f"Account ID {st.provider_id}")
    left_bottom = pdf.get_y() + 4.5
    period_value = f"{_long_date(first_day)} – " + (
        f"{_long_date(generated)} (to date)" if st.to_date else _long_date(last_day)
    )
    pair("Period", period_value, 115, top, width - 100)
    pdf.set_xy(115, pdf.get_y())
    pdf.set_font("DejaVu", "", 8.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(width - 100, 4.5, f"Times in {st.time_zone}, the account's time zone")
    pdf.set_xy(115, pdf.get_y())
    pdf.cell(width - 100, 4.5, f"Amounts in {currency} · issued {_long_date(generated)} {generated:%H:%M}")
    y = max(left_bottom, pdf.get_y() + 4.5) + 5

    # Summary boxes
    credits = sum((t.signed_total for t in st.totals if t.signed_total > 0), Decimal("0.00"))
    debits = sum((t.signed_total for t in st.totals if t.signed_total < 0), Decimal("0.00"))
    boxes = [
        ("Opening balance", money_text(st.opening)),
        ("Money in", money_text(credits, plus=True)),
        ("Money out", money_text(debits)),
        ("Balance to date" if st.to_date else "Closing balance", money_text(st.closing)),
    ]
    box_w = (width - 3 * 4) / 4
    for i, (label, value) in enumerate(boxes):
        x = 15 + i * (box_w + 4)
        last = i == len(boxes) - 1
        pdf.set_fill_color(*(ORANGE if last else BAND))
        pdf.set_draw_color(*(ORANGE if last else RULE))
        pdf.set_line_width(0.2)
        pdf.rect(x, y, box_w, 17, style="DF")
        pdf.set_xy(x + 3, y + 2.5)
        pdf.set_font("DejaVu", "", 7.5)
        pdf.set_text_color(*((255, 255, 255) if last else MUTED))
        pdf.cell(box_w - 6, 4, f"{label.upper()} ({currency})")
        pdf.set_xy(x + 3, y + 8)
        pdf.set_font("DejaVu", "B", 12.5)
        pdf.set_text_color(*((255, 255, 255) if last else INK))
        pdf.cell(box_w - 6, 6, value, align="R")
    pdf.set_y(y + 23)

    # Entries
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.set_text_color(*INK)
    pdf.cell(0, 6, "Transactions", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    # Drawn row by row with single-line cells (fpdf2's table() lays out every cell as a
    # paragraph: minutes for a month of thousands of entries); text too long for its
    # column is shortened with an ellipsis (the CSV has it whole).
    columns = (
        ("Date", 31, "L"),
        ("Type", 21, "L"),
        ("Description", 52, "L"),
        ("Reference", 34, "L"),
        ("Amount", 24, "R"),
        ("Balance", 24, "R"),
    )
    row_h = 5.8
    pdf.c_margin = 1.5

    def fit(text: str, w: float) -> str:
        room = w - 2 * pdf.c_margin
        if pdf.get_string_width(text) <= room:
            return text
        while text and pdf.get_string_width(text + "…") > room:
            text = text[:-1]
        return text + "…"

    def header_row() -> None:
        pdf.set_font("DejaVu", "B", 7.5)
        pdf.set_fill_color(*INK)
        pdf.set_text_color(255, 255, 255)
        for title, w, align in columns:
            pdf.cell(w, 6.5, title, align=align, fill=True)
        pdf.ln(6.5)

    def row(values: list[str], *, bold: bool = False, shaded: bool = False) -> None:
        if pdf.get_y() + row_h > pdf.page_break_trigger:
            pdf.add_page()
            header_row()
        pdf.set_font("DejaVu", "B" if bold else "", 7.5)
        pdf.set_text_color(*INK)
        pdf.set_fill_color(*BAND)
        y = pdf.get_y()
        for value, (_title, w, align) in zip(values, columns, strict=True):
            pdf.cell(w, row_h, fit(value, w), align=align, fill=shaded)
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.15)
        pdf.line(15, y + row_h, 15 + width, y + row_h)
        pdf.ln(row_h)

    if pdf.get_y() + 6.5 + 2 * row_h > pdf.page_break_trigger:
        pdf.add_page()
    header_row()
    row([f"{first_day:%Y-%m-%d}", "", "Opening balance", "", "", money_text(st.opening)], bold=True)
    for i, line in enumerate(st.lines):
        row(
            [
                f"{line.local_time:%Y-%m-%d %H:%M}",
                line.type_text,
                line.description,
                _short_ref(line.reference),
                money_text(line.amount, plus=True),
                money_text(line.balance),
            ],
            shaded=i % 2 == 0,
        )
    end_day = generated if st.to_date else last_day
    row(
        [
            f"{end_day:%Y-%m-%d}",
            "",
            "Balance to date" if st.to_date else "Closing balance",
            "",
            money_text(st.net, plus=True),
            money_text(st.closing),
        ],
        bold=True,
    )
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=INK)
    strong = FontFace(emphasis="BOLD")
    if not st.lines:
        pdf.ln(2)
        pdf.set_font("DejaVu", "", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 5, "No money moved this month.", new_x="LMARGIN", new_y="NEXT")

    # Totals per type
    pdf.ln(6)
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.set_text_color(*INK)
    pdf.cell(0, 6, "Totals by type", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(*RULE)
    pdf.set_font("DejaVu", "", 8)
    with pdf.table(
        col_widths=(60, 30, 40),
        text_align=("LEFT", "RIGHT", "RIGHT"),
        headings_style=heading,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=5,
        padding=(1.2, 1.5),
        width=110,
        align="LEFT",
    ) as table:
        table.row(["Type", "Entries", "Total"])
        for total in st.totals:
            table.row([type_text(total.type), str(total.count), money_text(total.signed_total, plus=True)])
        table.row(["Net change", str(sum(t.count for t in st.totals)), money_text(st.net, plus=True)], style=strong)

    pdf.ln(5)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_text_color(*MUTED)
    note = (
        f"The month runs from {first_day:%B} 1 00:00 to {(st.end.astimezone(tz)):%B} 1 00:00 in {st.time_zone}. "
        "Closing balance = opening balance + the entries above; it is the next month's opening balance. "
        "Amounts that add to your balance (deposits, credits, refunds) are positive; lead charges and debits "
        "are negative."
    )
    if st.to_date:
        note += " This month is not over yet: the statement shows the entries made so far."
    pdf.multi_cell(0, 4, note, align="L")
    return bytes(pdf.output())


def _short_ref(reference: str) -> str:
    """A lead's or deposit's id shortened to its first 8 characters (as the pages show
    it); a processor's payment id up to 18 characters (whole in the CSV)."""
    if len(reference) == 36 and reference.count("-") == 4:
        return reference[:8]
    return reference if len(reference) <= 18 else reference[:17] + "…"

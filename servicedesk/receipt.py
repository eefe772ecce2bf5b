"""The receipt (回执) of a service request, printed at the desk and handed to the resident.

One A5 page (``receipt_pdf``): the item, the village, the date it was received, the first
receiver (首问负责人), the promised date (the local date of ``resolve_due_at``), what to
bring, and the lookup code with a QR code of the public status page, with a line saying the
resident can look the request up with the code. No personal data beyond the receiver's name:
the applicant is not named (the receipt may be lost).

reportlab draws it with the CID font STSong-Light (Adobe's Chinese font that PDF readers
provide, nothing embedded); the dates and the code are set in Helvetica, so they are plain
text in the page and a test can find them.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cases.workflow import actor_name

from .models import ServiceRequest
from .selectors import local_date, promised_date

FONT = "STSong-Light"
LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
QR_SIZE = 34 * mm


def first_receiver_name(request: ServiceRequest) -> str:
    """The first receiver (首问负责人): their worker's name, else the login's."""
    if request.first_receiver_id is not None:
        return request.first_receiver.name
    return actor_name(request.reporter)


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _latin(text: str, *, bold: bool = False) -> str:
    """Paragraph markup for ASCII text (dates, the code) in Helvetica."""
    return f'<font name="{LATIN_BOLD if bold else LATIN}">{escape(text)}</font>'


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def receipt_pdf(request: ServiceRequest, *, status_url: str) -> bytes:
    """The receipt of ``request`` as a PDF (one A5 page); ``status_url`` is the absolute URL
    of its public status page, drawn as the QR code and printed under it."""
    font = _font()
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=16, leading=22, alignment=1)
    sub = ParagraphStyle("sub", parent=base, fontSize=9, leading=12, alignment=1)
    label = ParagraphStyle("label", parent=base, textColor=colors.HexColor("#555555"))
    code_style = ParagraphStyle("code", parent=base, fontSize=20, leading=26)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=11)

    def p(text: Any, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    item = request.item
    received = local_date(request.reported_at)
    promised = promised_date(request)
    village = request.village
    place = f"{request.town.name} {village.name}"
    rows = [
        [p(pgettext("service item", "Item"), label), p(item.name)],
        [p(_("Village"), label), p(place)],
        [p(_("Received on"), label), Paragraph(_latin(f"{received:%Y-%m-%d}"), base)],
        [p(_("Received by"), label), p(first_receiver_name(request))],
        [
            p(_("Promised by"), label),
            Paragraph(_latin(f"{promised:%Y-%m-%d}", bold=True), base),
        ],
    ]
    width = A5[0] - 24 * mm
    facts = Table(rows, colWidths=[26 * mm, width - 26 * mm])
    facts.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    materials = [line.strip() for line in (item.materials or "").splitlines() if line.strip()]
    story: list[Any] = [
        p(_("Service request receipt"), title),
        p(_("Proxy service (代办) at the village service station"), sub),
        Spacer(1, 5 * mm),
        facts,
        Spacer(1, 4 * mm),
        p(_("What to bring"), label),
    ]
    if materials:
        # The bullet in Helvetica: the Chinese CID font has no glyph for it in every reader.
        story += [Paragraph(f"{_latin('·')} {escape(line)}", base) for line in materials]
    else:
        story.append(p(_("Nothing more.")))
    lookup = [
        p(_("Lookup code"), label),
        Paragraph(_latin(request.short_code, bold=True), code_style),
        Spacer(1, 2 * mm),
        p(
            _(
                "Scan the code or open the address below and enter the lookup code to see "
                "the state of your request and its promised date."
            ),
            small,
        ),
        Paragraph(_latin(status_url), small),
    ]
    code_table = Table(
        [[lookup, _qr(status_url, QR_SIZE)]],
        colWidths=[width - QR_SIZE - 4 * mm, QR_SIZE + 4 * mm],
    )
    code_table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#333333")),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    story += [Spacer(1, 6 * mm), code_table]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A5,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=_("Service request receipt"),
        author="gridmap",
    )
    doc.build(story)
    return buffer.getvalue()

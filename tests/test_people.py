"""HR's people pages and the rules behind them."""

import pytest
import sqlalchemy as sa

from errors import Forbidden, ValidationError
from people import directory, timezones
from people.models import Person


@pytest.fixture
def hr(factory, auth):
    person = factory.person("hr@example.com", role="hr_admin", name="Helena HR")
    auth.login("hr@example.com")
    return person


def count_people(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Person))


def test_list_shows_people_sorted_by_name(client, hr, factory):
    factory.person("zed@example.com", name="Zed Zero")
    factory.person("amy@example.com", name="Amy Alpha")
    html = client.get("/people").get_data(as_text=True).split("<tbody>")[1]
    assert html.index("Amy Alpha") < html.index("Helena HR") < html.index("Zed Zero")


def test_list_searches_name_and_email(client, hr, factory):
    factory.person("zed@example.com", name="Zed Zero")
    factory.person("amy@example.com", name="Amy Alpha")
    html = client.get("/people?q=ZED").get_data(as_text=True)
    assert "Zed Zero" in html and "Amy Alpha" not in html
    html = client.get("/people?q=amy@").get_data(as_text=True)
    assert "Amy Alpha" in html and "Zed Zero" not in html


def test_list_paginates(app, client, hr, factory):
    app.config["PEOPLE_PER_PAGE"] = 2
    for i in range(4):
        factory.person(f"p{i}@example.com", name=f"Person {i}")
    first = client.get("/people").get_data(as_text=True)
    third = client.get("/people?page=3").get_data(as_text=True)
    # Sorted by name: Helena HR, Person 0 | Person 1, Person 2 | Person 3
    assert "Person 0" in first and "Person 1" not in first
    assert "Person 3" in third and "Person 0" not in third
    assert 'aria-current="page"' in third


def test_hr_adds_a_person(client, hr, factory, db):
    dept = factory.department("Engineering")
    response = client.post("/people/new", data={
        "name": "New Person", "email": "New@Example.com", "department_id": dept.id,
        "manager_email": "hr@example.com", "role": "employee", "kind": "contractor",
        "hired_on": "2024-03-01", "locale": "it", "timezone": "Europe/Rome"})
    assert response.status_code == 302
    person = db.session.scalar(sa.select(Person).where(Person.email == "new@example.com"))
    assert person.name == "New Person" and person.kind == "contractor" and person.manager_id == hr.id
    assert person.department_id == dept.id and str(person.hired_on) == "2024-03-01" and person.locale == "it"


def test_adding_a_duplicate_email_is_refused_ignoring_case(client, hr, db):
    before = count_people(db)
    response = client.post("/people/new", data={"name": "Dup", "email": "HR@example.com", "role": "employee",
                                                "kind": "employee", "department_id": 0})
    assert response.status_code == 200
    assert b"Another person already has this e-mail." in response.data
    assert count_people(db) == before


def test_adding_with_an_unknown_manager_names_the_field(client, hr, db):
    before = count_people(db)
    response = client.post("/people/new", data={"name": "X", "email": "x@example.com", "role": "employee",
                                                "kind": "employee", "department_id": 0,
                                                "manager_email": "ghost@example.com"})
    assert b"Unknown manager: ghost@example.com." in response.data
    assert count_people(db) == before


def test_adding_with_a_bad_time_zone_is_refused(client, hr, db):
    before = count_people(db)
    response = client.post("/people/new", data={"name": "X", "email": "x@example.com", "role": "employee",
                                                "kind": "employee", "department_id": 0, "timezone": "Mars/Base"})
    assert b"Not a known time zone" in response.data
    assert count_people(db) == before


def test_hr_edits_a_person(client, hr, factory, db):
    person = factory.person("p@example.com", name="Old Name")
    response = client.post(f"/people/{person.id}/edit", data={
        "name": "New Name", "email": "p2@example.com", "role": "hr_admin", "kind": "employee",
        "department_id": 0, "timezone": "America/New_York"})
    assert response.status_code == 302
    db.session.refresh(person)
    assert (person.name, person.email, person.role, person.timezone) == (
        "New Name", "p2@example.com", "hr_admin", "America/New_York")


def test_editing_a_manager_into_a_cycle_is_refused(client, hr, factory, db):
    boss = factory.person("boss@example.com")
    mid = factory.person("mid@example.com", manager=boss)
    low = factory.person("low@example.com", manager=mid)
    response = client.post(f"/people/{boss.id}/edit", data={
        "name": boss.name, "email": boss.email, "role": "employee", "kind": "employee", "department_id": 0,
        "manager_email": low.email})
    assert b"This manager would create a reporting cycle." in response.data
    db.session.refresh(boss)
    assert boss.manager_id is None


def test_a_person_cannot_manage_themselves(factory):
    person = factory.person("me@example.com")
    with pytest.raises(ValidationError) as error:
        directory.update_person(person, {"email": person.email, "name": person.name, "manager_email": person.email})
    assert error.value.fields == {"manager_email": "A person cannot be their own manager."}


def test_hr_deactivates_and_reactivates_a_person(client, hr, factory, db):
    person = factory.person("p@example.com")
    client.post(f"/people/{person.id}/active", data={"active": "0"})
    db.session.refresh(person)
    assert person.active is False
    client.post(f"/people/{person.id}/active", data={"active": "1"})
    db.session.refresh(person)
    assert person.active is True
    assert [action for action, _actor, _summary in _audit(db)] == ["person.deactivated", "person.activated"]


def test_hr_cannot_deactivate_themselves(client, hr, db):
    response = client.post(f"/people/{hr.id}/active", data={"active": "0"}, follow_redirects=True)
    assert b"You cannot deactivate yourself." in response.data
    db.session.refresh(hr)
    assert hr.active


def test_create_person_refuses_a_taken_email_and_changes_nobody(db, factory):
    existing = factory.person("taken@example.com", name="Taken")
    with pytest.raises(ValidationError) as error:
        directory.create_person({"email": " TAKEN@example.com", "name": "Someone Else"})
    assert error.value.fields == {"email": "Another person already has this e-mail."}
    db.session.refresh(existing)
    assert existing.name == "Taken"
    person = directory.create_person({"email": "new@example.com", "name": "New"})
    assert person.id is not None and person.email == "new@example.com"


def test_nobody_deactivates_themselves_but_may_deactivate_others_or_reactivate(db, factory):
    hr, other = factory.person("hr@example.com", role="hr_admin"), factory.person("other@example.com")
    with pytest.raises(Forbidden, match="You cannot deactivate yourself"):
        directory.set_active(hr, False, by=hr)
    db.session.refresh(hr)
    assert hr.active
    directory.set_active(other, False, by=hr)
    directory.set_active(hr, True, by=hr)
    assert (hr.active, other.active) == (True, False)


def test_a_new_person_is_in_the_configured_time_zone(app, db):
    app.config["POLSO_DEFAULT_TIMEZONE"] = "America/New_York"
    db.session.add(Person(email="plain@example.com", name="Plain"))
    db.session.commit()
    (imported,) = directory.upsert_people([{"email": "imported@example.com", "name": "Imported"}])
    plain = db.session.scalar(sa.select(Person).where(Person.email == "plain@example.com"))
    assert plain.timezone == imported.timezone == "America/New_York"


def test_a_person_is_in_their_own_time_zone_else_the_company_one(app, factory):
    app.config["POLSO_DEFAULT_TIMEZONE"] = "Asia/Tokyo"
    person = factory.person("p@example.com", timezone="America/New_York")
    assert timezones.person_zone(person).key == timezones.timezone_name(person) == "America/New_York"
    person.timezone = ""
    assert timezones.person_zone(person).key == timezones.timezone_name(person) == "Asia/Tokyo"


def test_own_settings_change_only_language_and_time_zone(db, factory):
    person = factory.person("p@example.com", name="Pat", timezone="Europe/Rome")
    directory.update_settings(person, {"locale": "it", "timezone": "", "name": "Other", "role": "hr_admin"})
    db.session.refresh(person)
    assert (person.locale, person.timezone, person.name, person.role) == ("it", "Europe/Rome", "Pat", "employee")
    with pytest.raises(ValidationError) as error:
        directory.update_settings(person, {"timezone": "Mars/Olympus"})
    assert set(error.value.fields) == {"timezone"}


def test_editing_a_missing_person_is_404(client, hr):
    assert client.get("/people/99999/edit").status_code == 404


def test_database_refuses_a_second_person_with_the_same_email(db, factory):
    factory.person("same@example.com")
    db.session.add(Person(email="same@example.com", name="Twin", timezone="UTC"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_database_refuses_an_unknown_role(db):
    db.session.add(Person(email="r@example.com", name="R", role="superuser", timezone="UTC"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_hr_adds_a_department_under_a_parent(client, hr, factory, db):
    parent = factory.department("Engineering")
    response = client.post("/departments", data={"name": "Platform", "parent_id": parent.id})
    assert response.status_code == 302
    assert "Engineering / Platform" in client.get("/departments").get_data(as_text=True)


def test_duplicate_department_name_is_refused(client, hr, factory):
    factory.department("Engineering")
    response = client.post("/departments", data={"name": "engineering"})
    assert response.status_code == 422
    assert b"A department with this name already exists." in response.data


def test_manager_is_anyone_with_active_reports(factory):
    boss = factory.person("boss@example.com")
    assert not boss.is_manager
    report = factory.person("r@example.com", manager=boss)
    assert boss.is_manager
    directory.set_active(report, False)
    assert not boss.is_manager


def test_settings_change_language_and_time_zone(client, factory, auth, db):
    person = factory.person("p@example.com")
    auth.login("p@example.com")
    response = client.post("/settings", data={"locale": "it", "timezone": "America/New_York"})
    assert response.status_code == 302
    db.session.refresh(person)
    assert (person.locale, person.timezone) == ("it", "America/New_York")


# --- The audit log of people changes ----------------------------------------------------------


def _audit(db):
    from audit.models import AuditEvent

    return [(e.action, e.actor_email, e.summary) for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action != "signin.password").order_by(AuditEvent.id))]


def test_hr_adding_editing_and_deactivating_a_person_is_in_the_audit_log(client, hr, factory, db):
    client.post("/people/new", data={"name": "New", "email": "new@example.com", "role": "employee",
                                     "kind": "employee"})
    person = db.session.scalar(sa.select(Person).where(Person.email == "new@example.com"))
    client.post(f"/people/{person.id}/edit", data={"name": "New", "email": "new@example.com", "role": "hr_admin",
                                                   "kind": "employee", "department_id": 0})
    client.post(f"/people/{person.id}/active", data={"active": "0"})
    assert _audit(db) == [
        ("person.created", "hr@example.com", "new@example.com (employee)"),
        ("person.updated", "hr@example.com", "new@example.com: role (role hr_admin)"),
        ("person.deactivated", "hr@example.com", "new@example.com"),
    ]


def test_a_refused_change_leaves_no_audit_record(client, hr, factory, db):
    boss = factory.person("boss@example.com")
    client.post(f"/people/{boss.id}/edit", data={"name": "Boss", "email": "boss@example.com", "role": "employee",
                                                 "kind": "employee", "manager_email": "boss@example.com"})
    assert _audit(db) == []


def test_a_csv_import_by_hr_records_the_import_and_each_person(db, factory):
    from people import importing

    hr = factory.person("hr@example.com", role="hr_admin")
    factory.person("old@example.com")
    importing.import_people_csv(b"email,name\nold@example.com,Old\nnew@example.com,New\n", by=hr)
    assert _audit(db) == [("person.updated", "hr@example.com", "old@example.com (employee)"),
                          ("person.created", "hr@example.com", "new@example.com (employee)"),
                          ("people.imported", "hr@example.com", "2 people: 1 added, 1 changed")]

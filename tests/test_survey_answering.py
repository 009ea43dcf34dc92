"""Answering: the personal link, one validation for page and API, anonymous storage."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime

import tasks
from extensions import db as _db
from surveys import answering, building, invitations, periodic, rounds
from surveys.models import Answer, Ballot, Invitation, InvitationLink, Response
from tests.conftest import mix_all, personal_token, run_concurrently

NOW = datetime.now(UTC)


def tick(now, **kwargs):
    """The surveys' periodic work, storing each closed round's results as ``tasks.tick`` does."""
    return periodic.tick(now, on_close=tasks.store_results, **kwargs)


@pytest.fixture
def setup(factory):
    dept = factory.department("Engineering")
    boss = factory.person("boss@example.com", department=dept)
    person = factory.person("ada@example.com", name="Ada", department=dept, manager=boss,
                            hired_on=NOW.date() - timedelta(days=800))
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True},
        {"library_key": "workload_manageable"},
        {"kind": "choice", "text": "Where do you work?", "options": ["Office", "Home"]},
        {"kind": "text", "text": "Anything else?"},
    ]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    invitation = invitations.invitation_for(person, round_.id)
    q = {question.kind: question.id for question in survey.questions}
    return {"person": person, "boss": boss, "dept": dept, "survey": survey, "round": round_,
            "invitation": invitation, "q": q, "token": personal_token(invitation.id)}


def stored():
    """Everything the answer tables hold (ballots waiting and mixed responses), to show nothing changed."""
    _db.session.expire_all()
    return (_db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))
            + _db.session.scalar(sa.select(sa.func.count()).select_from(Response)),
            _db.session.scalar(sa.select(sa.func.count()).select_from(Answer)),
            _db.session.scalars(sa.select(Invitation.answered).order_by(Invitation.id)).all())


def post_answers(client, setup, data):
    """Submit the answer page as the browser does: to /s/answer, the token in the body."""
    return client.post("/s/answer", data={**data, "token": setup["token"]})


def form(setup, **values):
    q = setup["q"]
    data = {f"q{q['enps']}": "8", f"q{q['likert']}": "4", f"q{q['choice']}": "Home", f"q{q['text']}": "Fine."}
    for kind, value in values.items():
        key = f"q{q[kind]}"
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return data


def test_personal_link_opens_the_survey_without_signing_in(client, setup):
    html = client.get(f"/s/{setup['token']}").get_data(as_text=True)
    assert "Pulse" in html and "Polso Demo as a place to work?" in html
    assert html.count('type="radio"') == 11 + 5 + 2
    assert "Not at all likely" in html and "Extremely likely" in html and "Strongly agree" in html


def test_tampered_link_is_404(client, setup):
    assert client.get(f"/s/{setup['token']}x").status_code == 404
    assert client.get("/s/not-a-token").status_code == 404


def test_submitting_casts_a_ballot_that_reaches_the_store_when_mixed(client, setup, db):
    response = post_answers(client, setup, form(setup))
    assert response.status_code == 302 and response.headers["Location"] == "/s/thanks"
    assert "Thank you" in client.get("/s/thanks").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    assert mix_all() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
    stored_response = db.session.scalar(sa.select(Response))
    # A round of one invited person: the segment cannot say more than "this round".
    assert (stored_response.department_id, stored_response.manager_id, stored_response.tenure_band) == \
        (None, None, None)


def test_response_keeps_the_segment_when_k_invited_people_share_it(client, setup, db, factory):
    for i in range(4):
        factory.person(f"peer{i}@example.com", department=setup["dept"], manager=setup["boss"],
                       hired_on=NOW.date() - timedelta(days=900))
    # The boss alone would be a segment of one: with four colleagues elsewhere they make up "the rest".
    sales = factory.department("Sales")
    for i in range(4):
        factory.person(f"sales{i}@example.com", department=sales)
    survey = building.create_survey({"title": "Again", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    invitation = invitations.invitation_for(setup["person"], round_.id)
    answering.submit_response(invitation, {survey.questions[0].id: 8}, NOW)
    mix_all()
    stored_response = db.session.scalar(sa.select(Response).where(Response.round_id == round_.id))
    assert stored_response.department_id == setup["dept"].id
    assert stored_response.manager_id == setup["boss"].id
    assert stored_response.tenure_band == "2-5y"
    assert {a.kind: a.value_int for a in stored_response.answers} == {"enps": 8}


def test_mixed_answers_are_stored_whole(client, setup, db):
    post_answers(client, setup, form(setup))
    mix_all()
    stored_response = db.session.scalar(sa.select(Response))
    answers = {a.kind: (a.value_int, a.value_text) for a in stored_response.answers}
    assert answers == {"enps": (8, None), "likert": (4, None), "choice": (1, None), "text": (None, "Fine.")}
    db.session.refresh(setup["invitation"])
    assert setup["invitation"].answered is True


def test_zero_is_a_valid_enps_answer(client, setup, db):
    assert post_answers(client, setup, form(setup, enps="0")).status_code == 302
    mix_all()
    assert db.session.scalar(sa.select(Answer.value_int).where(Answer.kind == "enps")) == 0


def test_skipped_optional_questions_are_not_stored(client, setup, db):
    post_answers(client, setup, form(setup, likert=None, choice=None, text=""))
    mix_all()
    assert db.session.scalars(sa.select(Answer.kind)).all() == ["enps"]


def test_second_visit_says_already_answered(client, setup):
    post_answers(client, setup, form(setup))
    assert "already answered" in client.get(f"/s/{setup['token']}").get_data(as_text=True)
    again = post_answers(client, setup, form(setup))
    assert "already answered" in again.get_data(as_text=True)
    assert stored()[0] == 1


def test_round_past_its_window_says_closed_and_accepts_nothing(client, setup, db):
    setup["round"].closes_at, setup["round"].opens_at = NOW - timedelta(minutes=1), NOW - timedelta(days=5)
    db.session.commit()
    page = client.get(f"/s/{setup['token']}")
    assert page.status_code == 410 and "closed" in page.get_data(as_text=True)
    assert post_answers(client, setup, form(setup)).status_code == 410
    assert stored()[0] == 0


def test_closing_a_round_forgets_its_links(client, setup, db):
    tick(setup["round"].closes_at)
    page = client.get(f"/s/{setup['token']}")
    assert page.status_code == 404 and "Its round may have closed" in page.get_data(as_text=True)
    assert post_answers(client, setup, form(setup)).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InvitationLink).join(Invitation).where(
        Invitation.round_id == setup["round"].id)) == 0
    assert stored()[0] == 0


BAD_FORM = {
    "enps 11": ({"enps": "11"}, "enps", "Choose a whole number from 0 to 10."),
    "enps -1": ({"enps": "-1"}, "enps", "Choose a whole number from 0 to 10."),
    "enps 6.5": ({"enps": "6.5"}, "enps", "Choose a whole number from 0 to 10."),
    "enps seven": ({"enps": "seven"}, "enps", "Choose a whole number from 0 to 10."),
    "enps missing": ({"enps": None}, "enps", "This question needs an answer."),
    "enps empty": ({"enps": ""}, "enps", "This question needs an answer."),
    "likert 0": ({"likert": "0"}, "likert", "Choose a whole number from 1 to 5."),
    "likert 6": ({"likert": "6"}, "likert", "Choose a whole number from 1 to 5."),
    "unlisted option": ({"choice": "Moon"}, "choice", "Choose one of the listed options."),
    "comment too long": ({"text": "x" * 2001}, "text", "At most 2000 characters."),
}


@pytest.mark.parametrize("case", BAD_FORM)
def test_bad_answer_on_the_page_names_the_question_and_stores_nothing(client, setup, case):
    values, kind, message = BAD_FORM[case]
    before = stored()
    response = post_answers(client, setup, form(setup, **values))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="error-{setup["q"][kind]}"' in html and message in html
    assert stored() == before


def test_unknown_question_id_on_the_page_is_refused(client, setup):
    before = stored()
    response = post_answers(client, setup, {**form(setup), "q999999": "3"})
    assert response.status_code == 422 and stored() == before


def test_refused_page_keeps_what_was_typed(client, setup):
    html = post_answers(client, setup, form(setup, enps="11", text="Keep me")).get_data(as_text=True)
    assert "Keep me</textarea>" in html


def test_each_invitee_gets_the_page_in_their_language_and_zone_whatever_opened_before(client, setup, db, factory):
    """A page just opened reuses the questions rendered for the survey and language (surveys.views): the
    next invitee, in another language or zone, or after someone's refused answer, must see their own."""
    setup["person"].timezone = "America/New_York"
    giulia = factory.person("giulia@example.com", department=setup["dept"], manager=setup["boss"])
    giulia.locale, giulia.timezone = "it", "Asia/Tokyo"
    for n in range(4):  # a round of another audience than ``setup``'s, by more than the differencing margin
        factory.person(f"colleague{n}@example.com", department=setup["dept"], manager=setup["boss"])
    db.session.commit()
    survey = building.create_survey({"title": "Pulse two", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}, {"library_key": "workload_manageable"},
        {"kind": "text", "text": "Anything else?"}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    token_en = personal_token(invitations.invitation_for(setup["person"], round_.id).id)
    token_it = personal_token(invitations.invitation_for(giulia, round_.id).id)
    closes, enps, text = round_.closes_at, survey.questions[0].id, survey.questions[2].id

    def opened(token):
        response = client.get(f"/s/{token}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    refused = client.post("/s/answer", data={"token": token_en, f"q{enps}": "11", f"q{text}": "Keep me",
                                             "replies": "yes"})
    assert refused.status_code == 422
    assert "Keep me</textarea>" in refused.get_data(as_text=True) and "checked" in refused.get_data(as_text=True)
    for _ in range(2):
        english, italian = opened(token_en), opened(token_it)
        assert "Not at all likely" in english and "Strongly agree" in english and "Per niente" not in english
        assert "Per niente probabile" in italian and "Per niente d&#39;accordo" in italian
        assert "Not at all likely" not in italian and "Strongly agree" not in italian
        assert format_datetime(closes, "medium", tzinfo=ZoneInfo("America/New_York"), locale="en") in english
        assert format_datetime(closes, "medium", tzinfo=ZoneInfo("Asia/Tokyo"), locale="it") in italian
        # Each page carries its own link's token, and none of what the refused answer typed.
        assert f'value="{token_en}"' in english and token_it not in english
        assert f'value="{token_it}"' in italian and token_en not in italian
        assert "Keep me" not in english + italian and "checked" not in english + italian


def test_the_language_switch_on_a_personal_link_page_wins_over_the_invitees_language(client, setup, db):
    """The page opens in the invitee's language; picking the other one on it (the menu's switch) shows that."""
    setup["person"].locale = "it"
    db.session.commit()
    link = f"/s/{setup['token']}"
    assert "Per niente probabile" in client.get(link).get_data(as_text=True)
    switched = client.post("/language/en", data={"next": link})
    assert switched.status_code == 302 and switched.headers["Location"] == link
    english = client.get(link).get_data(as_text=True)
    assert '<html lang="en">' in english and "Not at all likely" in english and "Per niente" not in english
    client.post("/language/it", data={"next": link})
    assert "Per niente probabile" in client.get(link).get_data(as_text=True)


@pytest.mark.parametrize("round_field", ["", "abc", "²", "-1", "0", "99999999999999999999", "1.5"])
def test_answer_post_with_a_bad_round_id_is_404_and_stores_nothing(client, setup, auth, round_field):
    auth.login("ada@example.com")
    before = stored()
    response = client.post("/s/answer", data={**form(setup), "round": round_field})
    assert response.status_code == 404 and stored() == before


def test_logged_in_employee_finds_open_surveys_on_the_home_page(client, setup, auth):
    auth.login("ada@example.com")
    html = client.get("/").get_data(as_text=True)
    link = re.search(r'href="(/my/surveys/\d+)"', html).group(1)
    page = client.get(link).get_data(as_text=True)
    assert "Pulse" in page and 'action="/s/answer"' in page and setup["token"] not in page
    assert client.post("/s/answer", data={**form(setup), "round": str(setup["round"].id)}).status_code == 302
    assert "No surveys are waiting for you." in client.get("/").get_data(as_text=True)


# --- The API: the same rules ------------------------------------------------------------


def api_answers(setup, **values):
    q = setup["q"]
    answers = {"enps": 7, "likert": 5, "choice": "Office", "text": "Good week"} | values
    return {"answers": [{"question_id": q[kind], "value": value} for kind, value in answers.items()
                        if value is not ...]}


def test_me_invitations_lists_open_rounds_with_questions(client, setup, api_token):
    body = client.get("/api/v1/me/invitations", headers=api_token("ada@example.com")).get_json()
    [item] = body["items"]
    assert item["round_id"] == setup["round"].id
    assert [q["kind"] for q in item["questions"]] == ["enps", "likert", "choice", "text"]


def test_api_response_is_201_then_409(client, setup, api_token):
    headers = api_token("ada@example.com")
    url = f"/api/v1/rounds/{setup['round'].id}/responses"
    assert client.post(url, json=api_answers(setup), headers=headers).status_code == 201
    second = client.post(url, json=api_answers(setup), headers=headers)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "conflict"
    assert client.get("/api/v1/me/invitations", headers=headers).get_json()["items"] == []


BAD_JSON = {
    "6.5": {"enps": 6.5}, "-1": {"enps": -1}, "11": {"enps": 11}, "seven": {"enps": "seven"},
    "string 7": {"enps": "7"}, "true": {"enps": True}, "empty": {"enps": ""}, "missing": {"enps": ...},
    "null": {"enps": None}, "likert 6": {"likert": 6}, "likert true": {"likert": True},
    "option": {"choice": "Moon"}, "option index": {"choice": 0}, "long comment": {"text": "x" * 2001},
    "comment number": {"text": 5},
}


@pytest.mark.parametrize("case", BAD_JSON)
def test_bad_api_answer_is_422_naming_the_question_and_stores_nothing(client, setup, api_token, case):
    before = stored()
    response = client.post(f"/api/v1/rounds/{setup['round'].id}/responses", json=api_answers(setup, **BAD_JSON[case]),
                           headers=api_token("ada@example.com"))
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["error"]["fields"]
    kind = next(iter(BAD_JSON[case]))
    assert f"answers.{setup['q'][kind]}" in fields
    assert stored() == before


@pytest.mark.parametrize("body", [
    {"answers": [{"question_id": 999999, "value": 3}]},
    {"answers": [{"question_id": "1", "value": 3}]},
    {"answers": "all good"},
    {},
])
def test_malformed_api_answers_are_422_and_store_nothing(client, setup, api_token, body):
    before = stored()
    response = client.post(f"/api/v1/rounds/{setup['round'].id}/responses", json=body,
                           headers=api_token("ada@example.com"))
    assert response.status_code == 422
    assert stored() == before


def test_answering_a_round_you_were_not_invited_to_is_403(client, setup, factory, api_token):
    factory.person("late@example.com", hired_on=date.today() + timedelta(days=30))
    response = client.post(f"/api/v1/rounds/{setup['round'].id}/responses", json=api_answers(setup),
                           headers=api_token("late@example.com"))
    assert response.status_code == 403


def test_concurrent_double_submit_stores_one_response(app, client, setup, api_token):
    headers = api_token("ada@example.com")
    url = f"/api/v1/rounds/{setup['round'].id}/responses"
    def submit():
        with app.test_client() as own_client:
            return own_client.post(url, json=api_answers(setup), headers=headers).status_code

    statuses = run_concurrently(submit, submit)
    assert sorted(statuses) == [201, 409]
    assert stored()[0] == 1


# --- Anonymity of storage ---------------------------------------------------------------


def test_response_table_has_no_column_that_identifies_a_person_or_a_time(db):
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("responses")}
    assert columns == {"id", "round_id", "department_id", "manager_id", "tenure_band"}
    ballot_columns = {c["name"] for c in sa.inspect(db.engine).get_columns("ballots")}
    assert ballot_columns == {"id", "round_id", "sealed"}
    foreign = {fk["referred_table"] + "." + fk["constrained_columns"][0]
               for fk in sa.inspect(db.engine).get_foreign_keys("responses")}
    assert "invitations.id" not in " ".join(foreign)
    answer_columns = {c["name"] for c in sa.inspect(db.engine).get_columns("answers")}
    # reply_hash: the hash of a reply link's secret, which only the comment's writer holds.
    assert answer_columns == {"response_id", "question_id", "kind", "value_int", "value_text", "reply_hash"}


def test_response_keys_are_random_uuids(client, setup, db, factory, api_token):
    post_answers(client, setup, form(setup))
    mix_all()
    key = db.session.scalar(sa.select(Response.id))
    assert key.version == 4


def test_database_refuses_out_of_range_scores(db, setup):
    response = Response(round_id=setup["round"].id)
    response.answers = [Answer(question_id=setup["q"]["enps"], kind="enps", value_int=11)]
    db.session.add(response)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_closing_time_is_shown_in_the_invited_persons_time_zone(client, setup, db):
    setup["person"].timezone = "America/New_York"
    db.session.commit()
    html = client.get(f"/s/{setup['token']}").get_data(as_text=True)
    expected = format_datetime(setup["round"].closes_at, "medium", tzinfo=ZoneInfo("America/New_York"), locale="en")
    assert expected in html


def test_the_answer_page_hands_the_service_the_apis_types(db):
    from surveys.forms import answers_from_form

    survey = building.create_survey({"title": "Typed", "cadence": "weekly", "questions": [
        {"library_key": "enps"}, {"kind": "choice", "text": "Floor?", "options": ["1", "2"]},
        {"kind": "text", "text": "Anything else?"}]}, NOW)
    enps, floor, comment = survey.questions
    sent = {f"q{enps.id}": " 9 ", f"q{floor.id}": "2", f"q{comment.id}": "42", "q²": "1", "csrf_token": "x",
            f"q{enps.id}x": "3"}
    assert answers_from_form(survey.questions, sent) == {enps.id: 9, floor.id: "2", comment.id: "42"}
    assert answers_from_form(survey.questions, {f"q{enps.id}": "nine"}) == {enps.id: "nine"}  # refused by name

"""Anonymous replies to comments: the secret link, HR's reply, the respondent's answer, and the attacks.

The promise under test: the server stores only the hash of a reply link, next to the comment;
nothing stored links a thread to a person, invitation or session; HR reads a thread only while the
guard shows its comment; and the respondent's pages never read or stamp a signed-in session.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import g

import logs
import tasks
from audit.models import AuditEvent
from people.models import SignInSession
from replies import services
from surveys import answering, building, invitations, rounds
from surveys.models import Answer, Ballot, ReplyMessage, ReplyThread
from surveys.reply_links import reply_hash
from tests.conftest import PASSWORD, personal_token

NOW = datetime.now(UTC)
SECRET_LINK = re.compile(r"http://localhost/r/([A-Za-z0-9_\-]{40,})")


def _forget_user():
    g.pop("_login_user", None)


@pytest.fixture
def pulse(factory, db):
    """Twelve employees and HR; a weekly pulse with eNPS and a comment question, its round open."""
    hr = factory.person("hr@example.com", role="hr_admin", name="Hana HR")
    team = factory.department("Team")
    people = [factory.person(f"p{i}@example.com", department=team, name=f"Person {i}") for i in range(12)]
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly",
                                     "questions": [{"library_key": "enps", "required": True},
                                                   {"kind": "text", "text": "Anything else?"}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    q = {question.kind: question.id for question in survey.questions}
    return {"hr": hr, "people": people, "survey": survey, "round": round_, "q": q}


def _answer_by_link(client, db, pulse, person, comment: str, *, replies: bool = True, follow: bool = True):
    """Answer through a personal link; the response of the thank-you page the answer redirects to
    (``follow``), or of the answer's POST itself."""
    invitation = invitations.invitation_for(person, pulse["round"].id)
    token = personal_token(invitation.id)
    data = {"token": token, f"q{pulse['q']['enps']}": "7", f"q{pulse['q']['text']}": comment}
    if replies:
        data["replies"] = "yes"
    return client.post("/s/answer", data=data, follow_redirects=follow)


def _answer_others(pulse, skip: int = 1):
    for i, person in enumerate(pulse["people"][skip:]):
        invitation = invitations.invitation_for(person, pulse["round"].id)
        answering.submit_response(invitation, {pulse["q"]["enps"]: 8, pulse["q"]["text"]: f"comment {i}"},
                                  NOW)


def _close(db, pulse):
    tasks.tick(pulse["round"].closes_at)
    db.session.refresh(pulse["round"])


@pytest.fixture
def opted_in(client, db, pulse):
    """Person 0 answers by personal link with a comment and opts in; the others answer; the round closes."""
    response = _answer_by_link(client, db, pulse, pulse["people"][0], "The rota is unfair to night shifts")
    assert response.status_code == 200
    secret = SECRET_LINK.search(response.get_data(as_text=True)).group(1)
    _answer_others(pulse)
    _close(db, pulse)
    return {**pulse, "secret": secret, "thanks": response}


def _hr(client):
    _forget_user()
    client.post("/login", data={"email": "hr@example.com", "password": PASSWORD})


def _thread_id(db) -> str:
    return str(db.session.scalar(sa.select(ReplyThread.id)))


def _exchange(client, db, opted_in) -> None:
    """HR replies "Thanks", then the respondent answers "Welcome" through their link."""
    _hr(client)
    client.post(f"/comments/{_thread_id(db)}/reply", data={"body": "Thanks"})
    client.post("/logout")
    _forget_user()
    client.post("/r/reply", data={"secret": opted_in["secret"], "body": "Welcome"})


# --- the link ------------------------------------------------------------------------------------


def test_the_thank_you_page_shows_the_link_once_and_only_its_hash_is_stored(client, db, pulse):
    response = _answer_by_link(client, db, pulse, pulse["people"][0], "Please fix the coffee machine")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = SECRET_LINK.search(page).group(1)
    assert "shown only this once" in page
    # Nothing in the database holds the secret itself: only its hash, sealed in the waiting ballot.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).all():
            assert secret not in repr(row), table.name
    # The thank-you page never shows it again, and the browser's session cookie no longer holds it.
    assert secret not in client.get("/s/thanks").get_data(as_text=True)
    with client.session_transaction() as session:
        assert "reply_links" not in session


def test_every_answer_gets_the_same_redirect_and_a_thank_you_page_of_the_same_size(client, db, pulse):
    """An access log sees each answer's POST and its thank-you page, with their sizes: whether the answer
    asked for replies (and so wrote a comment) must not show in either."""
    posts = [_answer_by_link(client, db, pulse, pulse["people"][i], comment, replies=replies, follow=False)
             for i, (comment, replies) in enumerate([("I opt in", True), ("I do not", False), ("", False)])]
    assert {(p.status_code, p.headers["Location"], len(p.get_data())) for p in posts} == {
        (302, "/s/thanks", len(posts[0].get_data()))}
    pages = []
    for person, comment in ((pulse["people"][3], "Me too"), (pulse["people"][4], "")):
        pages.append(_answer_by_link(client, db, pulse, person, comment))
    assert "/r/" in pages[0].get_data(as_text=True) and "/r/" not in pages[1].get_data(as_text=True)
    assert len(pages[0].get_data()) == len(pages[1].get_data())


def test_no_link_without_opting_in_or_without_a_comment(client, db, pulse):
    no_opt_in = _answer_by_link(client, db, pulse, pulse["people"][0], "A comment", replies=False)
    no_comment = _answer_by_link(client, db, pulse, pulse["people"][1], "", replies=True)
    for page in (no_opt_in, no_comment):
        assert page.status_code == 200 and "/r/" not in page.get_data(as_text=True)
    _answer_others(pulse, skip=2)
    _close(db, pulse)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyThread)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer).where(Answer.reply_hash.is_not(None))) == 0


def test_before_the_round_closes_a_real_link_looks_like_a_made_up_one(client, db, pulse):
    response = _answer_by_link(client, db, pulse, pulse["people"][0], "Waiting comment")
    secret = SECRET_LINK.search(response.get_data(as_text=True)).group(1)
    real = client.get(f"/r/{secret}")
    made_up = client.get("/r/" + "x" * 43)
    assert real.status_code == made_up.status_code == 200
    assert real.get_data(as_text=True).replace(secret, "") == made_up.get_data(as_text=True).replace("x" * 43, "")
    assert "Nothing to read here yet" in real.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyThread)) == 0


def test_the_threads_are_written_when_the_round_closes(opted_in, db):
    thread = db.session.scalar(sa.select(ReplyThread))
    assert thread.round_id == opted_in["round"].id and thread.reply_hash == reply_hash(opted_in["secret"])
    comment = db.session.scalar(sa.select(Answer).where(Answer.reply_hash == thread.reply_hash))
    assert comment.value_text == "The rota is unfair to night shifts" and comment.kind == "text"


# --- the conversation ----------------------------------------------------------------------------


def test_hr_replies_and_the_respondent_answers_through_the_link(client, db, opted_in):
    _hr(client)
    results = client.get(f"/results?survey={opted_in['survey'].id}").get_data(as_text=True)
    thread_id = _thread_id(db)
    assert f"/comments/{thread_id}" in results and "Reply anonymously" in results
    inbox = client.get("/comments").get_data(as_text=True)
    assert "The rota is unfair" in inbox and "Waiting for HR" in inbox
    assert client.post(f"/comments/{thread_id}/reply", data={"body": "Thank you: we are changing it."}
                       ).status_code == 302
    client.post("/logout")
    _forget_user()

    page = client.get(f"/r/{opted_in['secret']}").get_data(as_text=True)
    assert "Thank you: we are changing it." in page and "The rota is unfair" in page
    assert "Hana" not in page  # signed "HR", never by name
    sent = client.post("/r/reply", data={"secret": opted_in["secret"], "body": "Good, nights first please."})
    assert sent.status_code == 200 and "Good, nights first please." in sent.get_data(as_text=True)
    # One answer per HR message: the link cannot flood the thread.
    again = client.post("/r/reply", data={"secret": opted_in["secret"], "body": "And another thing"})
    assert again.status_code == 409
    messages = db.session.scalars(sa.select(ReplyMessage).order_by(ReplyMessage.position)).all()
    assert [(m.side, m.body) for m in messages] == [("hr", "Thank you: we are changing it."),
                                                      ("respondent", "Good, nights first please.")]
    assert messages[1].author_id is None and messages[0].author_id == opted_in["hr"].id

    _hr(client)
    thread_page = client.get(f"/comments/{thread_id}").get_data(as_text=True)
    assert "Good, nights first please." in thread_page and "Hana HR" in thread_page
    assert [t.id for t in services.awaiting_reply(opted_in["hr"])] == [messages[0].thread_id]


def test_hr_closes_a_thread_and_nobody_writes_in_it_again(client, db, opted_in):
    _hr(client)
    thread_id = _thread_id(db)
    client.post(f"/comments/{thread_id}/reply", data={"body": "Noted."})
    assert client.post(f"/comments/{thread_id}/close").status_code == 302
    assert client.post(f"/comments/{thread_id}/reply", data={"body": "More"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyMessage)) == 1
    assert {e.action for e in db.session.scalars(sa.select(AuditEvent))} >= {"comment.replied",
                                                                            "comment.thread_closed"}
    client.post("/logout")
    _forget_user()
    page = client.get(f"/r/{opted_in['secret']}").get_data(as_text=True)
    assert "HR closed this conversation" in page and "<textarea" not in page
    assert client.post("/r/reply", data={"secret": opted_in["secret"], "body": "Hello?"}).status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyMessage)) == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_bad_messages_are_refused_with_a_message_and_nothing_is_stored(client, db, opted_in, body):
    _hr(client)
    thread_id = _thread_id(db)
    refused = client.post(f"/comments/{thread_id}/reply", data={"body": body})
    assert refused.status_code == 422 and "invalid-feedback" in refused.get_data(as_text=True)
    client.post(f"/comments/{thread_id}/reply", data={"body": "A real reply"})
    client.post("/logout")
    _forget_user()
    refused = client.post("/r/reply", data={"secret": opted_in["secret"], "body": body})
    assert refused.status_code == 422 and "invalid-feedback" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyMessage)) == 1


def test_a_made_up_secret_opens_and_writes_nothing(client, db, opted_in):
    for secret in ("", "short", "y" * 43, "z" * 5000):
        assert client.post("/r/reply", data={"secret": secret, "body": "hi"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyMessage)) == 0


def test_only_hr_reads_threads(client, db, factory, opted_in):
    boss = factory.person("boss@example.com", name="Bea Boss")
    opted_in["people"][1].manager = boss
    db.session.commit()
    thread_id = _thread_id(db)
    for email in ("boss@example.com", "p2@example.com"):
        _forget_user()
        client.post("/login", data={"email": email, "password": PASSWORD})
        assert client.get("/comments").status_code == 403
        assert client.get(f"/comments/{thread_id}").status_code == 403
        assert client.post(f"/comments/{thread_id}/reply", data={"body": "hi"}).status_code == 403
        client.post("/logout")
    _forget_user()
    assert client.get("/comments").status_code == 302  # signed out: to the sign-in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyMessage)) == 0


# --- the attacks ---------------------------------------------------------------------------------


def test_nothing_stored_links_a_thread_to_a_person_or_a_session(db, opted_in, client):
    _exchange(client, db, opted_in)
    inspector = sa.inspect(db.engine)
    for table in ("reply_threads", "reply_messages"):
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        assert not {"person_id", "invitation_id", "session_id", "created_at", "token"} & columns.keys(), table
        assert all(not isinstance(c["type"], sa.DateTime) for c in columns.values()), table
        people_keys = [fk for fk in inspector.get_foreign_keys(table) if fk["referred_table"] == "people"]
        # Only HR's own messages name their author; the respondent's cannot (a CHECK refuses it).
        assert [fk["constrained_columns"] for fk in people_keys] == ([["author_id"]] if table == "reply_messages"
                                                                     else [])
    respondent = db.session.scalar(sa.select(ReplyMessage).where(ReplyMessage.side == "respondent"))
    assert respondent.author_id is None
    # The hash is the only trace of the secret, and nothing else in the database equals it.
    hashed = reply_hash(opted_in["secret"])
    holders = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).all():
            if opted_in["secret"] in repr(row):
                holders.append(("secret", table.name))
            if hashed in repr(row):
                holders.append(("hash", table.name))
    assert sorted(holders) == [("hash", "answers"), ("hash", "reply_threads")]
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(ReplyMessage).where(ReplyMessage.id == respondent.id)
                           .values(author_id=opted_in["people"][0].id))
        db.session.flush()
    db.session.rollback()


def test_threads_share_no_transaction_with_an_invitation_on_postgresql(db, opted_in):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("transaction ids are PostgreSQL's")
    invitation_xids = set(db.session.scalars(sa.text("SELECT xmin::text FROM invitations")))
    thread_xids = set(db.session.scalars(sa.text("SELECT xmin::text FROM reply_threads")))
    assert thread_xids and not thread_xids & invitation_xids


def test_a_signed_in_visitor_is_nobody_on_the_reply_pages(client, db, opted_in):
    """Person 0 opens their link in the browser where they are signed in: the page neither reads
    nor stamps their session, and shows them signed out."""
    _forget_user()
    client.post("/login", data={"email": "p0@example.com", "password": PASSWORD})
    row = db.session.scalar(sa.select(SignInSession).join(SignInSession.person).where(
        SignInSession.person_id == opted_in["people"][0].id))
    before = row.last_seen_at = row.last_seen_at - timedelta(days=1)
    db.session.commit()
    _forget_user()
    page = client.get(f"/r/{opted_in['secret']}").get_data(as_text=True)
    assert "Person 0" not in page and 'action="/logout"' not in page
    client.post("/r/reply", data={"secret": opted_in["secret"], "body": "hello"})
    db.session.expire_all()
    assert db.session.get(SignInSession, row.id).last_seen_at == before
    _forget_user()
    assert 'action="/logout"' in client.get("/").get_data(as_text=True)  # still signed in, elsewhere


def test_the_guard_hides_threads_whose_comment_it_hides(client, db, factory, pulse):
    """Fewer than 10 respondents: comments are not shown, so neither is any thread, to HR or in links."""
    response = _answer_by_link(client, db, pulse, pulse["people"][0], "A lonely comment")
    secret = SECRET_LINK.search(response.get_data(as_text=True)).group(1)
    for person in pulse["people"][1:6]:  # six respondents in all
        answering.submit_response(invitations.invitation_for(person, pulse["round"].id),
                                  {pulse["q"]["enps"]: 8}, NOW + timedelta(hours=1))
    _close(db, pulse)
    thread_id = _thread_id(db)
    _hr(client)
    assert client.get(f"/comments/{thread_id}").status_code == 404
    assert client.post(f"/comments/{thread_id}/reply", data={"body": "hi"}).status_code == 404
    assert "A lonely comment" not in client.get("/comments").get_data(as_text=True)
    assert services.visible_threads(pulse["hr"]) == []
    # The writer still reads their own thread (there is nothing in it), and cannot write first.
    client.post("/logout")
    _forget_user()
    page = client.get(f"/r/{secret}").get_data(as_text=True)
    assert "A lonely comment" in page and "<textarea" not in page


def test_no_log_line_holds_a_reply_secret():
    secret = "A" * 43
    assert logs.redact(f'"GET /r/{secret} HTTP/1.1" 200') == '"GET /r/[redacted] HTTP/1.1" 200'
    assert secret not in logs.redact(f"Referer: http://polso.example/r/{secret}")


def test_the_reply_pages_send_no_referrer_path_and_are_not_cached(client, opted_in):
    response = client.get(f"/r/{opted_in['secret']}")
    assert response.headers["Referrer-Policy"] == "strict-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_demo_has_reply_threads_hr_can_read_and_a_link_to_play_the_respondent(app, runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "120", "--weeks", "6", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "3 reply threads" in result.output
    secret = re.search(r"/r/([A-Za-z0-9_\-]{40,})", result.output).group(1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyMessage)
                             .where(ReplyMessage.side == "respondent")) == 2
    _forget_user()
    hr = app.test_client()
    hr.post("/login", data={"email": "hr@polso.example", "password": "polso-demo"})
    _forget_user()
    inbox = hr.get("/comments").get_data(as_text=True)
    assert inbox.count("/comments/") == 3 and "Waiting for HR" in inbox
    _forget_user()
    visitor = app.test_client()
    page = visitor.get(f"/r/{secret}").get_data(as_text=True)
    assert "HR" in page and 'class="reply-message' in page


def test_the_model_matches_the_migration(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert [d for d in diff if "reply" in repr(d)] == []
    if db.engine.dialect.name == "sqlite":  # the added column left the table WITHOUT ROWID
        with db.engine.connect() as conn:
            sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'answers'")).scalar()
        assert "WITHOUT ROWID" in sql


def test_the_anonymity_audit_passes_with_conversations_and_checks_their_transactions(db, client, opted_in):
    import anonymity_audit

    _exchange(client, db, opted_in)
    checks = {check.name: check for check in anonymity_audit.run()}
    assert checks["transaction ids"].ok, checks["transaction ids"].detail
    if db.engine.dialect.name == "postgresql":
        # The attack the check exists for: a respondent's message written with a row naming a person.
        db.session.execute(sa.text("UPDATE reply_messages SET body = body || '.' WHERE side = 'respondent'"))
        db.session.execute(sa.text("UPDATE people SET name = name WHERE email = 'p0@example.com'"))
        db.session.commit()
        assert not {c.name: c for c in anonymity_audit.run()}["transaction ids"].ok


def test_hr_home_lists_the_comments_waiting_for_a_reply(client, db, opted_in):
    _hr(client)
    home = client.get("/").get_data(as_text=True)
    assert "1 respondent is waiting" in home and f"/comments/{_thread_id(db)}" in home
    client.post(f"/comments/{_thread_id(db)}/reply", data={"body": "Thanks"})
    _forget_user()
    assert "No comment is waiting for a reply." in client.get("/").get_data(as_text=True)

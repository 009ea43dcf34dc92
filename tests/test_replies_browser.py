"""A reply thread end to end in real Chromium: the respondent opts in, HR replies, the respondent reads
it through the secret link without signing in, and answers; every page passes axe on a phone and a desktop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

import tasks
from surveys import answering, building, invitations, rounds
from surveys.models import ReplyMessage
from tests.conftest import PASSWORD, axe_violations, personal_token

pytestmark = pytest.mark.browser

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


def _clean(page) -> None:
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        assert axe_violations(page) == [], (page.url, size)
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]


def test_a_reply_thread_end_to_end(browser, live_server, app, db, factory):
    app.config["POLSO_BASE_URL"] = live_server
    factory.person("hr@example.com", role="hr_admin", name="Hana HR")
    people = [factory.person(f"p{i}@example.com", name=f"Person {i}") for i in range(12)]
    survey = building.create_survey({"title": "Weekly pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}, {"kind": "text", "text": "Anything else?"}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    enps, text = (q.id for q in survey.questions)
    link = f"/s/{personal_token(invitations.invitation_for(people[0], round_.id).id)}"

    respondent = browser.new_context(base_url=live_server, locale="en-GB", viewport=PHONE, is_mobile=True)
    page = respondent.new_page()
    page.goto(link)
    page.locator(f"label[for='q{enps}-6']").click()
    page.get_by_label("Anything else?").fill("Meetings eat all my focus time.")
    page.get_by_label("Let HR reply to my comment, anonymously").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Your secret reply link")).to_be_visible()
    secret_link = page.locator(".reply-link").input_value()
    assert secret_link.startswith(f"{live_server}/r/")
    _clean(page)
    respondent.close()  # the respondent keeps only the link: no cookie, no session

    for i, person in enumerate(people[1:]):
        answering.submit_response(invitations.invitation_for(person, round_.id),
                                  {enps: 9, text: f"Fine, thanks ({i})"}, datetime.now(UTC))
    tasks.tick(round_.closes_at)

    staff = browser.new_context(base_url=live_server, locale="en-GB")
    hr = staff.new_page()
    hr.goto("/login")
    hr.get_by_label("E-mail").fill("hr@example.com")
    hr.get_by_label("Password").fill(PASSWORD)
    hr.get_by_role("button", name="Sign in").click()
    hr.wait_for_url(lambda url: "/login" not in url)
    hr.goto(f"/results?survey={survey.id}")
    comment = hr.locator("#comments li", has_text="Meetings eat all my focus time.")
    comment.get_by_role("link", name="Reply anonymously").click()
    hr.get_by_role("heading", name="Conversation about a comment").wait_for()
    _clean(hr)
    hr.get_by_label("Your message").fill("Thank you. Would no-meeting Wednesdays help?")
    hr.get_by_role("button", name="Send reply").click()
    expect(hr.get_by_text("Reply sent.")).to_be_visible()

    later = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True)  # a new browser, no sign-in
    reader = later.new_page()
    reader.goto(secret_link)
    expect(reader.get_by_text("Thank you. Would no-meeting Wednesdays help?")).to_be_visible()
    expect(reader.get_by_text("Meetings eat all my focus time.")).to_be_visible()
    assert "Hana" not in reader.content()
    _clean(reader)
    reader.get_by_label("Your message").fill("Yes, very much.")
    reader.keyboard.press("Tab")
    reader.keyboard.press("Enter")  # the send button, by keyboard
    expect(reader.get_by_text("Your answer is sent.")).to_be_visible()
    expect(reader.get_by_text("Yes, very much.")).to_be_visible()

    hr.reload()
    expect(hr.get_by_text("Yes, very much.")).to_be_visible()
    hr.goto("/comments")
    expect(hr.locator("#threads")).to_contain_text("Waiting for HR")
    _clean(hr)
    assert [m.side for m in db.session.scalars(sa.select(ReplyMessage).order_by(ReplyMessage.position))] == [
        "hr", "respondent"]
    later.close()
    staff.close()

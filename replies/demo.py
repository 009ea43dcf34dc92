"""Demo reply threads: a few comments of the latest closed round whose writers asked for a reply.

Their secrets are made here and dropped (no demo person holds one), except the first, which the
seed prints so that whoever runs the demo can play the respondent's side. HR's replies go through
the services, as on the page; the respondents' answers go through the secret, as from the link.
"""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from dashboards import services as dashboards
from extensions import db
from people.models import Person
from replies import services
from surveys.models import Answer, ReplyThread, Response
from surveys.reply_links import new_secret, reply_link

# (HR's reply, the respondent's answer or None, HR's follow-up or None, whether HR then closed it)
THREADS = (
    ("Thanks for writing. Which meetings would you drop first: the recurring ones, or the large ones?",
     "The recurring status meetings: most could be a written update.",
     "Understood. We are trying written status updates in two departments next month.", False),
    ("Thanks. Is it the priorities of your team, or of the company, that feel unclear?",
     "Mostly the company's: the goals changed twice this quarter.", None, False),
    ("Thanks. We have added learning budgets this quarter: would time, or money, help more?", None, None,
     False),
)


def seed(rng: random.Random, now) -> tuple[dict[str, int], str | None]:
    """Open the demo threads; returns the counts and one respondent's link (None if nothing to reply to)."""
    hr = db.session.scalar(sa.select(Person).where(Person.email == "hr@polso.example"))
    survey = dashboards.enps_survey()
    rounds = dashboards.closed_rounds(survey) if survey is not None else []
    shown = dashboards.shown_comments(survey, rounds[-1]) if rounds else []
    if hr is None or not shown:
        return {"reply threads": 0}, None
    latest = rounds[-1]
    texts = sorted(set(shown))
    rng.shuffle(texts)
    link, made = None, 0
    for text, (reply, answer, follow_up, close) in zip(texts, THREADS, strict=False):
        target = db.session.execute(
            sa.select(Answer.response_id, Answer.question_id).join(Response, Response.id == Answer.response_id)
            .where(Response.round_id == latest.id, Answer.value_text == text, Answer.reply_hash.is_(None))
            .limit(1)).first()
        if target is None:
            continue
        secret, hashed = new_secret()
        db.session.execute(sa.update(Answer).where(Answer.response_id == target.response_id,
                                                   Answer.question_id == target.question_id)
                           .values(reply_hash=hashed))
        thread = ReplyThread(round_id=latest.id, reply_hash=hashed)
        db.session.add(thread)
        db.session.commit()
        # A day after the round closed, and never later than three days ago, so no message is in the future.
        when = min(latest.closes_at + timedelta(days=1), now - timedelta(days=3)) + timedelta(hours=rng.randint(1, 6))
        services.reply(hr, thread.id, reply, when)
        db.session.commit()
        if answer:
            services.respond(secret, answer, (when + timedelta(days=1)).date())
            db.session.commit()
        if follow_up:
            services.reply(hr, thread.id, follow_up, when + timedelta(days=2))
            db.session.commit()
        if close:
            services.close(hr, thread.id, when + timedelta(days=3))
            db.session.commit()
        link = link or reply_link(secret)
        made += 1
    return {"reply threads": made}, link

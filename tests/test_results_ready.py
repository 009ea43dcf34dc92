"""When a round closes, each manager gets "your team's results are ready", with no figure in it."""

from __future__ import annotations

import re

import sqlalchemy as sa

import tasks
from mail.models import OutboxMessage
from tests.dashboard_fixtures import closed, org  # noqa: F401  (fixtures)


def _notices(db):
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "results_ready")
                              .order_by(OutboxMessage.id)).all()


def test_each_manager_gets_one_notice_when_the_round_closes(app, db, closed, org):  # noqa: F811
    # The fixture's closing tick queued them: Bea manages Big, Parent and Child; Tim manages Tiny (3 people).
    notices = _notices(db)
    assert sorted(n.to_address for n in notices) == ["boss@example.com", "tinyboss@example.com"]
    # Ticking again (another host, a retry) queues nothing more.
    tasks.tick(closed["round"].closes_at)
    assert len(_notices(db)) == 2


def test_the_notice_carries_no_figure_even_for_a_team_the_guard_hides(app, db, closed, org):  # noqa: F811
    tiny = next(n for n in _notices(db) if n.to_address == "tinyboss@example.com")  # Tiny: 3 people, under k
    for body in (tiny.subject, tiny.body_text, tiny.body_html):
        without_links = re.sub(r"https?://\S+", "", re.sub(r'href="[^"]*"', "", body))
        without_styles = re.sub(r'style="[^"]*"', "", without_links)
        assert re.findall(r"\d", re.sub(r"<[^>]+>", "", without_styles)) == [], body
    assert f"survey={closed['survey'].id}" in tiny.body_text and f"team={org['tiny_boss'].id}" in tiny.body_text


def test_the_notice_is_in_the_managers_language(app, db, factory, org):  # noqa: F811
    org["boss"].locale = "it"
    db.session.commit()
    from surveys import building
    from surveys.models import Round
    from tests.dashboard_fixtures import NOW

    building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                            "questions": [{"library_key": "enps", "required": True}]}, NOW)
    round_id = tasks.tick(NOW).pulses.opened[0]
    tasks.tick(db.session.get(Round, round_id).closes_at)
    boss = next(n for n in _notices(db) if n.to_address == "boss@example.com")
    assert boss.body_text.startswith("Gentile Bea Boss") and "Pulse" in boss.subject

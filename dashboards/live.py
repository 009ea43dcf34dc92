"""Live participation: how many of an open round's invited people have answered, per group.

The promise (DESIGN, Anonymity 2: whether a person answered is not revealed beyond a participation
figure over at least k invited people):

- Groups are the company and each department subtree of the tree snapshotted when the round opened.
  People are placed by the generalised segment their invitation got then (``surveys.membership``),
  as their answers will be counted when the round closes: someone whose department is too small
  counts in the larger group above it, never in a group of their own.
- Which groups are shown is decided by ``scoring.disclosure.disclose`` on *invited* counts alone
  (the organisation, never who answered): every atom of the shown groups holds 0 or at least k
  invited people, so no difference of two shown figures says whether fewer than k people answered.
  A group under k invited people is absent, with no number.
- Figures are refreshed at most once an hour: a snapshot is kept per round (``live_participation``)
  and replaced only when it is an hour old. So two figures anyone sees differ by the answers of a
  window of at least an hour, and nobody can watch a figure move to time one person's answer.
  (A cache per clock hour would not do: reading at 10:59 and again at 11:00 would show the answers
  of one minute.) The snapshot stores only the shown groups' counts; it is shared by every app
  process through the database, and two processes refreshing at once keep one snapshot.
- Once the round closes, its snapshot is dropped: results then come from the guard's stored verdict.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from dbtypes import UTCDateTime
from extensions import db
from people import org
from scoring import Participation, participation
from scoring.disclosure import Cell, disclose
from surveys.membership import trees_from_json
from surveys.models import Invitation, Round

REFRESH = timedelta(hours=1)
COMPANY = ("company", 0)


class LiveParticipation(db.Model):
    """The latest snapshot of an open round's participation: shown groups only, as [answered, invited]."""

    __tablename__ = "live_participation"

    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    taken_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    # {"company": [answered, invited], "department": {"<id>": [answered, invited]}}
    figures: so.Mapped[dict] = so.mapped_column(sa.JSON)


@dataclass(frozen=True)
class GroupParticipation:
    kind: str  # "company" | "department"
    key: int  # 0 for the company
    participation: Participation


@dataclass(frozen=True)
class LiveFigures:
    """One open round's participation as of ``taken_at``: only groups of at least ``k`` invited people."""

    round: Round
    taken_at: datetime
    k: int
    company: Participation | None
    departments: list[GroupParticipation]


def count_now(round_: Round) -> dict:
    """The figures to store for ``round_`` now: the shown groups' [answered, invited] (see the promise)."""
    k = round_.survey.min_group_size
    segment = (Invitation.cell_department_id, Invitation.cell_manager_id, Invitation.cell_tenure_band)
    rows = db.session.execute(
        sa.select(*segment, sa.func.count(), sa.func.sum(sa.case((Invitation.answered, 1), else_=0)))
        .where(Invitation.round_id == round_.id).group_by(*segment)).all()
    trees = trees_from_json(round_.snapshot)
    departments = trees["department"] if trees else {}
    # Rounds opened before segments were snapshotted know no segment: the company only.
    cells = [Cell(invited, invited) for *_segment, invited, _answered in rows]
    answered = [int(a or 0) for *_segment, _invited, a in rows]
    groups: dict[tuple[str, int], set[int]] = {COMPANY: set(range(len(rows)))}
    if trees:
        members: dict[int, set[int]] = defaultdict(set)
        for index, (department_id, *_rest) in enumerate(rows):
            for node in org.ancestors(departments, department_id):
                members[node].add(index)
        roots = [key for key, parent in departments.items() if parent == -1]
        # One top department is the company itself (as on the results page): its figure would repeat it.
        groups.update({("department", key): members.get(key, set()) for key in departments
                       if not (len(roots) == 1 and key == roots[0])})
    sizes = {group: sum(cells[i].invited for i in found) for group, found in groups.items()}
    verdicts = disclose(cells, groups, k, lambda g: (g != COMPANY, -sizes[g])) if cells else {}
    out: dict = {"company": None, "department": {}}
    for group, verdict in verdicts.items():
        if not verdict.shown:
            continue
        figure = [sum(answered[i] for i in groups[group]), sizes[group]]
        if group == COMPANY:
            out["company"] = figure
        else:
            out["department"][str(group[1])] = figure
    return out


def _read(round_id: int) -> LiveParticipation | None:
    return db.session.scalar(sa.select(LiveParticipation).where(LiveParticipation.round_id == round_id)
                             .execution_options(populate_existing=True))


def snapshot(round_: Round, now: datetime) -> LiveParticipation:
    """The round's snapshot, taken anew (and committed) only when there is none or it is an hour old."""
    row = _read(round_.id)
    if row is not None and now - row.taken_at < REFRESH:
        return row
    figures = count_now(round_)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(LiveParticipation(round_id=round_.id, taken_at=now, figures=figures))
        except IntegrityError:
            pass  # another process took it first: theirs stands
    else:
        # Only over the snapshot this process read: of two refreshing at once, one wins.
        db.session.execute(sa.update(LiveParticipation).where(
            LiveParticipation.round_id == round_.id, LiveParticipation.taken_at == row.taken_at)
            .values(taken_at=now, figures=figures))
    db.session.execute(sa.delete(LiveParticipation).where(
        LiveParticipation.round_id.in_(sa.select(Round.id).where(Round.status != "open"))))
    db.session.commit()
    return _read(round_.id)


def open_rounds(now: datetime) -> list[Round]:
    """Rounds open at ``now``, closing soonest first."""
    return list(db.session.scalars(sa.select(Round).where(
        Round.status == "open", Round.opens_at <= now, Round.closes_at > now).order_by(Round.closes_at, Round.id)))


def live_participation(round_: Round, now: datetime) -> LiveFigures:
    """What may be shown of an open round's participation at ``now`` (see the module's promise)."""
    row = snapshot(round_, now)
    company = row.figures.get("company")
    departments = [GroupParticipation("department", int(key), participation(*figure))
                   for key, figure in (row.figures.get("department") or {}).items()]
    return LiveFigures(round_, row.taken_at, round_.survey.min_group_size,
                       participation(*company) if company else None, departments)

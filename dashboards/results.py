"""Counting a round's answers into per-group histograms, and storing them when it closes.

``count_round`` reads raw answers (its cost grows with responses) and is
used once, when the round closes, by ``store_round_results``; everything
that shows results reads the stored rows (``load``) and rolls groups up
along the department or manager tree.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from dashboards.models import RoundResult
from extensions import db
from people import org
from people.models import Person
from scoring import Visibility
from scoring.disclosure import Cell, Verdict, disclose
from surveys import ballots
from surveys.membership import org_trees, trees_from_json
from surveys.models import TENURE_BANDS, Answer, Invitation, Question, Response, Round, Survey

SCALE = {"enps": 11, "likert": 5}


@dataclass
class Counts:
    """One group's responses and per-question histograms; groups add up."""

    responses: int = 0
    invited: int | None = None
    visibility: Visibility | None = None  # as stored; None while counting
    comments: list[str] | None = None
    histograms: dict[int, list[int]] = field(default_factory=dict)
    pairs: dict[int, list[list[int]]] | None = None

    def add(self, other: Counts) -> None:
        self.responses += other.responses
        if other.invited is not None:
            self.invited = (self.invited or 0) + other.invited
        for qid, histogram in other.histograms.items():
            mine = self.histograms.setdefault(qid, [0] * len(histogram))
            for index, count in enumerate(histogram):
                mine[index] += count


def question_sizes(round_id: int) -> dict[int, tuple[str, int]]:
    """question id → (kind, histogram length) for the round's survey."""
    survey_id = db.session.scalar(sa.select(Round.survey_id).where(Round.id == round_id))
    sizes = {}
    for qid, kind, options in db.session.execute(
            sa.select(Question.id, Question.kind, Question.options).where(Question.survey_id == survey_id)):
        if kind in SCALE:
            sizes[qid] = (kind, SCALE[kind])
        elif kind == "choice":
            sizes[qid] = (kind, len(options or []))
    return sizes


_TENURE_KEYS = {band: index + 1 for index, band in enumerate(TENURE_BANDS)}


def _tenure_key(band: str | None) -> int:
    return _TENURE_KEYS.get(band, 0)


class RoundTally:
    """Adds responses, answers, invitations and (item, eNPS) pairs into per-group counts.

    Fed by SQL ``GROUP BY`` rows in ``count_round`` and by the demo seed one
    response at a time, so both produce the same stored rows. Alongside the
    groups it keeps the *cells* (one per stored segment: department, manager,
    tenure band) with their invited, respondent and per-question answer
    counts, which is what the disclosure guard reasons about.
    """

    def __init__(self, sizes: dict[int, tuple[str, int]]):
        self.sizes = sizes
        self.groups: dict[tuple[str, int], Counts] = defaultdict(Counts)
        self.groups[("company", 0)].pairs = {}
        self.cells: dict[tuple, int] = defaultdict(int)  # respondents per cell
        self.cell_invited: dict[tuple, int] = defaultdict(int)
        self.cell_answers: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        # Rounds opened before segments were snapshotted know invited people per department only.
        self.invited_by_cell = True

    @staticmethod
    @functools.cache
    def _keys(department_id: int | None, manager_id: int | None, band: str | None):
        return (("company", 0), ("department", department_id or 0), ("manager", manager_id or 0),
                ("tenure", _tenure_key(band)))

    @staticmethod
    @functools.cache
    def _cell(department_id, manager_id, band) -> tuple[int, int, int]:
        return (department_id or 0, manager_id or 0, _tenure_key(band))

    def add_responses(self, department_id, manager_id, band, count: int = 1) -> None:
        for key in self._keys(department_id, manager_id, band):
            self.groups[key].responses += count
        self.cells[self._cell(department_id, manager_id, band)] += count

    def add_answer(self, department_id, manager_id, band, question_id: int, value: int, count: int = 1) -> None:
        kind, length = self.sizes[question_id]
        index = value - 1 if kind == "likert" else value
        for key in self._keys(department_id, manager_id, band):
            self.groups[key].histograms.setdefault(question_id, [0] * length)[index] += count
        self.cell_answers[self._cell(department_id, manager_id, band)][question_id] += count

    def add_pair(self, question_id: int, item_value: int, enps_value: int, count: int = 1) -> None:
        pairs = self.groups[("company", 0)].pairs
        pairs.setdefault(question_id, [[0] * 11 for _ in range(5)])[item_value - 1][enps_value] += count

    def add_comment(self, text: str) -> None:
        company = self.groups[("company", 0)]
        if company.comments is None:
            company.comments = []
        company.comments.append(text)

    def add_invited(self, department_id: int | None, manager_id: int | None, band: str | None,
                    count: int) -> None:
        for key in self._keys(department_id, manager_id, band):
            self.groups[key].invited = (self.groups[key].invited or 0) + count
        self.cell_invited[self._cell(department_id, manager_id, band)] += count

    def rows(self, round_id: int, trees: dict[str, dict[int, int]], k: int,
             allowed: set[tuple[str, int]] | None = None) -> list[dict]:
        """Rows to store, each with the disclosure guard's verdict for minimum group size ``k``.

        Company and tenure rows as counted; departments and managers as subtree
        totals over ``trees`` ("department" and "manager" → {key: parent key}, -1
        at the top: the tree snapshotted when the round opened). Own counts of
        keys not in a tree count at the company only. ``scoring.disclosure``
        decides every verdict at once, over every cut.
        """
        company = self.groups.get(("company", 0), Counts())
        counts: dict[tuple[str, int], Counts] = {("company", 0): company}
        parent_of: dict[tuple[str, int], int | None] = {("company", 0): None}
        for (kind, key), c in self.groups.items():
            if kind == "tenure" and key:
                counts[kind, key], parent_of[kind, key] = c, -1
        for kind, parents in trees.items():
            # Every group of the tree gets a row, also one whose people's answers are all stored under
            # a coarser segment: the page then says it is too small rather than knowing nothing of it.
            totals: dict[int, Counts] = {key: Counts() for key in parents}
            for (group_kind, key), own in self.groups.items():
                for node in org.ancestors(parents, key if group_kind == kind else None):
                    totals[node].add(own)
            for key, c in totals.items():
                counts[kind, key], parent_of[kind, key] = c, parents[key]
        verdicts = self.verdicts(trees, k, allowed)
        out = [_row(round_id, kind, key, parent_of[kind, key], c, verdicts.get((kind, key), NO_CELLS))
               for (kind, key), c in counts.items()]
        out[0]["comments"] = _comment_sample(round_id, company.comments or [])
        return out

    def verdicts(self, trees: dict[str, dict[int, int]], k: int,
                 allowed: set[tuple[str, int]] | None = None) -> dict[tuple[str, int], Verdict]:
        """The guard's verdict for every group of every cut, from the cells (only ``allowed`` may be shown)."""
        cells, groups = self.guard_input(trees)
        invited = {g: sum(cells[i].invited for i in members) for g, members in groups.items()}

        def priority(group: tuple[str, int]):
            # Organisation only (invited counts), never answers. Managers' teams before departments: a
            # team is some manager's only view, while HR sees its people through other groups too.
            # Within a cut the largest first: a large group rarely singles anyone out, and on the demo
            # organisation this shows 94 % of managers their own team against 88 % smallest first.
            return (CUT_ORDER[group[0]], -invited[group])

        questions = self.guarded_questions()
        return {group: Verdict(v.shown, v.reason, frozenset(questions[i] for i in v.hidden_questions))
                for group, v in disclose(cells, groups, k, priority, allowed).items()}

    def guarded_questions(self) -> list[int]:
        """The questions whose answers are counted per group (not comments), in the guard's order."""
        return sorted(q for q, (kind, _length) in self.sizes.items() if kind in SCALE or kind == "choice")

    def guard_input(self, trees: dict[str, dict[int, int]]) -> tuple[list[Cell], dict[tuple[str, int], set[int]]]:
        """The cells (invited, respondents, answers per question) and each group's cells, in every cut."""
        keys = sorted(set(self.cells) | set(self.cell_invited))
        questions = self.guarded_questions()
        cells = [Cell(self.cell_invited.get(c, 0) if self.invited_by_cell else self.cells.get(c, 0),
                      self.cells.get(c, 0), tuple(self.cell_answers[c].get(q, 0) for q in questions))
                 for c in keys]
        groups: dict[tuple[str, int], set[int]] = defaultdict(set)
        lines: dict[tuple[str, int], tuple[int, ...]] = {}

        def line(kind: str, node: int) -> tuple[int, ...]:
            """The node and its ancestors in one tree (empty outside it)."""
            if (kind, node) not in lines:
                lines[kind, node] = tuple(org.ancestors(trees.get(kind, {}), node))
            return lines[kind, node]

        for index, (department, manager, band) in enumerate(keys):
            groups["company", 0].add(index)
            if band:
                groups["tenure", band].add(index)
            for node in line("department", department):
                groups["department", node].add(index)
            for node in line("manager", manager):
                groups["manager", node].add(index)
        for kind in ("department", "manager"):
            for node in trees.get(kind, {}):
                groups.setdefault((kind, node), set())
        return cells, dict(groups)


# The order in which cuts claim what can be shown.
CUT_ORDER = {"company": 0, "manager": 1, "department": 2, "tenure": 3}
NO_CELLS = Verdict(False, "too_few_invited")


MAX_STORED_COMMENTS = 200


def _comment_sample(round_id: int, comments: list[str]) -> list[str]:
    """At most MAX_STORED_COMMENTS comments, ordered by a keyed hash: the same for the same answers
    (so a recount matches), unrelated to who answered or when; pages shuffle them again."""
    def order(text: str) -> str:
        return hashlib.sha256(f"{round_id}:{text}".encode()).hexdigest()

    return sorted(comments, key=order)[:MAX_STORED_COMMENTS]


def _row(round_id: int, kind: str, key: int, parent: int | None, c: Counts, verdict: Verdict) -> dict:
    return {"round_id": round_id, "kind": kind, "key": key, "parent_key": parent, "responses": c.responses,
            "comments": None,
            "shown": verdict.shown, "reason": verdict.reason, "invited": c.invited,
            # A question the guard hides in this group is not stored with it.
            "histograms": {str(q): h for q, h in c.histograms.items() if q not in verdict.hidden_questions},
            "pairs": {str(q): p for q, p in c.pairs.items()} if c.pairs is not None else None}


def current_trees() -> dict[str, dict[int, int]]:
    """The trees as they stand (``surveys.membership.org_trees``), with every manager a response names."""
    return org_trees(db.session.scalars(sa.select(Response.manager_id).where(Response.manager_id.is_not(None))
                                        .distinct()))


def count_round(round_id: int) -> RoundTally:
    """Live counts of one round for every group: company, own department, direct manager, tenure band."""
    tally = RoundTally(question_sizes(round_id))
    segment = (Response.department_id, Response.manager_id, Response.tenure_band)
    for department_id, manager_id, band, count in db.session.execute(
            sa.select(*segment, sa.func.count()).where(Response.round_id == round_id).group_by(*segment)):
        tally.add_responses(department_id, manager_id, band, count)
    for department_id, manager_id, band, qid, value, count in db.session.execute(
            sa.select(*segment, Answer.question_id, Answer.value_int, sa.func.count())
            .join(Answer, Answer.response_id == Response.id)
            .where(Response.round_id == round_id, Answer.kind != "text")
            .group_by(*segment, Answer.question_id, Answer.value_int)):
        tally.add_answer(department_id, manager_id, band, qid, value, count)
    # Invited people by the segment snapshotted at opening, so a move during or after the round changes
    # nothing. Rounds opened before snapshots know each invitee's department as it is today only.
    snapshotted = db.session.scalar(sa.select(Round.snapshot).where(Round.id == round_id)) is not None
    if snapshotted:
        cell = (Invitation.cell_department_id, Invitation.cell_manager_id, Invitation.cell_tenure_band)
        for department_id, manager_id, band, count in db.session.execute(
                sa.select(*cell, sa.func.count()).where(Invitation.round_id == round_id).group_by(*cell)):
            tally.add_invited(department_id, manager_id, band, count)
    else:
        tally.invited_by_cell = False
        for department_id, count in db.session.execute(
                sa.select(Person.department_id, sa.func.count()).join(Invitation, Invitation.person_id == Person.id)
                .where(Invitation.round_id == round_id).group_by(Person.department_id)):
            tally.add_invited(department_id, None, None, count)
    for (text,) in db.session.execute(
            sa.select(Answer.value_text).join(Response, Response.id == Answer.response_id)
            .where(Response.round_id == round_id, Answer.kind == "text")):
        tally.add_comment(text)
    item, score = so.aliased(Answer), so.aliased(Answer)
    for qid, item_value, enps_value, count in db.session.execute(
            sa.select(item.question_id, item.value_int, score.value_int, sa.func.count())
            .join(score, sa.and_(score.response_id == item.response_id, score.kind == "enps"))
            .join(Response, Response.id == item.response_id)
            .where(Response.round_id == round_id, item.kind == "likert")
            .group_by(item.question_id, item.value_int, score.value_int)):
        tally.add_pair(qid, item_value, enps_value, count)
    return tally


def store_round_results(round_id: int, trees: dict[str, dict[int, int]] | None = None, *,
                        published: dict[tuple[str, int], dict] | None = None) -> list[dict]:
    """Count a round and store its rows (replacing any) over ``trees`` (default: the trees snapshotted
    when the round opened, or as they stand for rounds opened before snapshots); the caller commits.

    ``published`` holds the rows shown before (a recount): a group is then shown only if it was shown
    before, and only with the very figures it was shown with, so that nothing seen before can be
    combined with what is seen now. Returns the rows written.
    """
    db.session.execute(sa.delete(RoundResult).where(RoundResult.round_id == round_id))
    k, snapshot = db.session.execute(sa.select(Survey.min_group_size, Round.snapshot).join(Round.survey)
                                     .where(Round.id == round_id)).one()
    if trees is None:
        trees = trees_from_json(snapshot) or current_trees()
    allowed = None if published is None else {g for g, row in published.items() if row["shown"]}
    rows = count_round(round_id).rows(round_id, trees, k, allowed)
    if published is not None:
        for row in rows:
            before = published.get((row["kind"], row["key"]))
            if row["shown"] and not _same_figures(row, before):
                row.update(shown=False, reason="overlap")
            elif not row["shown"] and before is not None and not before["shown"]:
                row["reason"] = before["reason"]  # hidden then, hidden now: the reason people read stays
    # Core, by COPY on PostgreSQL (``ballots.insert_rows``): a round at a large company has tens of
    # thousands of groups, and an INSERT per row costs more than counting them.
    ballots.insert_rows(RoundResult.__table__, rows)
    return rows


def published_rows(round_id: int) -> dict[tuple[str, int], dict]:
    """The round's stored rows as they may have been seen, for ``store_round_results(published=...)``."""
    return {(r.kind, r.key): {"shown": r.shown, "reason": r.reason, "responses": r.responses,
                              "invited": r.invited, "histograms": r.histograms}
            for r in db.session.execute(
                sa.select(RoundResult.kind, RoundResult.key, RoundResult.shown, RoundResult.reason,
                          RoundResult.responses, RoundResult.invited, RoundResult.histograms)
                .where(RoundResult.round_id == round_id))}


def _same_figures(row: dict, before: dict | None) -> bool:
    """Whether a recounted row shows nothing the published one did not: same counts, and each question it
    shows shown before with the same histogram."""
    if before is None or (row["responses"], row["invited"]) != (before["responses"], before["invited"]):
        return False
    old = before["histograms"] or {}
    return all(old.get(q) == h for q, h in row["histograms"].items())


def stored_trees(round_id: int) -> dict[str, dict[int, int]]:
    """The department and manager trees as they stood when the round closed (from its stored rows)."""
    trees: dict[str, dict[int, int]] = {"department": {}, "manager": {}}
    for kind, key, parent in db.session.execute(
            sa.select(RoundResult.kind, RoundResult.key, RoundResult.parent_key)
            .where(RoundResult.round_id == round_id, RoundResult.kind.in_(list(trees)))):
        trees[kind][key] = parent
    return trees


def recount_closed_rounds() -> tuple[int, int]:
    """Store every closed round's results again, with today's guard and the trees at its closing.

    For an upgrade that changes what the guard hides (results are stored when a round closes and never
    recounted otherwise). A recount only ever hides more: a group stays shown only if today's guard
    allows it among the groups shown before, with the figures it was shown with. Commits one round at a time.
    Returns (rounds, groups whose verdict changed).
    """
    changed = 0
    round_ids = db.session.scalars(sa.select(Round.id).where(Round.status == "closed").order_by(Round.id)).all()
    for round_id in round_ids:
        published = published_rows(round_id)
        snapshot = db.session.scalar(sa.select(Round.snapshot).where(Round.id == round_id))
        rows = store_round_results(round_id, stored_trees(round_id) if published and not snapshot else None,
                                   published=published or None)
        db.session.commit()
        for row in rows:
            before = published.get((row["kind"], row["key"])) or {}
            changed += (before.get("shown"), before.get("reason")) != (row["shown"], row["reason"])
    return len(round_ids), changed


def load(round_ids: Iterable[int], kind: str, keys: Iterable[int] | None = None, *,
         extras: bool = False) -> dict[int, dict[int, Counts]]:
    """Stored counts: round id → group key → counts; ``extras`` also reads pairs and comments."""
    columns = [RoundResult.round_id, RoundResult.key, RoundResult.responses, RoundResult.invited,
               RoundResult.shown, RoundResult.reason, RoundResult.histograms]
    if extras:
        columns += [RoundResult.pairs, RoundResult.comments]
    stmt = sa.select(*columns).where(RoundResult.round_id.in_(list(round_ids)), RoundResult.kind == kind)
    if keys is not None:
        stmt = stmt.where(RoundResult.key.in_(list(keys)))
    found: dict[int, dict[int, Counts]] = defaultdict(dict)
    for row in db.session.execute(stmt):
        counts = Counts(responses=row.responses, invited=row.invited,
                        visibility=Visibility(row.shown, False, row.reason),
                        histograms={int(q): list(h) for q, h in (row.histograms or {}).items()})
        if extras:
            counts.pairs = {int(q): p for q, p in row.pairs.items()} if row.pairs else None
            counts.comments = list(row.comments or [])
        found[row.round_id][row.key] = counts
    return found


def children(round_id: int, kind: str, parent_key: int) -> list[int]:
    """Keys of the groups directly below ``parent_key`` in a round's stored tree."""
    return list(db.session.scalars(sa.select(RoundResult.key).where(
        RoundResult.round_id == round_id, RoundResult.kind == kind, RoundResult.parent_key == parent_key)))

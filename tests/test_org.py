"""The department tree and the reporting line, walked by ``people.org``."""

import pytest
import sqlalchemy as sa

from people import org
from people.models import Person


@pytest.fixture
def departments(factory):
    """Company > (Engineering > (Backend, Frontend), Sales); and Board on its own."""
    company = factory.department("Company")
    engineering = factory.department("Engineering", company)
    backend = factory.department("Backend", engineering)
    frontend = factory.department("Frontend", engineering)
    sales = factory.department("Sales", company)
    board = factory.department("Board")
    return {d.name: d.id for d in (company, engineering, backend, frontend, sales, board)}


@pytest.fixture
def people(factory):
    """ceo > (cto > (dev1 > intern, dev2), cfo); and a loner."""
    ceo = factory.person("ceo@example.com")
    cto = factory.person("cto@example.com", manager=ceo)
    dev1 = factory.person("dev1@example.com", manager=cto)
    intern = factory.person("intern@example.com", manager=dev1, active=False)
    dev2 = factory.person("dev2@example.com", manager=cto)
    cfo = factory.person("cfo@example.com", manager=ceo)
    loner = factory.person("loner@example.com")
    return {p.email.split("@")[0]: p.id for p in (ceo, cto, dev1, intern, dev2, cfo, loner)}


def test_department_parents_are_read_from_the_database(db, departments):
    d = departments
    assert org.department_parents() == {d["Company"]: None, d["Engineering"]: d["Company"],
                                        d["Backend"]: d["Engineering"], d["Frontend"]: d["Engineering"],
                                        d["Sales"]: d["Company"], d["Board"]: None}
    assert org.department_names() == {i: name for name, i in d.items()}


def test_a_department_subtree_holds_it_and_everything_below(db, departments):
    d = departments
    assert org.department_subtree(d["Engineering"]) == {d["Engineering"], d["Backend"], d["Frontend"]}
    assert org.department_subtree(d["Company"]) == set(d.values()) - {d["Board"]}
    assert org.department_subtree(d["Backend"]) == {d["Backend"]}


def test_department_paths_name_every_level_from_the_top(db, departments):
    d = departments
    paths = org.department_path_names()
    assert paths[d["Backend"]] == "Company / Engineering / Backend"
    assert paths[d["Sales"]] == "Company / Sales"
    assert paths[d["Board"]] == "Board"


def test_reports_under_a_manager_are_everyone_below_at_any_depth(db, people):
    p = people
    assert org.reports_under(p["ceo"]) == {p["cto"], p["dev1"], p["intern"], p["dev2"], p["cfo"]}
    assert org.reports_under(p["cto"]) == {p["dev1"], p["intern"], p["dev2"]}
    assert org.reports_under(p["dev2"]) == set()
    assert org.reports_under(p["loner"]) == set()


def test_manager_parents_follow_a_change_of_manager(db, people):
    p = people
    db.session.get(Person, p["dev1"]).manager_id = p["cfo"]
    db.session.commit()
    assert org.manager_parents()[p["dev1"]] == p["cfo"]
    assert org.reports_under(p["cto"]) == {p["dev2"]}
    assert org.reports_under(p["cfo"]) == {p["dev1"], p["intern"]}


def test_ancestors_go_up_from_the_node_and_path_comes_down_to_it(db, departments):
    d = departments
    parents = org.department_parents()
    assert org.ancestors(parents, d["Backend"]) == [d["Backend"], d["Engineering"], d["Company"]]
    assert org.path(parents, d["Backend"]) == [d["Company"], d["Engineering"], d["Backend"]]
    assert org.ancestor_at(parents, d["Backend"], 0) == d["Company"]
    assert org.ancestor_at(parents, d["Backend"], 1) == d["Engineering"]
    assert org.ancestor_at(parents, d["Backend"], 5) == d["Backend"]
    assert org.ancestor_at(parents, d["Board"], 1) == d["Board"]
    assert sorted(org.roots(parents)) == sorted([d["Company"], d["Board"]])


def test_a_node_outside_the_tree_has_no_ancestors_and_nothing_below(db, departments):
    parents = org.department_parents()
    missing = max(parents) + 1
    assert org.ancestors(parents, missing) == [] and org.path(parents, missing) == []
    assert org.ancestors(parents, None) == []
    assert org.ancestor_at(parents, missing, 1) is None
    assert org.descendants(parents, missing) == set()
    assert org.subtree(parents, missing) == {missing}


def test_a_snapshot_tree_with_minus_one_at_the_top_walks_the_same(db, departments):
    # A round's snapshot marks the top with -1, which is never a key.
    live = org.department_parents()
    snapshot = {node: -1 if parent is None else parent for node, parent in live.items()}
    for node in live:
        assert org.ancestors(snapshot, node) == org.ancestors(live, node)
        assert org.descendants(snapshot, node) == org.descendants(live, node)
    assert sorted(org.roots(snapshot)) == sorted(org.roots(live))


def test_the_database_refuses_a_node_under_itself(db, departments, people):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("UPDATE people SET manager_id = id WHERE id = :id"), {"id": people["cto"]})
    db.session.rollback()


def test_walks_stop_on_a_cycle_instead_of_looping(db, people):
    # Services refuse reporting loops; a loop written around them still cannot hang a walk.
    p = people
    db.session.execute(sa.update(Person).where(Person.id == p["ceo"]).values(manager_id=p["dev2"]))
    db.session.commit()
    parents = org.manager_parents()
    assert set(org.ancestors(parents, p["dev2"])) == {p["dev2"], p["cto"], p["ceo"]}
    assert org.roots(parents) == [p["loner"]]
    everyone_in_loop = {p["ceo"], p["cto"], p["dev1"], p["intern"], p["dev2"], p["cfo"]}
    assert org.reports_under(p["cto"]) == everyone_in_loop

"""The CAD lookup's address matching, judged on its evaluation set (issue 10, item 7).

The set (tests/addresses/match_eval: 208 facilities in 50 states, about 1,900 queries) is loaded
once for this module through the HTTP API, and every query is asked as its calling agency's CAD
client.
What is asserted is the issue's bar: not one wrong pre-plan, on the near-miss negatives, the
positives or the typos, and at least 98 % of the positives resolved to their facility. A failure
prints the per-kind table and the failing queries (`loader.Report.summary`).

`bench/match_eval.py` prints the same figures with the cost of a lookup, on SQLite or PostgreSQL.
"""

from collections import Counter

import pytest

from registry import db
from registry.db import Base
from tests.addresses.match_eval import loader

RIGHT_SHARE = 0.98


@pytest.fixture(scope="module", autouse=True)
def _empty_database(app):
    """Replaces conftest's per-test emptying for this module: the set is loaded once and every
    test reads the same answers. The next module's tests start empty again."""
    with app.app_context(), db.engine().begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    yield


@pytest.fixture(scope="module")
def eval_set():
    return loader.read_set()


@pytest.fixture(scope="module")
def report(app, eval_set):
    loaded = loader.load(app, eval_set)
    return loader.run(app, eval_set, loaded)


def test_the_set_is_the_size_the_issue_asks(eval_set):
    facilities, queries = eval_set.facilities, eval_set.queries
    assert len(facilities) >= 150
    assert len({f["state"] for f in facilities}) >= 25
    kinds = Counter(q["kind"] for q in eval_set.positives)
    messy = sum(n for kind, n in kinds.items() if kind != "standard")
    assert messy >= 1000, kinds
    assert len(eval_set.negatives) >= 300
    assert sum(q.get("source") == "hand" for q in queries) >= 60
    # Every kind the issue lists is there, positives and near misses.
    for kind in (
        "postal_city", "nickname", "plain_text", "ap_state", "directional_side",
        "type_omitted", "honorary_name", "route_name", "grid_number", "hyphen_number",
        "fraction_number", "rural_route", "highway_address", "extra_words", "city_no_state",
    ):  # fmt: skip
        assert kinds[kind] >= 4, kind
    assert len(eval_set.typos) >= 50
    negative_kinds = Counter(q["kind"] for q in eval_set.negatives)
    for kind in (
        "neg_number", "neg_directional", "neg_type", "neg_other_city", "neg_other_state",
        "neg_city_other_state", "neg_zip",
    ):  # fmt: skip
        assert negative_kinds[kind] >= 20, kind
    # Every expectation names a facility of the set.
    keys = {f["key"] for f in facilities}
    assert {q["expect"] for q in queries if q["expect"]} <= keys


def test_every_record_of_the_set_loads(report):
    assert not report.loaded.refused and not report.loaded.problems, report.summary()


def test_no_pre_plan_on_a_near_miss(report):
    assert not report.wrong_negatives, report.summary()


def test_no_wrong_pre_plan_on_a_positive(report):
    assert not report.wrong_positives, report.summary()


def test_no_pre_plan_on_a_typo(report):
    """A misspelt street or city may bring candidates, never a certain match."""
    assert not report.wrong_typos, report.summary()


def test_positives_resolved_right(report):
    assert report.right_share >= RIGHT_SHARE, report.summary()

"""The CAD lookup's match evaluation set: read it, load it into a registry app through the HTTP
API, run its queries as the calling agencies' CAD clients, and count what came back.

Used by tests/addresses/test_match_eval.py and bench/match_eval.py. Everything goes through the
public interfaces (the API with Flask's test client; the domain `lookup()` for timing), never
through the matcher's internals, so the set judges whatever matcher the registry has.

Verdicts, per query:
- a positive is *right* when the answer names its facility (matched, or not_shared with that
  facility as the registered match), *wrong* when it names another, *missed* otherwise;
- a typo is *right* when its facility is among the candidates and no pre-plan was given,
  *wrong* when another facility's pre-plan was given, *pre-plan on a typo* when its own was
  (a typo must never make a match certain), *missed* otherwise;
- a negative is *right* when no pre-plan was given (any status, a refusal included), *wrong*
  when one was.
"""

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
API = "/api/v1"
LOOKUP = f"{API}/preplans/lookup"
TYPO = "typo"
NEGATIVE_PREFIX = "neg_"
ORGANIZATION = "Match Evaluation Partners"


@dataclass
class EvalSet:
    facilities: list[dict]
    queries: list[dict]
    # Aliases agencies register for streets in their jurisdiction ("Avenue of the Americas" is
    # "6th Ave" in New York County), each by the agency of one of the queries' callers.
    street_aliases: list[dict] = field(default_factory=list)

    @property
    def positives(self) -> list[dict]:
        return [q for q in self.queries if q["expect"] and q["kind"] != TYPO]

    @property
    def typos(self) -> list[dict]:
        return [q for q in self.queries if q["kind"] == TYPO]

    @property
    def negatives(self) -> list[dict]:
        return [q for q in self.queries if q["expect"] is None]


def read_set() -> EvalSet:
    return EvalSet(
        json.loads((HERE / "facilities.json").read_text()),
        json.loads((HERE / "queries.json").read_text()),
        json.loads((HERE / "street_aliases.json").read_text()),
    )


def caller_key(caller: dict) -> str:
    return f"{caller['state']}:{','.join(caller.get('county_fips') or [])}"


@dataclass
class Caller:
    key: str
    agency_id: int
    cad_client_id: int
    headers: dict


@dataclass
class Loaded:
    """What the set became in one registry: ids, and what the registry refused."""

    facility_ids: dict[str, int]
    callers: dict[str, Caller]
    refused: dict[str, str] = field(default_factory=dict)  # facility key -> why
    problems: list[str] = field(default_factory=list)  # anything else that did not load
    seconds: float = 0.0


def _why(response) -> str:
    body = response.get_json(silent=True) or {}
    detail = body.get("errors") or body.get("detail") or response.get_data(as_text=True)[:200]
    return f"HTTP {response.status_code}: {json.dumps(detail, ensure_ascii=False)[:300]}"


def session_scope():
    """The registry's scripted transaction, from whichever checkout is being measured."""
    try:
        from registry.transaction import session_scope as scope
    except ImportError:  # a checkout from before registry/transaction.py (a baseline)
        from registry.db import session_scope as scope
    return scope()


def load(app, eval_set: EvalSet) -> Loaded:
    """Create the set's organization, agencies (one per distinct caller, with its state and
    counties), their CAD clients and MOUs, and its facilities, in `app`'s (empty) database.

    Facilities and agencies go through the API as an administrator would send them: a refused
    facility is reported in `refused`, never raised, and its queries count as not right.
    """
    from registry.auth.login import issue_access_token
    from registry.auth.models import CadClient, User
    from registry.mous.models import Mou, MouScope, signed_by_both
    from registry.organizations.models import Organization

    started = time.perf_counter()
    client = app.test_client()
    with app.app_context(), session_scope() as session:
        admin = User(username="match-eval-admin", password_hash="!unusable", role="admin")
        organization = Organization(name=ORGANIZATION, kind="other")
        session.add_all([admin, organization])
        session.flush()
        admin_id, organization_id = admin.id, organization.id
    with app.app_context():
        headers = {"Authorization": f"Bearer {issue_access_token(f'user:{admin_id}', True)}"}

    loaded = Loaded({}, {})
    # Agencies: one per distinct caller (state, counties) of the queries.
    wanted = {}
    for query in eval_set.queries:
        wanted.setdefault(caller_key(query["caller"]), query["caller"])
    counties_refused = False
    agency_ids = {}
    for n, (key, caller) in enumerate(sorted(wanted.items()), 1):
        body = {
            "name": f"Match evaluation agency {n} ({key})",
            "agency_type": "psap",
            "state": caller["state"],
            "county_fips": caller.get("county_fips") or [],
        }
        if counties_refused:
            body.pop("county_fips")
        response = client.post(f"{API}/agencies", json=body, headers=headers)
        if response.status_code == 422 and "county_fips" in response.get_data(as_text=True):
            counties_refused = True
            loaded.problems.append(
                f"agencies: county_fips refused ({_why(response)}); agencies loaded with their "
                "state only"
            )
            body.pop("county_fips")
            response = client.post(f"{API}/agencies", json=body, headers=headers)
        if response.status_code != 201:
            raise RuntimeError(f"agency {key} not created: {_why(response)}")
        agency_ids[key] = response.get_json()["id"]

    # Street aliases, each registered for its agency by an administrator.
    for alias in eval_set.street_aliases:
        agency_id = agency_ids[caller_key(alias["caller"])]
        body = {k: alias[k] for k in ("alias", "street", "county_fips") if alias.get(k)}
        response = client.post(
            f"{API}/agencies/{agency_id}/street-aliases", json=body, headers=headers
        )
        if response.status_code != 201:
            loaded.problems.append(
                f"street alias {alias['alias']!r} -> {alias['street']!r} not registered: "
                f"{_why(response)}"
            )

    # Facilities, as an administrator sends them.
    for facility in eval_set.facilities:
        body = {
            "organization_id": organization_id,
            "name": facility["name"],
            "facility_type": facility["facility_type"],
            "address_line1": facility["address_line1"],
            "city": facility["city"],
            "state": facility["state"],
            "postal_code": facility["postal_code"],
            "lat": facility["lat"],
            "lon": facility["lon"],
        }
        if facility.get("address_line2"):
            body["address_line2"] = facility["address_line2"]
        response = client.post(f"{API}/facilities", json=body, headers=headers)
        if response.status_code == 201:
            loaded.facility_ids[facility["key"]] = response.get_json()["id"]
        else:
            loaded.refused[facility["key"]] = _why(response)

    # Visibility is not what this set tests: every agency shares with the organization, and
    # each has one CAD client.
    with app.app_context(), session_scope() as session:
        clients = {}
        for key, agency_id in agency_ids.items():
            mou = Mou(
                organization_id=organization_id,
                agency_id=agency_id,
                title="Match evaluation data sharing",
                status="active",
                effective_date=date.today() - timedelta(days=1),
                covers_all_facilities=True,
                **signed_by_both("match-eval", "match-eval", datetime.now(UTC)),
            )
            mou.scope_rows = [MouScope(scope="data_sharing")]
            cad = CadClient(
                client_id=f"match-eval-{agency_id}",
                secret_hash="!unusable",
                agency_id=agency_id,
                name=f"Match evaluation CAD ({key})",
            )
            session.add_all([mou, cad])
            clients[key] = cad
        session.flush()
        client_ids = {key: cad.id for key, cad in clients.items()}
    with app.app_context():
        for key, cad_id in client_ids.items():
            token = issue_access_token(f"cad:{cad_id}", True)
            loaded.callers[key] = Caller(
                key, agency_ids[key], cad_id, {"Authorization": f"Bearer {token}"}
            )
    loaded.seconds = time.perf_counter() - started
    return loaded


# --- running the queries ---------------------------------------------------------------------


@dataclass
class Outcome:
    query: dict
    status: str  # matched | ambiguous | no_match | not_shared | "HTTP 422" ...
    preplan_for: int | None  # the facility whose pre-plan the answer names
    candidates: list[int]
    verdict: str  # right | wrong | missed | preplan_on_typo | not_loaded

    @property
    def kind(self) -> str:
        return self.query["kind"]


def judge(query: dict, expected_id: int | None, status, preplan_for, candidates) -> str:
    if query["expect"] is None:
        return "wrong" if preplan_for is not None else "right"
    if expected_id is None:
        return "not_loaded" if preplan_for is None else "wrong"
    if query["kind"] == TYPO:
        if preplan_for is None:
            return "right" if expected_id in candidates else "missed"
        return "preplan_on_typo" if preplan_for == expected_id else "wrong"
    if preplan_for is None:
        return "missed"
    return "right" if preplan_for == expected_id else "wrong"


def run(app, eval_set: EvalSet, loaded: Loaded) -> "Report":
    """Every query through GET /preplans/lookup as its caller's CAD client."""
    client = app.test_client()
    outcomes = []
    started = time.perf_counter()
    for query in eval_set.queries:
        caller = loaded.callers[caller_key(query["caller"])]
        response = client.get(
            LOOKUP, query_string={"address": query["text"]}, headers=caller.headers
        )
        body = response.get_json(silent=True) or {}
        if response.status_code != 200:
            status, preplan_for, candidates = f"HTTP {response.status_code}", None, []
        else:
            status = body["status"]
            candidates = [c["facility_id"] for c in body.get("candidates") or []]
            if status == "matched":
                preplan_for = body["facility_id"]
            elif status == "not_shared":
                preplan_for = (body.get("registered_match") or {}).get("id")
            else:
                preplan_for = None
        expected_id = loaded.facility_ids.get(query["expect"]) if query["expect"] else None
        verdict = judge(query, expected_id, status, preplan_for, candidates)
        outcomes.append(Outcome(query, status, preplan_for, candidates, verdict))
    return Report(outcomes, loaded, time.perf_counter() - started)


@dataclass
class Report:
    outcomes: list[Outcome]
    loaded: Loaded
    seconds: float = 0.0

    def _of(self, predicate) -> list[Outcome]:
        return [o for o in self.outcomes if predicate(o.query)]

    @property
    def positives(self) -> list[Outcome]:
        return self._of(lambda q: q["expect"] and q["kind"] != TYPO)

    @property
    def typos(self) -> list[Outcome]:
        return self._of(lambda q: q["kind"] == TYPO)

    @property
    def negatives(self) -> list[Outcome]:
        return self._of(lambda q: q["expect"] is None)

    @property
    def right_share(self) -> float:
        positives = self.positives
        return sum(o.verdict == "right" for o in positives) / max(1, len(positives))

    @property
    def wrong_positives(self) -> list[Outcome]:
        return [o for o in self.positives if o.verdict == "wrong"]

    @property
    def wrong_negatives(self) -> list[Outcome]:
        return [o for o in self.negatives if o.verdict == "wrong"]

    @property
    def wrong_typos(self) -> list[Outcome]:
        """A pre-plan on a typo, its own facility's or another's: never allowed."""
        return [o for o in self.typos if o.verdict in ("wrong", "preplan_on_typo")]

    def per_kind(self) -> dict[str, Counter]:
        table: dict[str, Counter] = defaultdict(Counter)
        for outcome in self.outcomes:
            table[outcome.kind][outcome.verdict] += 1
        return dict(table)

    def describe(self, outcome: Outcome, key_of_id: dict[int, str]) -> str:
        q = outcome.query
        got = key_of_id.get(outcome.preplan_for, outcome.preplan_for)
        shown = f"{outcome.status}" + (f" -> {got}" if got is not None else "")
        if q["kind"] == TYPO or outcome.verdict == "missed":
            names = [key_of_id.get(c, c) for c in outcome.candidates[:3]]
            shown += f" (candidates {names})" if names else " (no candidates)"
        caller = caller_key(q["caller"])
        return f"[{q['kind']}] {q['text']!r} caller {caller} expect {q['expect']}: {shown}"

    def summary(self, failures_per_kind: int = 8) -> str:
        key_of_id = {v: k for k, v in self.loaded.facility_ids.items()}
        lines = []
        positives, typos, negatives = self.positives, self.typos, self.negatives
        right = sum(o.verdict == "right" for o in positives)
        lines.append(
            f"positives right: {right}/{len(positives)} = {self.right_share:.1%}; wrong pre-plans: "
            f"{len(self.wrong_positives)} on positives, {len(self.wrong_negatives)} on "
            f"{len(negatives)} negatives; typos: "
            f"{sum(o.verdict == 'right' for o in typos)}/{len(typos)} with the facility among "
            f"the candidates, {len(self.wrong_typos)} with a pre-plan"
        )
        if self.loaded.refused:
            lines.append(f"facilities refused by the registry: {len(self.loaded.refused)}")
            for key, why in sorted(self.loaded.refused.items()):
                lines.append(f"  {key}: {why}")
        for problem in self.loaded.problems:
            lines.append(f"load problem: {problem}")
        lines.append("per kind (right/total; wrong; missed; other):")
        for kind, counts in sorted(self.per_kind().items()):
            total = sum(counts.values())
            other = {k: v for k, v in counts.items() if k not in ("right", "wrong", "missed")}
            lines.append(
                f"  {kind:22} {counts['right']:4}/{total:<4} {counts['right'] / total:6.1%}"
                f"  wrong {counts['wrong']:3}  missed {counts['missed']:3}"
                + (f"  {other}" if other else "")
            )
        failures: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in self.outcomes:
            if outcome.verdict != "right":
                failures[outcome.kind].append(outcome)
        if failures:
            lines.append("failures (wrong first):")
        for kind, found in sorted(failures.items()):
            found.sort(key=lambda o: o.verdict != "wrong")
            lines.append(f"  {kind}: {len(found)}")
            for outcome in found[:failures_per_kind]:
                lines.append(f"    {outcome.verdict}: {self.describe(outcome, key_of_id)}")
        return "\n".join(lines)

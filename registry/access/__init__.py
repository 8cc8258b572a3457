"""Who may read and write what: the roles, and every access rule of the registry.

- `roles`: the `Role` enum and the groups of roles the rules name.
- `visibility`: which records of each type a caller may read, one SQL condition per record type.
  Lists and single reads use the same condition, so a record the caller may not see is simply
  not found (404, never 403: nothing tells whether it exists).
- `writes`: who may change a record of each type, asked before and after a change is applied.
- `sharing`: what an MOU opens (the SQL conditions visibility builds on).
- `break_glass`: the one way past these rules (an agency's live break-glass grant), and the
  decisions that may use it, each with its reason: may this caller read this pre-plan
  (`may_read`), reveal these door codes (`may_reveal`), be granted break-glass (`may_grant`).

The two tables below are the rules in one place; tests/access/test_access.py holds the same tables
(`READS`, `WRITES`), checks every cell against the running API, and fails when they and these
disagree. Deleted records are hidden from everyone (listed only to those who may restore them).

Reads: which records of each type a role reads ("refused": the role may not use the area at
all, 403 whatever the id; any other record is not found, 404). Agency users and CAD clients read
alike. "door code" is who may reveal an access point's code and key location (a reader of the
access point who may not gets 403).

| record               | admin         | facility_manager  | agency_user, cad          | auditor |
| -------------------- | ------------- | ----------------- | ------------------------- | ------- |
| facility             | all           | own org           | shared                    | —       |
| access point         | with facility | with facility     | with facility             | —       |
| tactical point       | with facility | with facility     | with facility             | —       |
| address alias        | with facility | with facility     | with facility             | —       |
| floor plan           | with facility | with facility     | with facility             | —       |
| facility contact     | all           | with facility     | with facility             | —       |
| organization contact | all           | own org           | sharing partner           | —       |
| agency contact       | all           | MOU partner       | own agency                | —       |
| MOU                  | all           | own org           | own agency                | —       |
| MOU document         | with MOU      | with MOU          | with MOU                  | —       |
| organization         | all           | own org           | MOU partner               | —       |
| agency               | all           | all               | all                       | all     |
| street alias         | all           | all               | all                       | all     |
| incident             | all           | at own facilities | own agency                | —       |
| notification         | all           | own org           | own agency                | refused |
| correction report    | all           | at own facilities | own agency                | —       |
| exercise             | all           | own org           | own agency                | —       |
| after-action finding | all           | at own facilities | own agency                | —       |
| subscription         | all           | own org           | own agency                | refused |
| delivery             | all           | own org           | own agency                | refused |
| user                 | all           | refused           | refused                   | refused |
| CAD client           | all           | refused           | refused                   | refused |
| audit event          | all           | at own facilities | refused                   | all     |
| pre-plan             | all           | own org           | shared or break-glass     | —       |
| door code            | with facility | own org           | key holder or break-glass | —       |

Writes: which records of each type a role creates, changes, deletes and restores, among those
it reads ("—": a record it reads answers 403, any other 404; "refused": 403 whatever the id).

| record               | admin | facility_manager | agency_user | cad        | auditor |
| -------------------- | ----- | ---------------- | ----------- | ---------- | ------- |
| facility             | all   | own org          | —           | —          | —       |
| access point         | all   | own org          | —           | —          | —       |
| tactical point       | all   | own org          | —           | —          | —       |
| address alias        | all   | own org          | —           | —          | —       |
| floor plan           | all   | own org          | —           | —          | —       |
| facility contact     | all   | own org          | —           | —          | —       |
| organization contact | all   | own org          | —           | —          | —       |
| agency contact       | all   | —                | own agency  | —          | —       |
| MOU                  | all   | own org          | own agency  | —          | —       |
| MOU document         | all   | own org          | —           | —          | —       |
| organization         | all   | —                | —           | —          | —       |
| agency               | all   | —                | —           | —          | —       |
| street alias         | all   | —                | own agency  | —          | —       |
| incident             | all   | —                | own agency  | own agency | —       |
| notification         | —     | —                | —           | —          | —       |
| correction report    | all   | own org          | —           | —          | —       |
| exercise             | all   | own org          | own agency  | —          | —       |
| after-action finding | all   | at own facilities | own agency  | —          | —       |
| subscription         | all   | own org          | own agency  | —          | refused |
| delivery             | all   | refused          | refused     | refused    | refused |
| user                 | all   | refused          | refused     | refused    | refused |
| CAD client           | all   | refused          | refused     | refused    | refused |
| audit event          | —     | —                | —           | —          | —       |

The conditions:
- all: every record (of the type's visible ones, for writes).
- own org: the caller's organization's (a facility's parts and contacts: their facility's
  organization's).
- own agency: the caller's agency's.
- shared: facilities covered by a data-sharing MOU in force between their organization and the
  caller's agency (`sharing.shares_facility`).
- with facility: those whose facility the caller reads (the facility row) and is not deleted.
- with MOU: those whose MOU the caller reads.
- sharing partner: of organizations with a data-sharing MOU in force (for any facility) with
  the caller's agency.
- MOU partner: organizations with an MOU with the caller's agency (whatever its status or
  scope) that the organization drafted or accepted, so an agency's own draft naming an
  organization reveals nothing of it; for a manager, the liaisons of agencies with any MOU with
  its organization.
- at own facilities: about a facility of the caller's organization (deleted ones included).
- shared or break-glass: shared, or through a live break-glass grant of the caller's agency at
  the facility (`break_glass`); the floor plans such a pre-plan lists download the same way.
- key holder or break-glass: of facilities covered by an MOU in force with the caller's agency
  with scope key_holding or access_codes (data sharing alone opens no doors), or through a live
  break-glass grant of the caller's agency at the facility.
- —: none.
- refused: none, and the role may not use the area at all (403 whatever the id).

Beyond the tables: incidents are opened only by agency users and CAD clients (an admin closes
and re-opens them); a facility's managers and admins end a break-glass grant at it early;
notifications and audit events are written by the registry itself, never through the API.
A correction report is filed by an agency user or CAD client who may read the facility's
pre-plan (shared or break-glass) and belongs to its agency ("own agency" above); the facility's
managers answer and resolve it (the writes row: no one edits or deletes what was reported), and
every reader of the pre-plan sees the unresolved ones on their items
(`registry.corrections.service`). An exercise belongs to its parties: the facility's
organization ("own org") and each agency that took part ("own agency": one of its agencies), an
MOU or not; it is recorded at a facility the recorder reads (so an agency records only where
its MOU shares the facility) and names only agencies with an MOU with the organization. An
after-action finding goes with its exercise, or with its incident (the incident's agency; "at
own facilities" for the facility's managers); CAD clients read them, never write them
(`registry.exercises.service`). The follow-ups report lists the findings the caller reads;
CAD clients and auditors may not use it.
A subscription says where its owner's notifications are sent (registry.notifications): an
organization's is managed by its managers, an agency's by its people (its CAD clients read it);
a delivery (of a notification to a subscription) is read with its subscription, and only
administrators replay one.
Confirming a facility as still accurate (with its parts) is a write of the facility: the
facility row above. An MOU is written by both of its parties, and neither grants alone: the MOU
row above says who acts on one at all; what each party may do at each step of its lifecycle
(edit its own draft, propose, accept, terminate, renew; an active MOU's terms never change) is
`registry.mous.lifecycle`'s, a refused step being a 403 (the other party's step) or a 409 (not
at this stage). Only the organization's managers (and admins) keep the signed document. A party
names in a draft only facilities it reads. The freshness report lists the facilities the caller
reads (the facility row); CAD clients and auditors may not use it at all. An offline pack
(`registry.packs`) holds the pre-plans an agency reads as "shared", never break-glass ones;
agency users and CAD clients download their own agency's, admins any agency's, other roles none
(403). The audit-event rule lives in `registry.audit.service`.
"""

from .roles import AGENCY_ROLES, LOOKUP_ROLES, USER_ROLES, Role

__all__ = ["AGENCY_ROLES", "LOOKUP_ROLES", "USER_ROLES", "Role"]

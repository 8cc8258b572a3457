from flask import Response, request, stream_with_context
from flask_restx import Namespace, Resource

from .. import audit, db
from ..access.roles import AGENCY_ROLES, Role
from ..api.document import doc
from ..api.inputs import query
from ..auth.identity import current_principal, login_required
from ..db import utcnow
from ..errors import PROBLEM_JSON
from ..ratelimit import spend_pack_budget
from . import archive, keys
from .schemas import PackArgsSchema
from .service import agency_reader, pack_contents, signing_key

ns = Namespace("packs", description="Offline packs: every pre-plan an agency reads, signed")
PEM = "application/x-pem-file"


@ns.route("/agency")
class AgencyPack(Resource):
    @login_required(Role.ADMIN, *AGENCY_ROLES)
    @query(PackArgsSchema)
    @doc(
        produces=["application/zip", PROBLEM_JSON],
        responses={
            "200": "A ZIP archive (see the README's Offline pack section), sent as it is written",
            "404": "No such agency",
        },
    )
    def get(self, args):
        """Download every pre-plan your agency reads (by MOU) as one signed ZIP, for offline use.

        Each facility's pre-plan as JSON and GeoJSON, its printable page (HTML) and its current
        floor plans, with manifest.json (every file's SHA-256) and manifest.sig (Ed25519,
        verified with the key at /packs/public-key). Break-glass pre-plans are not included.
        One `preplan.pack` audit event lists the facilities."""
        session, principal = db.session(), current_principal()
        agency, reader = agency_reader(session, principal, args.get("agency_id"))
        if request.method == "HEAD":
            return Response(mimetype="application/zip")  # nothing built, spent or audited
        spend_pack_budget()
        now = utcnow()
        contents = pack_contents(session, principal, agency, reader, request.host_url, now)
        key = signing_key()
        audit.record(
            session,
            principal,
            "preplan.pack",
            record_type="agency",
            record_id=agency.id,
            details={
                "agency_id": agency.id,
                "facility_ids": contents.facility_ids,
                "floor_plans": contents.floor_plan_count,
                "key_id": keys.key_id(key.public_key()),
            },
        )
        # The event commits when this view returns (transaction.transactional), before the
        # first byte is sent; the archive is then written as it goes out, in this request's
        # context (the file store is the app's).
        response = Response(
            stream_with_context(archive.stream(contents, key)), mimetype="application/zip"
        )
        response.headers.set(
            "Content-Disposition",
            "attachment",
            filename=f"preplans-agency-{agency.id}-{now:%Y%m%dT%H%MZ}.zip",
        )
        return response


@ns.route("/public-key")
class PackPublicKey(Resource):
    @doc(produces=[PEM], responses={"200": "The Ed25519 public key, PEM (SubjectPublicKeyInfo)"})
    def get(self):
        """Show the registry's public key that verifies offline packs (PEM; no token needed).

        Fetch it while online and keep it with the verifier: a pack's manifest names the key
        that signed it (ETag here: the same key id)."""
        public_key = signing_key().public_key()
        response = Response(keys.public_key_pem(public_key), mimetype=PEM)
        response.set_etag(keys.key_id(public_key))
        return response

from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import AGENCY_ROLES, Role
from ..api.crud_routes import collection_routes, record_routes
from ..api.document import doc
from ..api.inputs import query
from ..api.outputs import require_if_match, returns
from ..api.pagination import PageArgsSchema, returns_page
from ..audit.schemas import AuditEventSchema
from ..auth.identity import current_principal, login_required
from .schemas import (
    DeliveryFiltersSchema,
    DeliverySchema,
    NewSubscriptionSchema,
    NotificationFiltersSchema,
    NotificationSchema,
    ReplayArgsSchema,
    ReplayedSchema,
    SubscriptionFiltersSchema,
    SubscriptionPatchSchema,
    SubscriptionSchema,
)
from .service import deliveries, notifications, subscriptions

ns = Namespace(
    "notifications",
    description="What an organization or agency is told (incidents at its facilities, "
    "break-glass access and reveals, MOUs, stale data)",
)


@ns.route("")
class Notifications(Resource):
    @login_required(Role.ADMIN, Role.FACILITY_MANAGER, *AGENCY_ROLES)
    @query(NotificationFiltersSchema)
    @returns_page(NotificationSchema)
    def get(self, args):
        """List your organization's or agency's notifications, newest first."""
        return notifications.page(db.session(), current_principal(), args)


# Who uses the area: an organization's managers and an agency's people manage where their
# notifications go, admins any; an agency's CAD clients read its subscriptions (the service
# refuses them any change: access.writes.subscription).
MANAGERS = (Role.ADMIN, Role.FACILITY_MANAGER, *AGENCY_ROLES)

subscriptions_ns = Namespace(
    "subscriptions",
    description="Where an organization's or agency's notifications are sent (signed webhooks, "
    "email)",
)
collection_routes(
    subscriptions_ns,
    subscriptions,
    SubscriptionSchema,
    SubscriptionFiltersSchema,
    roles=MANAGERS,
    created_schema=NewSubscriptionSchema,
    # A webhook's secret is never stored in the clear, not even for a replay: a client that
    # lost the first answer rotates the secret instead.
    kept=lambda body: {**body, "secret": None},
)
record_routes(
    subscriptions_ns,
    subscriptions,
    SubscriptionSchema,
    roles=MANAGERS,
    patch_schema=SubscriptionPatchSchema,
)


@subscriptions_ns.route("/<int:record_id>/secret")
@doc(responses={"404": "No such subscription, or not visible to you"})
class SubscriptionSecret(Resource):
    @login_required(*MANAGERS)
    @doc(
        params={"If-Match": {"in": "header", "required": True, "type": "string"}},
        responses={
            "409": "Not a webhook subscription",
            "412": "Stale If-Match",
            "428": "If-Match missing",
        },
    )
    @returns(NewSubscriptionSchema)
    def post(self, record_id):
        """Rotate a webhook's signing secret (send If-Match): the new one is shown once."""
        session, principal = db.session(), current_principal()
        record = subscriptions.get(session, principal, record_id)
        subscriptions.authorize_write(principal, record)
        require_if_match(record)
        return subscriptions.rotate_secret(session, principal, record)


@subscriptions_ns.route("/<int:record_id>/history")
@doc(responses={"404": "No such subscription, or not visible to you"})
class SubscriptionHistory(Resource):
    @login_required(*MANAGERS)
    @query(PageArgsSchema)
    @returns_page(AuditEventSchema)
    def get(self, record_id, args):
        """List the changes to a subscription (who, when, before and after), newest first."""
        session, principal = db.session(), current_principal()
        record = subscriptions.get(session, principal, record_id, deleted=None)
        return subscriptions.history(session, principal, record, args)


deliveries_ns = Namespace(
    "notification-deliveries",
    description="Each notification's delivery to each subscription: pending, delivered, or dead "
    "(administrators replay dead ones)",
)


@deliveries_ns.route("")
class DeliveryCollection(Resource):
    @login_required(*MANAGERS)
    @query(DeliveryFiltersSchema)
    @returns_page(DeliverySchema)
    def get(self, args):
        """List the deliveries of the subscriptions you may see, newest first."""
        principal = current_principal()
        return deliveries.list(db.session(), principal, args, *deliveries.filters(args))


@deliveries_ns.route("/<int:record_id>")
@doc(responses={"404": "No such delivery, or not visible to you"})
class DeliveryItem(Resource):
    @login_required(*MANAGERS)
    @returns(DeliverySchema)
    def get(self, record_id):
        """Show one delivery."""
        return deliveries.get(db.session(), current_principal(), record_id)


@deliveries_ns.route("/<int:record_id>/replay")
@doc(responses={"404": "No such delivery, or not visible to you"})
class DeliveryReplay(Resource):
    @login_required(Role.ADMIN)
    @doc(responses={"409": "The delivery is not dead"})
    @returns(DeliverySchema)
    def post(self, record_id):
        """Send a dead delivery again, from its first attempt (administrators)."""
        session, principal = db.session(), current_principal()
        return deliveries.replay(session, principal, deliveries.get(session, principal, record_id))


@deliveries_ns.route("/replay")
class DeadDeliveriesReplay(Resource):
    @login_required(Role.ADMIN)
    @query(ReplayArgsSchema)
    @returns(ReplayedSchema)
    def post(self, args):
        """Send every dead delivery again, or one subscription's (administrators)."""
        count = deliveries.replay_dead(
            db.session(), current_principal(), args.get("subscription_id")
        )
        return {"replayed": count}

from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import AGENCY_ROLES, Role
from ..api.inputs import query
from ..api.pagination import returns_page
from ..auth.identity import current_principal, login_required
from .schemas import NotificationFiltersSchema, NotificationSchema
from .service import notifications

ns = Namespace(
    "notifications",
    description="What an organization or agency is told (break-glass access and reveals, MOUs)",
)


@ns.route("")
class Notifications(Resource):
    @login_required(Role.ADMIN, Role.FACILITY_MANAGER, *AGENCY_ROLES)
    @query(NotificationFiltersSchema)
    @returns_page(NotificationSchema)
    def get(self, args):
        """List your organization's or agency's notifications, newest first."""
        return notifications.page(db.session(), current_principal(), args)

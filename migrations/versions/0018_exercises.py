"""Exercises and after-action findings (issue 12, item 4): joint exercises at a facility, with
the agencies that took part and attendance; findings of an exercise or an incident, each
optionally about one item of the pre-plan and optionally a follow-up with an owner, a due date
and a status (the overdue report reads them by status and due date)

Nothing here is part of a pre-plan: no preplan_version trigger.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exercises',
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('scenario', sa.String(length=20), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('organization_participants', sa.Integer(), nullable=True),
    sa.Column('other_participants', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=40), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('tabletop', 'drill', 'functional', 'full_scale')", name=op.f('ck_exercises_kind')),
    sa.CheckConstraint("scenario IN ('active_assailant', 'vehicle_ramming', 'edged_weapon', 'explosive', 'fire_as_weapon', 'other')", name=op.f('ck_exercises_scenario')),
    sa.CheckConstraint('organization_participants >= 0', name=op.f('ck_exercises_participants_not_negative')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_exercises_facility_id_facilities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercises')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercises_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exercises_held_on'), ['held_on'], unique=False)

    op.create_table('exercise_agencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=True),
    sa.CheckConstraint('participants >= 0', name=op.f('ck_exercise_agencies_participants_not_negative')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_exercise_agencies_agency_id_agencies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_agencies_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_agencies')),
    sa.UniqueConstraint('exercise_id', 'agency_id', name=op.f('uq_exercise_agencies_exercise_id_agency_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('exercise_agencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_agencies_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exercise_agencies_exercise_id'), ['exercise_id'], unique=False)

    op.create_table('findings',
    sa.Column('exercise_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('item_kind', sa.String(length=20), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_owner', sa.String(length=200), nullable=True),
    sa.Column('follow_up_owner_organization_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_owner_agency_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_due_on', sa.Date(), nullable=True),
    sa.Column('follow_up_status', sa.String(length=20), nullable=True),
    sa.Column('recorded_by', sa.String(length=40), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("follow_up_status IS NULL OR follow_up_status IN ('open', 'in_progress', 'done', 'cancelled')", name=op.f('ck_findings_follow_up_status')),
    sa.CheckConstraint("item_kind IS NULL OR item_kind IN ('facility', 'contact', 'access_point', 'tactical_point', 'floor_plan')", name=op.f('ck_findings_item_kind')),
    sa.CheckConstraint('(exercise_id IS NULL) <> (incident_id IS NULL)', name=op.f('ck_findings_one_source')),
    sa.CheckConstraint('(follow_up_status IS NULL) = (follow_up_owner IS NULL) AND (follow_up_status IS NULL) = (follow_up_due_on IS NULL)', name=op.f('ck_findings_follow_up_whole')),
    sa.CheckConstraint('(item_kind IS NULL) = (item_id IS NULL)', name=op.f('ck_findings_item_whole')),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_findings_exercise_id_exercises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_findings_facility_id_facilities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['follow_up_owner_agency_id'], ['agencies.id'], name=op.f('fk_findings_follow_up_owner_agency_id_agencies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['follow_up_owner_organization_id'], ['organizations.id'], name=op.f('fk_findings_follow_up_owner_organization_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_findings_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_exercise_id'), ['exercise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_follow_up_owner_agency_id'), ['follow_up_owner_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_follow_up_owner_organization_id'), ['follow_up_owner_organization_id'], unique=False)
        batch_op.create_index('ix_findings_follow_up_status_due_on', ['follow_up_status', 'follow_up_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_incident_id'), ['incident_id'], unique=False)


def downgrade() -> None:
    for table in ("findings", "exercise_agencies", "exercises"):
        op.drop_table(table)

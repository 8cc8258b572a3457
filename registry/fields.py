"""marshmallow fields for the registry's value types (text, phones, coordinates, enums, times)."""

from datetime import UTC, datetime, timedelta

import phonenumbers
from marshmallow import Schema, ValidationError, fields, validate

from . import db

DEFAULT_REGION = "US"


class Text(fields.String):
    """Trimmed text with a length cap; empty strings become None where allowed."""

    def __init__(self, max_length: int = 200, **kwargs):
        # The cap always applies, beside any validators the field adds (a Regexp, say).
        extra = kwargs.pop("validate", None) or []
        extra = list(extra) if isinstance(extra, (list, tuple)) else [extra]
        super().__init__(validate=[validate.Length(max=max_length), *extra], **kwargs)
        self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:
            raise ValidationError("NUL characters are not allowed.")
        value = value.strip()
        if not value and not self.allow_none and self.required:
            raise ValidationError("Must not be blank.")
        return value or None if self.allow_none else value

    def _validate(self, value):
        # A blank string became None above; validators (Length, Regexp) cannot measure None.
        if value is not None:
            super()._validate(value)


class Phone(fields.String):
    """A phone number stored as E.164; loose national input is accepted for US numbers."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault(
            "description", "E.164, e.g. +16175550100 (US national formats accepted)"
        )
        kwargs["metadata"].setdefault("example", "+16175550100")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return normalize_phone(text)


def normalize_phone(text: str) -> str:
    """Return `text` as E.164 or raise ValidationError."""
    if len(text) > 40:
        raise ValidationError("Not a phone number.")
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError("Not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# The first and last times the API takes, in UTC: a day inside Python's calendar at each end. A
# PostgreSQL session in another time zone hands a timestamptz back in that zone, and psycopg
# cannot read 0001-01-01T00:00Z in Chicago (1 BC) or 9999-12-31T23:00Z in Tokyo (year 10000):
# such a row could be written but never read again. Offsets are under a day, so a day is enough.
EARLIEST_TIME = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_TIME = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
OUT_OF_RANGE = "Out of the supported range of times."


class UTCDateTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset, converted to UTC on input (the API shows times in UTC).

    Every time the API takes, from a body or a query string, is one of these: a time too close
    to either end of the calendar is a 422 here rather than a 500 where it is converted to UTC.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            value = super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
            raise ValidationError(OUT_OF_RANGE) from None
        if not EARLIEST_TIME <= value <= LATEST_TIME:
            raise ValidationError(OUT_OF_RANGE)
        return value


class WholeNested(fields.Nested):
    """A nested object that is loaded complete even in a PATCH. A PATCH replaces a list of these
    (a contact's phones) and never patches one item, so each item needs its required fields;
    marshmallow would otherwise pass the PATCH's `partial=True` down to the nested schema."""

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        return super()._deserialize(value, attr, data, partial=False, **kwargs)


# Record ids are INTEGER columns. A larger number names no record, and would overflow the database
# driver (a 500) before anything could say "not found"; so it is refused as an invalid field.
MAX_ID = 2**31 - 1


def Id(strict: bool = True, **kwargs):  # noqa: N802 - a field factory reads like a field class
    """A record id in a body (strict: a JSON integer) or a query string (strict=False)."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Latitude(**kwargs):  # noqa: N802 - a field factory reads like a field class
    return fields.Float(validate=validate.Range(min=-90, max=90), allow_nan=False, **kwargs)


def Longitude(**kwargs):  # noqa: N802
    return fields.Float(validate=validate.Range(min=-180, max=180), allow_nan=False, **kwargs)


def OneOf(choices, **kwargs):  # noqa: N802
    return fields.String(validate=validate.OneOf(choices), **kwargs)


def Count(maximum: int = 1_000_000, minimum: int = 0, **kwargs):  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


class RecordSchema(Schema):
    """Fields every registry record shows; unknown input fields are refused (marshmallow RAISE)."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class ConfirmedFields:
    """When and by whom a part of a pre-plan was last confirmed (registry/confirmation.py):
    set by the registry on every write by the part's managers and by a facility's confirm-all,
    never sent."""

    confirmed_at = fields.AwareDateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Last confirmed as accurate (null: never confirmed)"},
    )
    confirmed_by = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Who confirmed it: a username (or a CAD client id)"},
    )


# How far ahead of the registry's clock a stated confirmation time may be (a caller's clock
# running fast); confirmation.confirm stores such a time as now.
CLOCK_SKEW = timedelta(minutes=5)


def _not_in_the_future(value: datetime) -> None:
    if value is not None and value > db.utcnow() + CLOCK_SKEW:
        raise ValidationError("In the future: a verification is recorded once it is made.")


def LastVerifiedAt():  # noqa: N802 - a field factory reads like a field class
    """`last_verified_at`, kept for clients written before `confirmed_at` (issue 12): read, it
    is `confirmed_at`; sent, it says when the record was last verified outside the registry
    (a partner's own records, a bulk load), and the write confirms it as of then. The value read
    back, null, or no value at all: the write confirms it now."""
    return UTCDateTime(
        allow_none=True,
        attribute="confirmed_at",
        validate=_not_in_the_future,
        metadata={
            "description": "Deprecated: the same as confirmed_at. Send it to say the record was "
            "verified earlier, outside the registry (not in the future); otherwise a write "
            "confirms the record now."
        },
    )

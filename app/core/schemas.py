"""Building blocks for request and response models."""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import orjson
import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.core.errors import MAX_PROBLEM_ERRORS

T = TypeVar("T")


def _aware(value: datetime) -> datetime:
    """An aware instant, normalised to UTC (which also rejects ones UTC cannot hold)."""
    if value.tzinfo is None:
        raise ValueError("timestamp needs a time zone offset, e.g. 2026-01-31T09:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp is out of range") from None


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]

Money = Annotated[
    Decimal,
    # 15 digits: exact in every backend, the embedded SQLite's REAL included.
    Field(ge=0, max_digits=15, decimal_places=2, examples=["12500.00"]),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
PERCENT_STEP = Decimal("0.01")


def two_decimals(value: Decimal) -> Decimal:
    """A percentage as every response shows it: exactly two decimals, 10 -> 10.00."""
    return Decimal(value).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)


_PERCENT_JSON = PlainSerializer(lambda v: str(two_decimals(v)), return_type=str, when_used="json")

Percentage = Annotated[
    Decimal,
    AfterValidator(two_decimals),
    _PERCENT_JSON,
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["42.50"]},
        mode="serialization",
    ),
    Field(description="A percentage (5.00 means 5 %) as a string with two decimals."),
]
"""Every percentage in a response: `"10.00"`, never `"10"` or `10`."""

Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=6, decimal_places=2, examples=["5.00"]),
    AfterValidator(two_decimals),
    _PERCENT_JSON,
]
"""A percentage as input: 0..100 with at most two decimals."""
# ISO 4217's codes as pycountry ships them (the funds and metals codes included).
CURRENCY_CODES = frozenset(currency.alpha_3 for currency in pycountry.currencies)


def _iso_4217(code: str) -> str:
    if code not in CURRENCY_CODES:
        raise PydanticCustomError(
            "unknown_currency", "{code} is not an ISO 4217 currency code", {"code": code}
        )
    return code


Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_iso_4217),
    Field(examples=["CNY"], description="An ISO 4217 currency code, e.g. CNY, USD, EUR."),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=50, pattern=r"^[0-9+()\-. ]+$"
    ),
]

# Bounds of every free-form JSON field: far beyond what facts need, far below what the
# serializer (which refuses 255 levels) and the row size tolerate.
JSON_MAX_DEPTH = 10
JSON_MAX_BYTES = 16_384


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (`{}` is one level);
    walked without recursion, so no input can exhaust the stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    if _nested_deeper_than(value, JSON_MAX_DEPTH):
        raise PydanticCustomError(
            "json_too_deep", "nests more than {limit} levels deep", {"limit": JSON_MAX_DEPTH}
        )
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        # What responses could not render either: an integer beyond 64 bits.
        raise PydanticCustomError(
            "json_number_out_of_range", "integers must fit in 64 bits"
        ) from None
    if size > JSON_MAX_BYTES:
        raise PydanticCustomError(
            "json_too_large", "is more than {limit} bytes as JSON", {"limit": JSON_MAX_BYTES}
        )
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_json)]
"""A free-form JSON object as input, bounded in depth and size."""
JSON_BOUNDS = f"A JSON object, at most {JSON_MAX_DEPTH} levels deep and {JSON_MAX_BYTES} bytes."


def _field_error(code: str, field: str, value: Any, message: str) -> InitErrorDetails:
    """A validation error located at `field`, so the problem document names it."""
    return InitErrorDetails(type=PydanticCustomError(code, message), loc=(field,), input=value)


class InputModel(BaseModel):
    """Request bodies: a misspelled field is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchModel(InputModel):
    """A partial update. Only the fields sent are changed; `null` clears a nullable field.

    State fields are changed by actions, never by PATCH: `state_actions` maps each such
    field to the action that changes it, so the error can say where to go.
    """

    state_actions: ClassVar[dict[str, str]] = {}
    required_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_state_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            refused = [
                _field_error(
                    "state_field", name, data[name], f"'{name}' is not editable; use {action}"
                )
                for name, action in cls.state_actions.items()
                if name in data
            ]
            if refused:
                raise ValidationError.from_exception_data(cls.__name__, refused)
        return data

    @model_validator(mode="after")
    def _refuse_null_for_required(self) -> "PatchModel":
        nulled = [
            _field_error("not_nullable", name, None, f"'{name}' cannot be null")
            for name in sorted(self.required_fields & self.model_fields_set)
            if getattr(self, name) is None
        ]
        if nulled:
            raise ValidationError.from_exception_data(type(self).__name__, nulled)
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent, each as a whole new value: a nested item (a quote line) gets
        its defaults for what it leaves out, exactly as on create."""
        return self.model_dump(include=self.model_fields_set)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ProblemItem(BaseModel):
    code: str
    message: str
    field: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemItem] | None = Field(
        default=None,
        description=f"What is wrong, item by item; at most {MAX_PROBLEM_ERRORS} are listed.",
    )
    errors_omitted: int | None = Field(
        default=None, description="How many more errors there were than `errors` lists."
    )

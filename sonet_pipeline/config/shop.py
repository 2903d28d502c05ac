"""The `shop:` section of a tenant: how Sonet's records become the web shop's view.

```yaml
shop:
  variant_strategy_by_group: {GLOVES: comment_field}   # overrides the tenant's variant_strategy
  options:                                   # comment_field: the choices Sonet does not list
    - product_group: GLOVES                  # or `item: GLOVE-WORK` (an item's entry wins)
      axes: [{name: Size, values: ["7", "8", "9", "10", "11"]}]
  rights:                                    # first matching rule wins; the last one has no `when`
    - rule: resellers
      when: {customer_types: [RESELLER], roles: [ADMIN, BUYER]}
      see_prices: true
      can_order: true
      order_limit: "5000.00"
    - rule: default
      see_prices: true
      can_order: false
  publish_to: s3://bucket/prefix             # default: <data dir>/published/<tenant>
  price_horizon_days: 7                      # prices.jsonl lists the price changes this far ahead
```

A rule's `when` holds conditions that must all match; a list matches when any of its values does.
`roles` may list `null` for contacts without a role; roles compare without regard to letter case.
Without a `rights` section every login may see prices and order (`DEFAULT_RIGHTS`). Whatever the
rules say, a customer Sonet blocks never may order (`rights.decide` enforces it).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

VariantStrategy = Literal["item_per_variant", "comment_field"]
CustomerType = Literal["B2B", "RESELLER", "CONSUMER"]

CODE_PATTERN = r"^\S(.*\S)?$"  # a Sonet code: no leading or trailing blanks


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionAxis(_Strict):
    """One choice the shop offers for an item Sonet sells in one piece, e.g. Size 7..11."""

    name: str = Field(min_length=1, max_length=40, pattern=CODE_PATTERN)
    values: tuple[str, ...] = Field(min_length=1, max_length=500)

    @field_validator("values", mode="before")
    @classmethod
    def _values_are_text(cls, values: object) -> object:
        if isinstance(values, list | tuple) and any(not isinstance(v, str) for v in values):
            raise ValueError('must be quoted strings (write "7"; YAML reads 7 as a number)')
        return values

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v.strip() for v in values):
            raise ValueError("must not be empty")
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"repeat {', '.join(repeated)}")
        return values


class DeclaredOptions(_Strict):
    """The option axes of one item or of every item of one product group."""

    item: str | None = Field(default=None, min_length=1, pattern=CODE_PATTERN)
    product_group: str | None = Field(default=None, min_length=1, pattern=CODE_PATTERN)
    axes: tuple[OptionAxis, ...] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _one_target(self) -> DeclaredOptions:
        if (self.item is None) == (self.product_group is None):
            raise ValueError("name exactly one of item or product_group")
        names = [axis.name for axis in self.axes]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"axis names repeat: {', '.join(repeated)}")
        return self


class Conditions(_Strict):
    """What a rule asks of a login; every condition given must hold, an omitted one always does."""

    customer_types: tuple[CustomerType, ...] | None = Field(default=None, min_length=1)
    segments: tuple[str, ...] | None = Field(default=None, min_length=1)
    roles: tuple[str | None, ...] | None = Field(default=None, min_length=1)
    order_blocked: bool | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in self.model_dump().values())


class RightsRule(_Strict):
    rule: str = Field(min_length=1, max_length=60, pattern=CODE_PATTERN)
    when: Conditions = Conditions()
    see_prices: bool
    can_order: bool
    #: The largest order total (VAT excluded) the login may place; None: no limit.
    order_limit: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2)

    @field_validator("order_limit", mode="before")
    @classmethod
    def _limit_not_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError(f'must be a quoted decimal (write "{value}"), never a float')
        return value

    @model_validator(mode="after")
    def _limit_needs_ordering(self) -> RightsRule:
        if self.order_limit is not None and not self.can_order:
            raise ValueError(f"rule {self.rule!r}: an order_limit needs can_order: true")
        return self


DEFAULT_RIGHTS = (RightsRule(rule="default", see_prices=True, can_order=True),)


class ShopConfig(_Strict):
    variant_strategy_by_group: dict[str, VariantStrategy] = Field(default_factory=dict)
    options: tuple[DeclaredOptions, ...] = ()
    rights: tuple[RightsRule, ...] = Field(default=DEFAULT_RIGHTS, min_length=1)
    #: `s3://bucket/prefix` or a local folder; None: `<data dir>/published/<tenant>`.
    publish_to: str | None = Field(default=None, min_length=1)
    #: How many days ahead `prices.jsonl` lists the prices to come (the periods of `prices.in_force`).
    price_horizon_days: int = Field(default=7, ge=1, le=366)

    @field_validator("price_horizon_days", mode="before")
    @classmethod
    def _whole_days(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number of days from 1 to 366, not {value!r}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> ShopConfig:
        names = [rule.rule for rule in self.rights]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"rights: rule names repeat: {', '.join(repeated)}")
        catch_all = [i for i, rule in enumerate(self.rights) if rule.when.is_empty()]
        if not catch_all:
            last = self.rights[-1].rule
            raise ValueError(f"rights: a default rule is required: the last rule ({last!r}) must have no 'when'")
        if catch_all[0] != len(self.rights) - 1:
            first = self.rights[catch_all[0]].rule
            raise ValueError(f"rights: rule {first!r} has no 'when', so the rules after it could never match")
        for kind in ("item", "product_group"):
            targets = [getattr(o, kind) for o in self.options if getattr(o, kind) is not None]
            repeated = sorted({t for t in targets if targets.count(t) > 1})
            if repeated:
                raise ValueError(f"options: {kind} declared twice: {', '.join(repeated)}")
        if self.publish_to is not None and self.publish_to.startswith("s3://"):
            bucket = self.publish_to.removeprefix("s3://").split("/", 1)[0]
            if not bucket:
                raise ValueError(f"publish_to: {self.publish_to!r} names no bucket (s3://bucket/prefix)")
        return self

    @property
    def price_horizon(self) -> timedelta:
        """How far ahead `prices.jsonl` lists the prices to come."""
        return timedelta(days=self.price_horizon_days)

    def strategy_for(self, product_group: str | None, default: VariantStrategy) -> VariantStrategy:
        """The variant strategy of an item of `product_group` (the tenant's, unless its group overrides)."""
        if product_group is None:
            return default
        return self.variant_strategy_by_group.get(product_group, default)

    def options_for(self, item_code: str, product_group: str | None) -> tuple[OptionAxis, ...]:
        """The declared option axes of an item: its own entry, else its product group's, else none."""
        for declared in self.options:
            if declared.item == item_code:
                return declared.axes
        for declared in self.options:
            if product_group is not None and declared.product_group == product_group:
                return declared.axes
        return ()

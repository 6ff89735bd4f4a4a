"""JSON API for profiles: search, read the 360 view, create, update, consent, merge, contacts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from ecrm.config.api import Key, Moment, one_of, require
from ecrm.contacts import api as contacts
from ecrm.core.audit import Actor
from ecrm.customers import api as customers
from ecrm.customers import queries
from ecrm.customers.models import Customer
from ecrm.figures import api as figures
from ecrm.staff import rules as perms

router = Router(tags=["customers"])


IdentityKindText = one_of(customers.IdentityKind.values)
ContactChannelText = one_of(contacts.ContactChannel.values)
DirectionText = one_of(contacts.Direction.values)
ConsentChannelText = one_of(customers.ConsentChannel.values)


class IdentityOut(Schema):
    kind: str
    namespace: str
    value: str
    verified: bool


class CustomerSummary(Schema):
    id: int
    name: str
    email: str
    phone: str
    province: str
    city: str
    country: str
    is_anonymous: bool
    created_at: dt.datetime


class FiguresOut(Schema):
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    order_count: int
    revenue: Decimal
    average_order_value: Decimal
    return_count: int
    returned_amount: Decimal
    last_seen_at: dt.datetime | None
    distinct_products: int
    distinct_categories: int
    days_since_last_order: int | None


class CustomerOut(CustomerSummary):
    gender: str
    birthday: dt.date | None
    registration_channel: str
    registered_at: dt.datetime | None
    attributes: dict
    updated_at: dt.datetime
    merged_into: int | None = None
    identities: list[IdentityOut]
    consents: dict[str, str]
    figures: FiguresOut


class Page(Schema):
    items: list[CustomerSummary]
    next: int | None = Field(None, description="pass as ?after= to get the next page")


class ProfileIn(Schema):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    gender: str | None = None
    birthday: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    registration_channel: str | None = None
    registered_at: str | None = None


class IdentityIn(Schema):
    kind: IdentityKindText
    value: str
    namespace: str = ""
    verified: bool = False


class CustomerIn(ProfileIn):
    identities: list[IdentityIn] = []
    attributes: dict = {}


class CustomerPatch(ProfileIn):
    attributes: dict | None = None


class Created(Schema):
    id: int
    created: bool
    merged: list[int]


class ConsentIn(Schema):
    status: str = Field(..., description="granted or denied")
    source: str = "api"


class MergeIn(Schema):
    source_id: int = Field(..., description="the profile folded into this one")
    reason: str = "manual"


class MergeOut(Schema):
    source_id: int
    target_id: int
    moved: dict[str, int]


class ContactIn(Schema):
    channel: ContactChannelText
    direction: DirectionText
    summary: str
    occurred_at: Moment | None = None


class ContactOut(Schema):
    id: int
    customer_id: int


def _profile(payload: ProfileIn) -> dict:
    fields = ProfileIn.model_fields
    return {k: v for k, v in payload.model_dump(include=set(fields)).items() if v is not None}


def customer_360(customer: Customer) -> dict:
    return {
        **{f: getattr(customer, f) for f in CustomerOut.model_fields if hasattr(customer, f)},
        "merged_into": customer.merged_into_id,
        "identities": list(
            customer.identities.values("kind", "namespace", "value", "verified").order_by("id")
        ),
        "consents": dict(customer.consents.values_list("channel", "status")),
        "figures": figures.figures_of(customer.pk).__dict__,
    }


@router.get("", response=Page, summary="Search customers (keyset pages, newest first)")
def search(request, q: str = "", after: Key | None = None, limit: int = Query(50, ge=1, le=200)):
    require(request, perms.VIEW_CUSTOMERS)
    page = queries.search_customers(q, after=after, limit=limit)
    return {"items": page.items, "next": page.next_cursor}


@router.post("", response={200: Created, 201: Created}, summary="Create or find by identities")
def create(request, payload: CustomerIn):
    """Resolves the identities like the tracking API does: an existing profile is updated."""
    require(request, perms.EDIT_CUSTOMERS)
    claims = [
        customers.make_claim(i.kind, i.value, namespace=i.namespace, verified=i.verified)
        for i in payload.identities
    ]
    actor = Actor.of(request.user)
    if not claims:
        customer = customers.create_customer(
            profile=_profile(payload), attributes=payload.attributes, source="api", actor=actor
        )
        return Status(201, {"id": customer.pk, "created": True, "merged": []})
    result = customers.resolve_customer(
        claims,
        profile=_profile(payload),
        attributes=payload.attributes,
        source="api",
        actor=actor,
    )
    status = 201 if result.created else 200
    body = {"id": result.customer_id, "created": result.created, "merged": list(result.merged)}
    return Status(status, body)


@router.get("/{int:customer_id}", response=CustomerOut, summary="The Customer 360 profile")
def read(request, customer_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    return customer_360(get_object_or_404(Customer, pk=customer_id))


@router.patch("/{int:customer_id}", response=CustomerOut, summary="Change profile fields")
def update(request, customer_id: int, payload: CustomerPatch):
    require(request, perms.EDIT_CUSTOMERS)
    get_object_or_404(Customer, pk=customer_id)
    customer = customers.update_profile(
        customer_id,
        _profile(payload),
        attributes=payload.attributes,
        actor=Actor.of(request.user),
    )
    return customer_360(customer)


@router.put(
    "/{int:customer_id}/consents/{channel}",
    response=CustomerOut,
    summary="Record a consent decision for one channel",
)
def consent(request, customer_id: int, channel: ConsentChannelText, payload: ConsentIn):
    require(request, perms.EDIT_CUSTOMERS)
    get_object_or_404(Customer, pk=customer_id)
    customers.set_consent(
        customer_id, channel, payload.status, source=payload.source, actor=Actor.of(request.user)
    )
    return customer_360(Customer.objects.get(pk=customers.live_id(customer_id)))


@router.post(
    "/{int:customer_id}/merge", response=MergeOut, summary="Fold another profile into this one"
)
def merge(request, customer_id: int, payload: MergeIn):
    require(request, perms.MERGE_CUSTOMERS)
    get_object_or_404(Customer, pk=customer_id)
    get_object_or_404(Customer, pk=payload.source_id)
    record = customers.merge_customers(
        payload.source_id, customer_id, actor=Actor.of(request.user), reason=payload.reason
    )
    return {"source_id": record.source_id, "target_id": record.target_id, "moved": record.moved}


@router.post(
    "/{int:customer_id}/contacts",
    response={201: ContactOut},
    summary="Log an interaction with the customer",
)
def log_contact(request, customer_id: int, payload: ContactIn):
    require(request, perms.LOG_CONTACTS)
    get_object_or_404(Customer, pk=customer_id)
    contact = contacts.log_contact(
        customer_id=customer_id,
        channel=payload.channel,
        direction=payload.direction,
        summary=payload.summary,
        occurred_at=payload.occurred_at,
        actor=Actor.of(request.user),
    )
    return Status(201, {"id": contact.pk, "customer_id": contact.customer_id})

"""Whatever order identifiers arrive in, resolution never leaves two live profiles holding
the same user id or anonymous id, and never loses a profile's data."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from ecrm.customers import api as customers
from ecrm.customers.models import Customer, Identity

users = st.sampled_from(["u1", "u2", "u3"])
devices = st.sampled_from(["d1", "d2", "d3", "d4"])
emails = st.sampled_from(["a@x.cn", "b@x.cn"])
message = st.fixed_dictionaries(
    {},
    optional={"user_id": users, "anonymous_id": devices, "email": emails},
).filter(lambda m: "user_id" in m or "anonymous_id" in m)


def _claims(m):
    claims = []
    if "user_id" in m:
        claims.append(customers.make_claim("user_id", m["user_id"]))
    if "anonymous_id" in m:
        claims.append(customers.make_claim("anonymous_id", m["anonymous_id"]))
    if "email" in m:
        claims.append(customers.make_claim("email", m["email"], verified="user_id" in m))
    return claims


class ResolutionProperties(TestCase):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(message, min_size=1, max_size=12))
    def test_exclusive_identities_have_one_live_owner(self, messages):
        resolved = [customers.resolve_customer(_claims(m)).customer_id for m in messages]
        for kind in ("user_id", "anonymous_id"):
            owners = {}
            for value, cid in Identity.objects.filter(kind=kind).values_list(
                "value", "customer_id"
            ):
                owners.setdefault(value, set()).add(cid)
            assert all(len(ids) == 1 for ids in owners.values()), owners
        live = set(Customer.objects.filter(merged_into__isnull=True).values_list("pk", flat=True))
        # Every profile a message was given still leads to a live profile.
        assert {customers.live_id(cid) for cid in resolved} <= live
        # Identities only ever sit on live profiles.
        holders = set(Identity.objects.values_list("customer_id", flat=True))
        assert holders <= live
        # The profile a message with a user id went to is (through merges) that user's owner.
        for m, cid in zip(messages, resolved, strict=True):
            if "user_id" in m:
                owner = Identity.objects.get(kind="user_id", value=m["user_id"]).customer_id
                assert customers.live_id(cid) == owner

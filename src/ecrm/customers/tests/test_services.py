"""Profiles, identities and merges against the real database."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ecrm.contacts import api as contacts
from ecrm.core.audit import SYSTEM, Actor
from ecrm.core.models import AuditEntry
from ecrm.customers import api as customers
from ecrm.customers.models import Customer, Identity, Merge
from ecrm.customers.tests import factories
from ecrm.events.models import Event
from ecrm.figures import api as figures
from ecrm.orders.models import Order

pytestmark = pytest.mark.django_db


def _event(customer_id, message_id):
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return Event.objects.create(
        message_id=message_id,
        type="page",
        customer_id=customer_id,
        timestamp=now,
        received_at=now,
    )


def test_profile_gets_pinyin_search_keys_and_identities():
    c = factories.customer(name="欧阳娜娜", email="NANA@example.com", phone="13912345678")
    assert (c.name_pinyin, c.name_initials, c.email, c.phone) == (
        "ouyangnana",
        "oynn",
        "nana@example.com",
        "+8613912345678",
    )
    kinds = sorted(Identity.objects.filter(customer=c).values_list("kind", "value"))
    assert kinds == [("email", "nana@example.com"), ("phone", "+8613912345678")]


def test_anonymous_visitor_who_logs_in_becomes_the_known_customer_with_history():
    known = factories.customer(name="王芳", user_id="u-42")
    anon = customers.resolve_customer([customers.make_claim("anonymous_id", "dev-1")])
    _event(anon.customer_id, "m1")
    _event(anon.customer_id, "m2")
    result = customers.resolve_customer(
        [customers.make_claim("anonymous_id", "dev-1"), customers.make_claim("user_id", "u-42")]
    )
    assert (result.customer_id, result.merged) == (known.pk, (anon.customer_id,))
    assert list(
        Event.objects.filter(customer_id=known.pk)
        .values_list("message_id", flat=True)
        .order_by("message_id")
    ) == ["m1", "m2"]
    assert Customer.objects.get(pk=anon.customer_id).merged_into_id == known.pk


def test_manual_merge_moves_everything_and_records_who_did_it(admin_user):
    a = factories.customer(name="张伟", phone="13800000001")
    b = factories.customer(name="张伟", email="zw@example.com", city="杭州")
    factories.order(a.pk, "A-1", total="100.00")
    factories.order(b.pk, "B-1", total="250.50")
    _event(b.pk, "e-b")
    contacts.log_contact(
        customer_id=b.pk,
        channel="phone",
        direction="in",
        summary="问物流",
        actor=Actor.of(admin_user),
    )
    record = customers.merge_customers(b.pk, a.pk, actor=Actor.of(admin_user), reason="同一人")
    assert record.moved == {
        "customers.identity": 1,
        "orders.order": 1,
        "events.event": 1,
        "contacts.contact": 1,
    }
    assert sorted(Order.objects.filter(customer_id=a.pk).values_list("external_id", flat=True)) == [
        "A-1",
        "B-1",
    ]
    survivor = Customer.objects.get(pk=a.pk)
    assert (survivor.email, survivor.city, survivor.phone) == (
        "zw@example.com",
        "杭州",
        "+8613800000001",
    )
    assert (record.actor_label, record.reason) == ("admin", "同一人")
    f = figures.figures_of(a.pk)
    assert (f.order_count, f.revenue) == (2, Decimal("350.5000"))
    assert AuditEntry.objects.filter(action="merge", object_id=str(a.pk)).count() == 1


def test_merge_is_idempotent():
    a = factories.customer(name="李娜")
    b = factories.customer(name="李娜")
    first = customers.merge_customers(b.pk, a.pk, actor=SYSTEM)
    again = customers.merge_customers(b.pk, a.pk, actor=SYSTEM)
    assert (again.pk, Merge.objects.count()) == (first.pk, 1)


def test_live_profiles_follow_merges_as_live_id_does():
    a, b, c, d = (factories.customer(name=name) for name in ("甲", "乙", "丙", "丁"))
    customers.merge_customers(b.pk, a.pk, actor=SYSTEM)
    customers.merge_customers(a.pk, c.pk, actor=SYSTEM)  # b -> a -> c
    live = customers.live_profiles({a.pk, b.pk, c.pk, d.pk})
    assert live == {a.pk: c.pk, b.pk: c.pk, c.pk: c.pk, d.pk: d.pk}
    assert live == {pk: customers.live_id(pk) for pk in live}
    assert customers.live_profiles(set()) == {}


def test_merge_refuses_self_and_already_merged_elsewhere():
    a = factories.customer(name="甲")
    b = factories.customer(name="乙")
    c = factories.customer(name="丙")
    customers.merge_customers(b.pk, a.pk, actor=SYSTEM)
    with pytest.raises(customers.MergeError):
        customers.merge_customers(a.pk, a.pk, actor=SYSTEM)
    with pytest.raises(customers.MergeError):
        customers.merge_customers(b.pk, c.pk, actor=SYSTEM)


def test_merge_keeps_the_latest_consent_per_channel():
    a = factories.customer(name="甲")
    b = factories.customer(name="乙")
    customers.set_consent(a.pk, "email", "granted", source="web", actor=SYSTEM)
    customers.set_consent(b.pk, "email", "denied", source="unsubscribe", actor=SYSTEM)
    customers.set_consent(b.pk, "sms", "granted", source="app", actor=SYSTEM)
    customers.merge_customers(b.pk, a.pk, actor=SYSTEM)
    assert dict(Customer.objects.get(pk=a.pk).consents.values_list("channel", "status")) == {
        "email": "denied",
        "sms": "granted",
    }


def test_update_profile_is_audited_with_before_and_after(admin_user):
    c = factories.customer(name="<script>alert(1)</script>'; DROP TABLE x;--")
    customers.update_profile(c.pk, {"city": "成都"}, actor=Actor.of(admin_user))
    entry = AuditEntry.objects.get(action="update")
    assert (entry.actor_label, entry.before, entry.after) == (
        "admin",
        {"city": ""},
        {"city": "成都"},
    )
    assert Customer.objects.get(pk=c.pk).name == "<script>alert(1)</script>'; DROP TABLE x;--"


def test_update_profile_rejects_bad_phone_and_changes_nothing(admin_user):
    c = factories.customer(name="赵六", city="北京")
    with pytest.raises(customers.ProfileError) as info:
        customers.update_profile(c.pk, {"city": "上海", "phone": "12"}, actor=Actor.of(admin_user))
    assert info.value.field == "phone"
    assert Customer.objects.get(pk=c.pk).city == "北京"


def test_updates_to_a_merged_away_profile_land_on_the_survivor():
    a = factories.customer(name="甲")
    b = factories.customer(name="乙")
    customers.merge_customers(b.pk, a.pk, actor=SYSTEM)
    customers.update_profile(b.pk, {"province": "浙江"}, actor=SYSTEM)
    assert Customer.objects.get(pk=a.pk).province == "浙江"


def test_staff_adding_an_exclusive_identity_merges_its_owner():
    a = factories.customer(name="甲")
    b = factories.customer(name="乙", user_id="shop-77")
    result = customers.add_identity(a.pk, customers.make_claim("user_id", "shop-77"), actor=SYSTEM)
    assert (result.customer_id, result.merged) == (a.pk, (b.pk,))


def _buyer(*claims):
    return customers.ProfileRecord(claims=tuple(claims), profile={}, attributes={}, consents={})


def test_bulk_resolution_remembers_buyers_across_batches_until_a_merge(django_assert_num_queries):
    """An import's later batches find a buyer an earlier batch resolved without looking up
    its identities again; a profile merged away in between is resolved afresh."""
    claim = customers.make_claim
    known = factories.customer(name="王芳", email="wangfang@example.com")
    Identity.objects.filter(customer=known, kind="email").update(verified=True)
    external = claim("external", "C-1", namespace="shop")
    email = claim("email", "wangfang@example.com", verified=True)
    remembered: dict = {}
    first = customers.resolve_customers_bulk(
        [_buyer(external), _buyer(email)], source="import", update_existing=False,
        remembered=remembered,
    )  # fmt: skip
    new = first.customer_ids[0]
    assert (first.created, first.customer_ids[1]) == (1, known.pk)
    assert remembered == {(external,): new, (email,): known.pk}

    # Both are remembered: one query checks that the profiles are still live.
    with django_assert_num_queries(1):  # live profiles (no savepoint)
        again = customers.resolve_customers_bulk(
            [_buyer(email), _buyer(external)], source="import", update_existing=False,
            remembered=remembered,
        )  # fmt: skip
    assert (again.customer_ids, again.created) == ((known.pk, new), 0)

    customers.merge_customers(new, known.pk, actor=SYSTEM)
    merged = customers.resolve_customers_bulk(
        [_buyer(external)], source="import", update_existing=False, remembered=remembered
    )
    assert merged.customer_ids == (known.pk,)  # the survivor holds the external id now
    assert remembered[(external,)] == known.pk


def test_bulk_resolution_writes_new_profiles_without_a_savepoint():
    """Inside an import's batch transaction no savepoint is opened: under one, SQLite
    copies every page the inserts change into a sub-journal first (docs/IMPORT.md)."""
    buyers = [_buyer(customers.make_claim("external", f"C-{n}", namespace="shop")) for n in (1, 2)]
    with transaction.atomic(), CaptureQueriesContext(connection) as seen:
        made = customers.resolve_customers_bulk(buyers, source="import", update_existing=False)
    statements = [q["sql"].split()[0].upper() for q in seen.captured_queries]
    assert made.created == 2 and "INSERT" in statements
    assert "SAVEPOINT" not in statements
    assert Identity.objects.filter(kind="external", namespace="shop").count() == 2


def test_bulk_resolution_does_not_remember_a_buyer_no_claim_of_which_links():
    """An unverified email joins no profile, so each batch makes its buyer a profile of
    its own, remembered or not (as within one batch)."""
    loose = _buyer(customers.make_claim("email", "li@example.com"))
    remembered: dict = {}
    ids = [
        customers.resolve_customers_bulk(
            [loose], source="import", update_existing=False, remembered=remembered
        ).customer_ids[0]
        for _ in range(2)
    ]
    unremembered = customers.resolve_customers_bulk(
        [loose], source="import", update_existing=False
    ).customer_ids[0]
    assert len({*ids, unremembered}) == 3 and remembered == {}


def test_known_profiles_are_those_bulk_resolution_would_give_without_writing():
    """Only claim sets whose every claim the chosen profile already holds are known: a
    record with them would attach nothing. Each known profile is the one
    ``resolve_customers_bulk`` gives the same record."""
    claim = customers.make_claim
    wang = factories.customer(name="王芳", email="wangfang@example.com")
    customers.add_identity(wang.pk, claim("external", "C-1", namespace="shop"), actor=SYSTEM)
    li = factories.customer(name="李娜")
    customers.add_identity(li.pk, claim("external", "C-2", namespace="shop"), actor=SYSTEM)
    older = factories.customer(name="陈静", email="chenjing@example.com")
    factories.customer(name="陈静", email="chenjing@example.com")  # the newer holder
    Identity.objects.filter(value="chenjing@example.com").update(verified=True)
    c1, c2 = claim("external", "C-1", namespace="shop"), claim("external", "C-2", namespace="shop")
    wang_email = claim("email", "wangfang@example.com", verified=True)
    li_email = claim("email", "lina@example.com", verified=True)  # li does not hold it
    stranger = claim("external", "C-3", namespace="shop")
    chen = claim("email", "chenjing@example.com", verified=True)  # the oldest holder wins
    sets = [(c1, wang_email), (c1,), (c2, li_email), (stranger,), (wang_email,), (chen,), ()]
    known = customers.known_profiles(sets)
    # The email alone: wang's is stored unverified, so it links to no one.
    assert known == {(c1, wang_email): wang.pk, (c1,): wang.pk, (chen,): older.pk}
    for claims, cid in known.items():
        resolved = customers.resolve_customers_bulk(
            [_buyer(*claims)], source="import", update_existing=False
        )
        assert (resolved.customer_ids, resolved.created, resolved.changed) == ((cid,), 0, 0)
    assert Identity.objects.filter(customer=li, kind="email").count() == 0

"""RFM scores, groups, the 80/20 view and the dormant / low-return predicates (pure)."""

import numpy as np
import pytest

from ecrm.value import rfm


def test_quintile_scores_give_equal_values_equal_scores():
    """Score = 1 + floor(5 * below / n): tied values share the score of their lowest rank."""
    values = [10, 20, 20, 30, 40, 50, 50, 50, 60, 70]

    assert rfm.quintile_scores(values).tolist() == [1, 1, 1, 2, 3, 3, 3, 3, 5, 5]


def test_quintile_scores_do_not_depend_on_input_order():
    """Shuffling the input shuffles the scores the same way."""
    values = np.array([50, 10, 70, 20, 50, 30, 60, 20, 40, 50])

    assert rfm.quintile_scores(values).tolist() == [3, 1, 5, 1, 3, 2, 5, 1, 3, 3]


def test_recency_scores_fewer_days_higher():
    """For recency fewer days is better; the two tied most recent share R 4."""
    days = [1, 1, 5, 30, 100]

    assert rfm.quintile_scores(days, higher_is_better=False).tolist() == [4, 4, 3, 2, 1]


def test_score_of_an_empty_population_is_empty():
    """No customers: empty score arrays, no error."""
    scores = rfm.score([], [], [])

    assert (scores.r.size, scores.group.size) == (0, 0)


@pytest.mark.parametrize(
    ("r", "f", "m", "group"),
    [
        (5, 5, 5, "champions"),
        (5, 4, 3, "champions"),
        (4, 4, 5, "loyal"),
        (3, 5, 3, "loyal"),
        (5, 2, 3, "potential_loyalists"),
        (5, 1, 1, "new_customers"),
        (4, 1, 1, "promising"),
        (3, 3, 3, "need_attention"),
        (3, 1, 2, "about_to_sleep"),
        (2, 3, 4, "at_risk"),
        (1, 5, 4, "cant_lose"),
        (2, 2, 1, "hibernating"),
        (1, 2, 2, "hibernating"),
        (1, 1, 1, "lost"),
    ],
)
def test_group_of_r_and_combined_fm(r, f, m, group):
    """FM is (F + M) / 2 rounded half up; R and FM pick the cell of the grid."""
    assert rfm.group_of(r, rfm.fm_score(f, m)) == group


def test_every_group_has_english_and_chinese_names_and_a_cell():
    """The eleven groups, each used by at least one cell of the grid."""
    used = {code for row in rfm.GRID for code in row}

    assert [g.code for g in rfm.GROUPS] == [
        "champions",
        "loyal",
        "potential_loyalists",
        "new_customers",
        "promising",
        "need_attention",
        "about_to_sleep",
        "at_risk",
        "cant_lose",
        "hibernating",
        "lost",
    ]
    assert used == {g.code for g in rfm.GROUPS}
    assert rfm.GROUP_BY_CODE["champions"].zh == "重要价值客户"


def test_group_of_refuses_scores_outside_one_to_five():
    """A score of 0 or 6 is an error, not a wrong group."""
    with pytest.raises(ValueError, match="between 1 and 5"):
        rfm.group_of(0, 3)


def test_pareto_curve_on_a_hand_made_list():
    """Largest first: 50 of 100 from the first fifth, 80 from two fifths, ..."""
    customer_share, revenue_share = rfm.pareto_curve([50, 10, 0, 30, 10])

    assert customer_share.tolist() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert revenue_share.tolist() == [0.0, 0.5, 0.8, 0.9, 1.0, 1.0]


def test_share_for_top_twenty_percent():
    """Ten customers: the top two bring 700 of 1,000."""
    revenue = [400, 300, 100, 50, 50, 40, 30, 20, 10, 0]

    assert rfm.share_for_top(revenue, 0.2) == 0.7
    assert rfm.share_for_top(revenue, 0.0) == 0.0
    assert rfm.share_for_top(revenue, 1.0) == 1.0


def test_pareto_of_no_revenue_is_flat_zero():
    """Nobody paid anything: every share of customers brings 0."""
    assert rfm.pareto_curve([0, 0])[1].tolist() == [0.0, 0.0, 0.0]


def test_pareto_curve_resampled_to_even_points():
    """``points`` interpolates the curve at evenly spaced customer shares."""
    grid, share = rfm.pareto_curve([10, 40, 20, 30], points=3)

    assert grid.tolist() == [0.0, 0.5, 1.0]
    assert share.tolist() == [0.0, 0.7, 1.0]


def test_dormant_means_ordered_before_but_not_in_the_last_d_days():
    """180 days without an order is dormant; 179 is not; never ordered is not."""
    assert rfm.is_dormant([179, 180, 400, 400], [1, 1, 3, 0]).tolist() == [
        False,
        True,
        True,
        False,
    ]
    assert rfm.is_dormant([30], [1], dormant_days=30).tolist() == [True]


def test_low_return_by_revenue_or_return_ratio():
    """Net revenue at or below the threshold, or half or more of the gross returned."""
    net = [100, 0, 50, 60, 10, 0]
    returned = [0, 100, 50, 40, 0, 0]
    orders = [2, 1, 1, 1, 1, 0]

    assert rfm.is_low_return(net, returned, orders).tolist() == [
        False,
        True,
        True,
        False,
        False,
        False,
    ]
    assert rfm.is_low_return(net, returned, orders, min_revenue=10).tolist() == [
        False,
        True,
        True,
        False,
        True,
        False,
    ]

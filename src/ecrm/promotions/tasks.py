"""Background jobs of promotions: thin wrappers over services."""

from ecrm.core.audit import Actor
from ecrm.core.jobs import task
from ecrm.promotions import services


@task()
def issue_to_segment(campaign_id: int, segment_id: int, actor_label: str, user_id=None) -> int:
    """Issue a personal coupon of the campaign to every member of the segment."""
    return services.issue_to_segment(campaign_id, segment_id, actor=Actor(actor_label, user_id))

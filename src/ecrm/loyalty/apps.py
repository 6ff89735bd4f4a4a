from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "ecrm.loyalty"
    label = "loyalty"

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "ecrm.analytics"
    label = "analytics"
    verbose_name = "Analytics"

from django.apps import AppConfig


class ValueConfig(AppConfig):
    name = "ecrm.value"
    label = "value"
    verbose_name = "Customer value"

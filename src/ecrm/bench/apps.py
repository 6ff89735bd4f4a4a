from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "ecrm.bench"
    label = "bench"

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "ecrm.imports"
    label = "imports"

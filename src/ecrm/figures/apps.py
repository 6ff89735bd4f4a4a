from django.apps import AppConfig


class FiguresConfig(AppConfig):
    name = "ecrm.figures"
    label = "figures"

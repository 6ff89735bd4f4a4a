from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "ecrm.demo"
    label = "demo"

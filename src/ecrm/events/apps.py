from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "ecrm.events"
    label = "events"

from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "ecrm.segments"
    label = "segments"

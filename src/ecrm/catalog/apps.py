from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "ecrm.catalog"
    label = "catalog"

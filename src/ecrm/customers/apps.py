from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "ecrm.customers"
    label = "customers"

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "ecrm.orders"
    label = "orders"

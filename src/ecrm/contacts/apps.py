from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "ecrm.contacts"
    label = "contacts"

from django.contrib import admin
from django.urls import include, path

from ecrm.config.api import api
from ecrm.events.web.tracking import urlpatterns as tracking_urls
from ecrm.promotions.web.links import referral_link

urlpatterns = [
    path("v1/", include(tracking_urls)),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("r/<str:code>", referral_link, name="referral_link"),
    path("", include("ecrm.console.urls")),
]

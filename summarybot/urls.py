from django.contrib import admin
from django.urls import path

from summarybot import health

admin.site.site_header = "Summary Bot NG"
admin.site.site_title = "Summary Bot NG admin"

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("admin/", admin.site.urls),
]

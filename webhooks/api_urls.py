"""The destinations, deliveries and hooks resources of the REST API, mounted under /api/v1/ by summarybot.urls."""

from django.urls import path

from webhooks import api

urlpatterns = [
    path("destinations", api.DestinationListCreateView.as_view(), name="api-destinations"),
    path("destinations/<str:destination_id>", api.DestinationDetailView.as_view(), name="api-destination"),
    path("destinations/<str:destination_id>/test", api.DestinationTestView.as_view(), name="api-destination-test"),
    path(
        "destinations/<str:destination_id>/rotate-secret", api.DestinationRotateSecretView.as_view(),
        name="api-destination-rotate-secret",
    ),
    path("deliveries", api.DeliveryListView.as_view(), name="api-deliveries"),
    path("deliveries/<str:delivery_id>", api.DeliveryDetailView.as_view(), name="api-delivery"),
    path("deliveries/<str:delivery_id>/replay", api.DeliveryReplayView.as_view(), name="api-delivery-replay"),
    path("hooks", api.HookSubscribeView.as_view(), name="api-hooks"),
    path("hooks/samples", api.HookSamplesView.as_view(), name="api-hook-samples"),
    path("hooks/<str:hook_id>", api.HookDetailView.as_view(), name="api-hook"),
]

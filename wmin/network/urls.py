from django.urls import path

from . import views

app_name = "network"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("waits/<str:dimension>/", views.waits, name="waits"),
    path("trends/", views.trends, name="trends"),
    path("dm01/", views.dm01, name="dm01"),
    path("map/", views.site_map, name="map"),
    path("capacity/", views.capacity_advice, name="capacity"),
    path("optimiser-runs/", views.optimiser_runs, name="optimiser-runs"),
    path("optimiser-runs/allocate/", views.allocation_start, name="allocation-start"),
    path("optimiser-runs/allocate/<int:pk>/", views.allocation_detail, name="allocation"),
    path("optimiser-runs/allocate/<int:pk>/progress/", views.allocation_progress, name="allocation-progress"),
    path("simulations/", views.simulations_page, name="simulations"),
    path("simulations/start/", views.simulation_start, name="simulation-start"),
    path("simulations/<int:pk>/", views.simulation_detail, name="simulation"),
    path("simulations/<int:pk>/progress/", views.simulation_progress, name="simulation-progress"),
    path("simulations/<int:pk>/export/", views.simulation_export, name="simulation-export"),
]

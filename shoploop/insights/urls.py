from django.urls import path

from shoploop.insights import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.index, name="index"),
    path("insights/<str:kind>/<str:public_id>/", views.dashboard, name="dashboard"),
    path("insights/<str:kind>/<str:public_id>/<str:table>.csv", views.table_csv, name="csv"),
]

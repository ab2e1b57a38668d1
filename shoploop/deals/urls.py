from django.urls import path

from shoploop.deals import views

app_name = "deals"
urlpatterns = [
    path("deals/mine/", views.mine, name="mine"),
    path("console/campaigns/", views.console, name="console"),
]

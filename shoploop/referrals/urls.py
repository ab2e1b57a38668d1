from django.urls import path

from shoploop.referrals import views

app_name = "referrals"

urlpatterns = [
    path("s/new/", views.share, name="share"),
    path("s/<str:code>/", views.follow_link, name="follow"),
    path("s/<str:code>/share/", views.sheet, name="sheet"),
    path("s/<str:code>/poster.png", views.poster, name="poster"),
    path("me/shares/", views.my_shares, name="mine"),
    path("console/commissions/", views.console, name="console"),
    path("ops/referrals/clusters/", views.clusters, name="clusters"),
]

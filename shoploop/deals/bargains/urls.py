app_name = "deals_bargains"
urlpatterns = []

app_name = "deals_flash"
urlpatterns = []

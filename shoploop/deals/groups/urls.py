app_name = "deals_groups"
urlpatterns = []

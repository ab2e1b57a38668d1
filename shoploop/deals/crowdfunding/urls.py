app_name = "deals_crowdfunding"
urlpatterns = []

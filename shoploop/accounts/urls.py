from django.urls import path

from shoploop.accounts import views

app_name = "accounts"
urlpatterns = [
    path("accounts/sign-in/", views.sign_in, name="sign_in"),
    path("accounts/sign-out/", views.sign_out, name="sign_out"),
    path("accounts/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("accounts/profile/", views.edit_profile, name="edit_profile"),
    path("accounts/profile/avatar/", views.upload_avatar, name="upload_avatar"),
    path("accounts/tokens/", views.tokens, name="tokens"),
    path("accounts/tokens/<str:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("terms/", views.terms, name="terms"),
    path("privacy/", views.privacy, name="privacy"),
    path("accounts/tokens/<str:token_id>/rotate/", views.rotate_token, name="rotate_token"),
    path("u/<str:public_id>/", views.profile, name="profile"),
    path("u/<str:public_id>/followers/", views.followers, name="followers"),
    path("u/<str:public_id>/following/", views.following, name="following"),
    path("u/<str:public_id>/follow/", views.follow, name="follow"),
    path("u/<str:public_id>/unfollow/", views.unfollow, name="unfollow"),
    path("u/<str:public_id>/block/", views.block, name="block"),
    path("u/<str:public_id>/unblock/", views.unblock, name="unblock"),
]

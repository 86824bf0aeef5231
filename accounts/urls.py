"""The login page (with its break-glass local form), single sign-on's two routes (accounts/oidc.py) and the account
page. The routes' names are mozilla-django-oidc's, which it reverses itself."""

from django.urls import path

from accounts import oidc, views

urlpatterns = [
    path("login/", oidc.LoginView.as_view(), name="login"),
    path("oidc/authenticate/", oidc.SsoStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.SsoCallbackView.as_view(), name="oidc_authentication_callback"),
    path("account/", views.account, name="account"),
    path("account/sessions/end-others/", views.account_sessions_end_others, name="account_sessions_end_others"),
]

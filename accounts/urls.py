"""The login page (with its break-glass local form) and single sign-on's two routes (accounts/oidc.py). The routes'
names are mozilla-django-oidc's, which it reverses itself."""

from django.urls import path

from accounts import oidc

urlpatterns = [
    path("login/", oidc.LoginView.as_view(), name="login"),
    path("oidc/authenticate/", oidc.SsoStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.SsoCallbackView.as_view(), name="oidc_authentication_callback"),
]

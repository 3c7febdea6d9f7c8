from django.urls import path

from tenants import auth_api

urlpatterns = [
    path("token", auth_api.token, name="auth-token"),
    path("user", auth_api.user, name="auth-user"),
    path("logout", auth_api.logout, name="auth-logout"),
    path("signup", auth_api.signup, name="auth-signup"),
    path("settings", auth_api.auth_settings, name="auth-settings"),
]

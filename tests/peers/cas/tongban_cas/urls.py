"""django-cas-server at the root: /login, /logout, /serviceValidate, /p3/serviceValidate, ..."""
from django.urls import include, path

urlpatterns = [
    path("", include("cas_server.urls", namespace="cas_server")),
]

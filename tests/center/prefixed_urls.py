"""The site's URLs under /site/ (tests of links made under another URL configuration)."""

from django.urls import include, path

urlpatterns = [path("site/", include("center.urls"))]

from django.urls import path

from authors import views
from publications import feeds

app_name = "authors"

urlpatterns = [
    path("", views.AuthorListView.as_view(), name="index"),
    path("<slug:slug>/", views.AuthorDetailView.as_view(), name="detail"),
    path("<slug:slug>/feed/rss/", feeds.AuthorFeed(), name="feed-rss"),
    path("<slug:slug>/feed/atom/", feeds.AuthorAtomFeed(), name="feed-atom"),
]

from django.urls import path

from variables import views

app_name = "variables"

urlpatterns = [
    # <scope> is customer, cluster or release: the owner the new variable belongs to.
    path("<slug:scope>/<int:pk>/new/", views.variable_create, name="variable_create"),
    path("<int:pk>/", views.variable_detail, name="variable_detail"),
    path("<int:pk>/edit/", views.variable_edit, name="variable_edit"),
    path("<int:pk>/delete/", views.variable_delete, name="variable_delete"),
]

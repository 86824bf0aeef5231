from django.urls import path

from releases import views, views_definition

app_name = "releases"

urlpatterns = [
    path("", views.release_list, name="release_list"),
    path("new/", views.release_create, name="release_create"),
    path("import/", views_definition.release_import, name="release_import"),
    path("<int:pk>/", views.release_detail, name="release_detail"),
    path("<int:pk>/edit/", views.release_edit, name="release_edit"),
    path("<int:pk>/definition.yaml", views_definition.release_definition, name="release_definition"),
    path("<int:pk>/activate/", views.release_activate, name="release_activate"),
    path("<int:pk>/add-customers/", views.release_add_customers, name="release_add_customers"),
    path("<int:pk>/clone/", views.release_clone, name="release_clone"),
    path("<int:pk>/archive/", views.release_archive, name="release_archive"),
    path("<int:pk>/template-steps/new/", views.template_step_create, name="template_step_create"),
    path(
        "<int:pk>/template-steps/reorder/<str:category>/",
        views.template_steps_reorder,
        name="template_steps_reorder",
    ),
    path("template-steps/<int:pk>/edit/", views.template_step_edit, name="template_step_edit"),
    path("template-steps/<int:pk>/delete/", views.template_step_delete, name="template_step_delete"),
]

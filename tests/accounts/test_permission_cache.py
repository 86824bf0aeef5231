"""A user's permissions are read from the database once and then from the cache (one query less a request), and
any change of a role or a permission reaches the user's very next request."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.permissions import EXECUTE_STEPS, OPERATOR, VIEWER


def _fresh(user):
    """The user as the next request loads it (no permissions kept on the object)."""
    return get_user_model().objects.get(pk=user.pk)


def test_permissions_are_read_from_the_database_once_then_from_the_cache(operator, django_assert_num_queries):
    first = _fresh(operator)
    with django_assert_num_queries(1):  # the one permission query
        assert first.has_perm(EXECUTE_STEPS)

    again = _fresh(operator)  # as the next request loads the user
    with django_assert_num_queries(0):
        assert again.has_perm(EXECUTE_STEPS)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: user.groups.set([Group.objects.get(name=VIEWER)]), id="made a viewer"),
        pytest.param(lambda user: user.groups.clear(), id="role taken away"),
        pytest.param(
            lambda user: Group.objects.get(name=OPERATOR).permissions.remove(
                Permission.objects.get(codename="execute_customerstep")
            ),
            id="the role loses the permission",
        ),
        pytest.param(lambda user: Group.objects.get(name=OPERATOR).delete(), id="the role's group deleted"),
    ],
)
def test_a_role_change_reaches_the_next_request(operator, change):
    assert _fresh(operator).has_perm(EXECUTE_STEPS)  # read, and cached

    change(operator)

    assert not _fresh(operator).has_perm(EXECUTE_STEPS)


def test_a_role_given_reaches_the_next_request_of_a_signed_in_user(client, viewer):
    client.force_login(viewer)
    client.get(reverse("dashboard:dashboard"))  # the navigation reads, and caches, the viewer's permissions
    assert not _fresh(viewer).has_perm(EXECUTE_STEPS)

    viewer.groups.add(Group.objects.get(name=OPERATOR))

    assert _fresh(viewer).has_perm(EXECUTE_STEPS)

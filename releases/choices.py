"""Enumerations of the release domain."""

from django.db import models


class ReleaseType(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    RELEASE = "release", "Release"
    HOTFIX = "hotfix", "Hotfix"


class ReleaseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"

"""factory-boy factories for every model. They build rows directly: tests of rules go through the services."""

import datetime

import factory
from factory.django import DjangoModelFactory

from clusters.models import Cluster
from customers.models import Customer
from releases.models import Release
from steps.models import StepTemplate


class ClusterFactory(DjangoModelFactory):
    class Meta:
        model = Cluster

    name = factory.Sequence(lambda n: f"cluster-{n}")
    kubeconfig_path = factory.LazyAttribute(lambda o: f"~/.kube/{o.name}-config")
    metadata = factory.LazyFunction(dict)


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    cluster = factory.SubFactory(ClusterFactory)
    name = factory.Sequence(lambda n: f"customer-{n}")
    namespace = factory.Sequence(lambda n: f"cust-{n}-prod")
    metadata = factory.LazyFunction(dict)


class ReleaseFactory(DjangoModelFactory):
    class Meta:
        model = Release

    name = factory.Sequence(lambda n: f"v1.{n}.0")
    type = "release"
    version_number = factory.LazyAttribute(lambda o: o.name)
    release_date = factory.LazyFunction(datetime.date.today)


class StepTemplateFactory(DjangoModelFactory):
    class Meta:
        model = StepTemplate

    release = factory.SubFactory(ReleaseFactory)
    name = factory.Sequence(lambda n: f"Step {n}")
    category = "deploy"
    type = "bash"
    content = factory.LazyAttribute(lambda o: f"echo '{o.name}'")
    order_index = factory.Sequence(lambda n: n)

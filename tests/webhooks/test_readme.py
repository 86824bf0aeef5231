"""The README's receiver snippet (section Webhooks) verifies a real delivery's signature, and refuses a forged one."""

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done
from tests.queue import run_due_tasks
from tests.readme import block_after
from webhooks.choices import EventType
from webhooks.signing import SIGNATURE_HEADER


def _receiver_snippet() -> str:
    return block_after("Webhooks", "verify it like this:")


def test_the_readme_snippet_verifies_a_delivery(world, receiver, subscribe):
    namespace: dict = {}
    exec(compile(_receiver_snippet(), "README.md", "exec"), namespace)
    verify_rollcall = namespace["verify_rollcall"]
    _, secret = subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    release_activate(release=world.release, user=world.user)
    customer_step_mark_done(step=CustomerStep.objects.filter(release=world.release).first(), user=world.user)
    run_due_tasks()

    [request] = receiver.requests
    header = request["headers"][SIGNATURE_HEADER]
    assert verify_rollcall(secret, request["body"], header)
    assert not verify_rollcall("whsec_someone-else", request["body"], header)
    assert not verify_rollcall(secret, request["body"].replace(b"done", b"skip"), header)
    assert not verify_rollcall(secret, request["body"], "t=1700000000," + header.split(",")[1])  # replayed later

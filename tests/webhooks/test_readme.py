"""The README's receiver snippet (section Webhooks) verifies a real delivery's signature, and refuses a forged one."""

import textwrap
from pathlib import Path

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done
from tests.webhooks.conftest import run_due_tasks
from webhooks.choices import EventType
from webhooks.signing import SIGNATURE_HEADER

README = Path(__file__).resolve().parents[2] / "README.md"


def _receiver_snippet() -> str:
    """The indented code block that follows "verify it like this:" in the README's Webhooks section."""
    section = README.read_text().split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    after = section.split("verify it like this:\n\n", 1)[1]
    block = []
    for line in after.splitlines():
        if line and not line.startswith("    "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


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
